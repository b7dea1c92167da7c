"""From CTC posteriors to Matcha durations: monotonic alignment search on a frame grid.

Three ways to reach the Matcha mel grid (any hop and rate), all measured with ``aligner.evaluate.score``:

- ``mel`` (default): the score matrix is interpolated onto the mel frames, then MAS runs there, so
  every token gets at least one mel frame and the total is the mel's frame count by construction;
- ``ctc``: MAS on the 20 ms CTC frames, then each token's time span is laid on the mel grid
  (``aligner.align.timing.durations_from_intervals``: boundaries to the nearest frame, every token >= 1);
- ``forced_align``: the plain CTC baseline, torchaudio's ``forced_align`` over the phone tokens
  of the same posteriors, its (peaky) spans laid on the mel grid the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aligner.align.acoustic import AcousticStage
from aligner.align.marks import MODES, MarkGroup, mark_groups, settle, share_rows
from aligner.align.monotonic_align import maximum_path
from aligner.align.scores import CTC_FRAME_SECONDS, score_matrix, to_frame_grid
from aligner.align.states import state_search
from aligner.align.timing import durations_from_intervals
from aligner.text import BLANK_ID, NON_PHONE_IDS
from aligner.train.vocab import frames_needed

METHODS = ("acoustic", "mel", "ctc", "forced_align")


class AlignmentError(ValueError):
    """An utterance that cannot be aligned (e.g. audio too short for its tokens)."""


@dataclass
class Alignment:
    """Durations of one utterance on the mel grid, with how confident the aligner was."""

    durations: torch.Tensor  # int64 [tokens]
    mean_log_prob: float  # mean score along the path, per frame of the grid the path was found on
    min_share: float  # share of tokens squeezed to a single frame


def batched_mas(scores: list[torch.Tensor], groups: list[list[MarkGroup]] | None = None) -> list[torch.Tensor]:
    """Durations (frames per token) of the best monotonic path through each [tokens, frames] matrix,
    all in one ``maximum_path`` call on the scores' device. ``groups``: the annotation-mark groups of
    each matrix (``aligner.align.marks``): their rows share their phone's scores and their frames are
    settled after the search."""
    if groups is not None:
        scores = [share_rows(matrix, matrix_groups) for matrix, matrix_groups in zip(scores, groups, strict=True)]
    n_tokens = [s.shape[0] for s in scores]
    n_frames = [s.shape[1] for s in scores]
    value = scores[0].new_zeros(len(scores), max(n_tokens), max(n_frames))
    mask = torch.zeros_like(value, dtype=torch.bool)
    for row, matrix in enumerate(scores):
        value[row, : n_tokens[row], : n_frames[row]] = matrix
        mask[row, : n_tokens[row], : n_frames[row]] = True
    path = maximum_path(value, mask)
    durations = [path[row, : n_tokens[row], : n_frames[row]].sum(-1).long().cpu() for row in range(len(scores))]
    if groups is not None:
        durations = [settle(d, matrix_groups) for d, matrix_groups in zip(durations, groups, strict=True)]
    return durations


@dataclass
class StatePath:
    """Frames of every token [tokens] on an acoustic stage's best path (marks settled), and how many of them
    its first state holds [tokens] (all of them for a one-state token)."""

    durations: torch.Tensor
    onsets: torch.Tensor


def acoustic_search(
    stage: AcousticStage,
    features: list[torch.Tensor],
    token_ids: list[list[int]],
    ctc_scores: list[torch.Tensor],
    groups: list[list[MarkGroup]] | None,
) -> list[StatePath]:
    """The best path of every utterance through its acoustic stage scores (``AcousticStage.scores`` of
    ``features`` [frames, D], ``token_ids`` and ``ctc_scores`` [tokens, frames] on the mel grid): MAS
    (``batched_mas``) for a one-state model, the two-state search of ``aligner.align.states`` otherwise;
    ``groups``: annotation-mark groups (``aligner.align.marks``) or None."""
    rows = [stage.model.rows(ids) for ids in token_ids]
    matrices = [stage.scores(f, ids, r, c) for f, ids, r, c in zip(features, token_ids, rows, ctc_scores, strict=True)]
    if stage.model.n_states == 1:
        return [StatePath(d, d) for d in batched_mas(matrices, groups)]
    if groups is not None:
        matrices = [share_rows(m, g, r[0]) for m, g, r in zip(matrices, groups, rows, strict=True)]
    paths = []
    held_rows = state_search(matrices, [r[1] for r in rows])
    for k, ((row_token, row_state), held) in enumerate(zip(rows, held_rows, strict=True)):
        n_tokens = len(token_ids[k])
        durations = torch.zeros(n_tokens, dtype=torch.long).index_add_(0, row_token, held)
        onsets = torch.zeros(n_tokens, dtype=torch.long).index_add_(0, row_token, held * (row_state == 0))
        if groups is not None:
            durations = settle(durations, groups[k])
        two_states = torch.zeros(n_tokens, dtype=torch.bool).index_fill_(0, row_token[row_state == 1], True)
        paths.append(StatePath(durations, torch.where(two_states, torch.minimum(onsets, durations), durations)))
    return paths


def annotation_groups(token_ids: list[list[int]], marks: str) -> list[list[MarkGroup]] | None:
    """The mark groups of every utterance under ``marks`` (``aligner.align.marks.MODES``), None for ``scored``."""
    if marks not in MODES:
        raise ValueError(f"marks must be one of {MODES}, got {marks!r}")
    return [mark_groups(ids) for ids in token_ids] if marks == "one-frame" else None


def _path_score(scores: torch.Tensor, durations: torch.Tensor) -> float:
    owner = torch.repeat_interleave(torch.arange(len(durations), device=scores.device), durations.to(scores.device))
    return float(scores[owner, torch.arange(len(owner), device=scores.device)].mean())


def _ctc_intervals(durations: torch.Tensor, offset: float, audio_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    edges = np.concatenate([[0], np.cumsum(durations.numpy())])
    times = offset + (edges - 0.5) * CTC_FRAME_SECONDS
    times[0], times[-1] = 0.0, audio_seconds
    return times[:-1], times[1:]


def ctc_target_positions(token_ids: list[int], pauses_as_blank: bool) -> list[int]:
    """Positions of the tokens that are CTC targets (not blanks; not pauses for a phones-only model)."""
    skip = {BLANK_ID} | (set(NON_PHONE_IDS) if pauses_as_blank else set())
    return [k for k, i in enumerate(token_ids) if i not in skip]


def forced_align_intervals(
    log_probs: torch.Tensor, token_ids: list[int], pauses_as_blank: bool, offset: float, audio_seconds: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Token time spans from torchaudio's CTC ``forced_align`` over the targets among ``token_ids``
    (the other tokens, blanks and pauses, get the gaps between the spans around them), and the mean
    log-posterior along its path."""
    import torchaudio.functional as F  # torchaudio only for this baseline

    positions = ctc_target_positions(token_ids, pauses_as_blank)
    targets = torch.tensor([[token_ids[k] for k in positions]], dtype=torch.int32)
    labels, frame_scores = F.forced_align(log_probs.cpu()[None], targets, blank=BLANK_ID)
    spans = F.merge_tokens(labels[0], frame_scores[0].exp(), blank=BLANK_ID)
    starts = np.zeros(len(token_ids))
    ends = np.zeros(len(token_ids))
    for k, span in zip(positions, spans, strict=True):
        starts[k] = offset + (span.start - 0.5) * CTC_FRAME_SECONDS
        ends[k] = offset + (span.end - 0.5) * CTC_FRAME_SECONDS
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
    return starts, ends, float(frame_scores.mean())


