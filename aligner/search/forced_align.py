"""The plain CTC baseline: torchaudio's ``forced_align`` over an utterance's CTC targets (its Viterbi path),
its spans laid out as token times, and the CTC frames a target sequence needs."""

from __future__ import annotations

import numpy as np
import torch

from aligner.search.scores import ctc_edge_seconds
from aligner.text import BLANK_ID, NON_PHONE_IDS


def ctc_target_positions(token_ids: list[int], pauses_as_blank: bool) -> list[int]:
    """Positions of the tokens that are CTC targets (not blanks; not pauses for a phones-only model)."""
    skip = {BLANK_ID} | (set(NON_PHONE_IDS) if pauses_as_blank else set())
    return [k for k, i in enumerate(token_ids) if i not in skip]


def forced_path(log_probs: torch.Tensor, targets: list[int]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """The best CTC path through ``log_probs`` [CTC frames, symbols] that spells ``targets`` (torchaudio's
    ``forced_align``, a Viterbi search): its label per frame (int64 [CTC frames], ``BLANK_ID`` between
    targets) and each target's frames as (start, end), end exclusive. Needs ``frames_needed(targets)`` frames."""
    import torchaudio.functional as F  # torchaudio only for the CTC Viterbi path

    labels, _ = F.forced_align(
        log_probs.detach().float().cpu()[None], torch.tensor([targets], dtype=torch.int32), blank=BLANK_ID
    )
    spans = F.merge_tokens(labels[0], torch.zeros(labels.shape[1]), blank=BLANK_ID)
    return labels[0].long(), [(span.start, span.end) for span in spans]


def forced_align_intervals(
    log_probs: torch.Tensor, token_ids: list[int], pauses_as_blank: bool, offset: float, audio_seconds: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Token time spans from torchaudio's CTC ``forced_align`` over the targets among ``token_ids``
    (the other tokens, blanks and pauses, get the gaps between the spans around them), and the mean
    log-posterior along its path."""
    positions = ctc_target_positions(token_ids, pauses_as_blank)
    labels, spans = forced_path(log_probs, [token_ids[k] for k in positions])
    starts = np.zeros(len(token_ids))
    ends = np.zeros(len(token_ids))
    for k, (start, end) in zip(positions, spans, strict=True):
        starts[k], ends[k] = ctc_edge_seconds(start, offset), ctc_edge_seconds(end, offset)
    targets_at = set(positions)
    following_start = audio_seconds
    for k in reversed(range(len(token_ids))):  # a gap token ends where the next span starts
        if k in targets_at:
            following_start = starts[k]
        else:
            ends[k] = following_start
    previous_end = 0.0
    for k in range(len(token_ids)):  # ... and starts where the previous span ended
        if k in targets_at:
            previous_end = ends[k]
        else:
            starts[k] = previous_end
    path_scores = log_probs.detach().float().cpu().gather(1, labels[:, None])
    return starts, ends, float(path_scores.mean())


def frames_needed(targets: list[int]) -> int:
    """Minimum CTC frames for ``targets``: one per target plus a blank between equal neighbours."""
    return len(targets) + sum(a == b for a, b in zip(targets[:-1], targets[1:], strict=True))
