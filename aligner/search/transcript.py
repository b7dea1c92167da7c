"""Does the audio say the text? A per-word transcript check from an utterance's CTC posteriors alone.

The forced path (``forced_path``: the best CTC path that spells the text's targets) is compared frame by frame
with free recognition (each frame's best symbol: the best path of all, the text unconstrained). At CTC frame t
the deficit ``d_t = max_s log p_t(s) - log p_t(path_t) >= 0`` is what the text costs there, in nats; summed
over an utterance it is the log-likelihood ratio of the free path to the forced one, the CTC form of goodness
of pronunciation (Witt & Young 2000, "Phone-level pronunciation scoring and assessment for interactive
language learning"; its CTC use: Cao et al. 2024, "A framework for phoneme-level pronunciation assessment
using CTC"). A frame counts only with what its deficit has beyond ``MARGIN``: where free recognition is
clearly surer than the text. The frames are cut into places:

- a word's: from the first frame of its first phone target to the last of its last (a word: a run of phone
  tokens between spaces and punctuation, ``phone_words``); a deficit there says the audio does not support
  it (a word replaced or added to the text);
- a gap's: the frames between two words (and before the first, after the last), where the forced path holds
  blanks or pauses; a deficit there is speech no token stands for (a word the text lacks).

The check's score is the largest deficit of one place, the suspect place; a swapped text has a large deficit
everywhere, so its worst place is large too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aligner.search.forced_align import ctc_target_positions, forced_path, frames_needed
from aligner.search.scores import ctc_edge_seconds
from aligner.text import BLANK_ID, NON_PHONE_IDS

# nats: a frame's deficit counts beyond this margin only, so that a checkpoint unsure of its phones (little
# data, a voice unlike its training data) does not pile up small doubts over a long word; 3 to 5 rank alike
MARGIN = 4.0
SUSPECT_THRESHOLD = 5.0  # nats: a place costing more than this is worth a listen (docs/transcripts.md)


@dataclass(frozen=True)
class TranscriptCheck:
    """An utterance's worst place: ``score`` (its deficit in nats; larger: the more likely that the text does
    not match the audio there), ``word`` (the index of the word, in ``phone_words`` order, whose place it is;
    for a gap, the word before it, -1 before the first; None when no place costs anything) and whether it is
    a ``gap``, and its time span in seconds (``start``, ``end``)."""

    score: float
    word: int | None
    gap: bool
    start: float
    end: float


def phone_words(token_ids: list[int]) -> list[list[int]]:
    """The positions in ``token_ids`` of each word's phone tokens: the runs of phone tokens between the
    non-phone ones (spaces, punctuation); interspersed blanks do not break a run."""
    words: list[list[int]] = []
    current: list[int] = []
    for position, token in enumerate(token_ids):
        if token == BLANK_ID:
            continue
        if token in NON_PHONE_IDS:
            if current:
                words.append(current)
            current = []
        else:
            current.append(position)
    return words + [current] if current else words


def frame_deficits(log_probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per CTC frame, the best symbol's log-posterior minus that of the path's label ``labels`` [frames]:
    float [frames], >= 0."""
    log_probs = log_probs.detach().float().cpu()
    return log_probs.max(dim=1).values - log_probs.gather(1, labels[:, None])[:, 0]


def check_transcript(
    log_probs: torch.Tensor, token_ids: list[int], pauses_as_blank: bool, offset: float, audio_seconds: float
) -> TranscriptCheck:
    """The worst place of one utterance (module doc). ``log_probs``: CTC log-posteriors [CTC frames, symbols];
    ``token_ids``: its Matcha tokens (blanks interspersed or not), with at least one phone; ``pauses_as_blank``:
    a phones-only CTC head (pauses are not targets); ``offset``: the time of CTC frame 0's centre in seconds.
    A text with more targets than the audio has CTC frames gets an infinite score on its whole span."""
    log_probs = log_probs.detach().float().cpu()  # once: the Viterbi path and the deficits run on the CPU
    positions = ctc_target_positions(token_ids, pauses_as_blank)
    targets = [token_ids[k] for k in positions]
    words = phone_words(token_ids)
    if frames_needed(targets) > log_probs.shape[0]:
        return TranscriptCheck(float("inf"), 0, False, 0.0, audio_seconds)
    labels, spans = forced_path(log_probs, targets)
    span_of = dict(zip(positions, spans, strict=True))
    deficits = frame_deficits(log_probs, labels)
    places = []  # (first frame, end frame, word, gap)
    previous_end = 0
    for index, word in enumerate(words):
        start, end = span_of[word[0]][0], span_of[word[-1]][1]
        places += [(previous_end, start, index - 1, True), (start, end, index, False)]
        previous_end = end
    places.append((previous_end, log_probs.shape[0], len(words) - 1, True))
    beyond = (deficits - MARGIN).clamp(min=0)
    costs = [float(beyond[first:end].sum()) for first, end, _, _ in places]
    worst = max(range(len(places)), key=costs.__getitem__)
    if costs[worst] == 0:
        return TranscriptCheck(0.0, None, False, 0.0, 0.0)
    first, end, word, gap = places[worst]

    def seconds(frame: int) -> float:
        return min(max(ctc_edge_seconds(frame, offset), 0.0), audio_seconds)

    return TranscriptCheck(costs[worst], word, gap, seconds(first), seconds(end))