def align(
    log_probs: list[torch.Tensor],
    token_ids: list[list[int]],
    n_mel_frames: list[int],
    mel_frame_seconds: float,
    method: str = "mel",
    pauses_as_blank: bool = True,
    offset: float | list[float] = 0.0125,
    acoustic: AcousticStage | None = None,
    features: list[torch.Tensor] | None = None,
    marks: str = "one-frame",
) -> list[Alignment | AlignmentError]:
    """Durations on the mel grid for a batch of utterances (an ``AlignmentError`` in place of one
    that cannot be aligned). ``log_probs``: CTC log-posteriors [CTC frames, symbols] per utterance;
    ``offset``: time of the centre of CTC frame 0, in seconds; ``acoustic`` and ``features`` (one
    [mel frames, D] matrix per utterance, ``aligner.align.acoustic.acoustic_features``): what the
    ``acoustic`` method needs. Each utterance's durations depend on that utterance alone.
    ``offset`` may also be a list, one per utterance. ``marks``: how annotation marks are aligned
    (``aligner.align.marks``). ``Alignment.mean_log_prob`` is the mean CTC log-posterior along the path on
    the grid searched (for ``acoustic``, the mel grid)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "acoustic" and (acoustic is None or features is None):
        raise ValueError("the acoustic method needs an acoustic stage and the features of every utterance")
    results: list[Alignment | AlignmentError] = [AlignmentError("not aligned")] * len(log_probs)
    offsets = offset if isinstance(offset, list) else [offset] * len(log_probs)
    groups = annotation_groups(token_ids, marks)
    grids, rows = [], []
    for row, (lp, ids, n_mel) in enumerate(zip(log_probs, token_ids, n_mel_frames, strict=True)):
        offset = offsets[row]
        scores = score_matrix(lp, ids, pauses_as_blank)
        if method in ("mel", "acoustic"):
            scores = to_frame_grid(scores, n_mel, mel_frame_seconds, offset)
        needed = len(ids)
        if method == "forced_align":
            needed = frames_needed([ids[k] for k in ctc_target_positions(ids, pauses_as_blank)])
        if needed > scores.shape[1] or len(ids) > n_mel:
            grid = "CTC" if method in ("ctc", "forced_align") else "mel"
            results[row] = AlignmentError(
                f"audio too short for its tokens: {len(ids)} tokens for {n_mel} mel frames, "
                f"{needed} needed of its {scores.shape[1]} {grid} frames"
            )
            continue
        if method == "forced_align":
            audio_seconds = n_mel * mel_frame_seconds
            starts, ends, mean_log_prob = forced_align_intervals(lp, ids, pauses_as_blank, offset, audio_seconds)
            durations = durations_from_intervals(starts, ends, n_mel, mel_frame_seconds)
            if groups is not None:
                durations = settle(durations, groups[row])
            results[row] = Alignment(durations, mean_log_prob, float((durations == 1).float().mean()))
            continue
        grids.append(scores)
        rows.append(row)
    if not grids:
        return results
    searched_groups = None if groups is None else [groups[row] for row in rows]
    if method == "acoustic":
        paths = acoustic_search(
            acoustic, [features[row] for row in rows], [token_ids[row] for row in rows], grids, searched_groups
        )
        found = [path.durations for path in paths]
    else:
        found = batched_mas(grids, searched_groups)
    for row, scores, path_durations in zip(rows, grids, found, strict=True):
        mean_log_prob = _path_score(scores, path_durations)
        durations = path_durations
        if method == "ctc":
            starts, ends = _ctc_intervals(path_durations, offsets[row], n_mel_frames[row] * mel_frame_seconds)
            durations = durations_from_intervals(starts, ends, n_mel_frames[row], mel_frame_seconds)
        results[row] = Alignment(durations, mean_log_prob, float((durations == 1).float().mean()))
    return results
