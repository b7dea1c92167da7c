"""From CTC posteriors to Matcha durations: monotonic alignment search on a frame grid.

Four ways to reach the Matcha mel grid (any hop and rate), all measured with ``aligner.evaluate.score``:

- ``acoustic`` (the extraction's default): the ``mel`` scores plus the acoustic stage's
  (``aligner.acoustic``), searched with its states (``aligner.acoustic.search``);
- ``mel``: the score matrix is interpolated onto the mel frames, then MAS runs there, so
  every token gets at least one mel frame and the total is the mel's frame count by construction;
- ``ctc``: MAS on the 20 ms CTC frames, then each token's time span is laid on the mel grid
  (``aligner.search.timing.durations_from_intervals``: boundaries to the nearest frame, every token >= 1);
- ``forced_align``: the plain CTC baseline, torchaudio's ``forced_align`` over the phone tokens
  of the same posteriors, its (peaky) spans laid on the mel grid the same way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from aligner.acoustic.model import AcousticStage
from aligner.acoustic.search import acoustic_search
from aligner.search.forced_align import ctc_target_positions, forced_align_intervals, frames_needed
from aligner.search.marks import annotation_groups, settle
from aligner.search.mas import Alignment, AlignmentError, batched_mas
from aligner.search.scores import ctc_edge_seconds, score_matrix, to_frame_grid
from aligner.search.timing import durations_from_intervals
from aligner.search.transcript import check_transcript

METHODS = ("acoustic", "mel", "ctc", "forced_align")


def _path_score(scores: torch.Tensor, durations: torch.Tensor) -> float:
    owner = torch.repeat_interleave(torch.arange(len(durations), device=scores.device), durations.to(scores.device))
    return float(scores[owner, torch.arange(len(owner), device=scores.device)].mean())


def _ctc_intervals(durations: torch.Tensor, offset: float, audio_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    edges = np.concatenate([[0], np.cumsum(durations.numpy())])
    times = ctc_edge_seconds(edges, offset)
    times[0], times[-1] = 0.0, audio_seconds
    return times[:-1], times[1:]


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
    [mel frames, D] matrix per utterance, ``aligner.acoustic.features.acoustic_features``): what the
    ``acoustic`` method needs. Each utterance's durations depend on that utterance alone.
    ``offset`` may also be a list, one per utterance. ``marks``: how annotation marks are aligned
    (``aligner.search.marks``). ``Alignment.mean_log_prob`` is the mean CTC log-posterior along the path on
    the grid searched (for ``acoustic``, the mel grid); ``Alignment.transcript``, the check of its text
    against the posteriors (``aligner.search.transcript``: the same for every method)."""
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
            on_ctc = method in ("ctc", "forced_align")
            ctc = f", {needed} needed of its {scores.shape[1]} CTC frames" if on_ctc else ""
            results[row] = AlignmentError(
                f"audio too short for its tokens: {len(ids)} tokens for {n_mel} mel frames{ctc}"
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
        return _checked(results, log_probs, token_ids, offsets, n_mel_frames, mel_frame_seconds, pauses_as_blank)
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
    return _checked(results, log_probs, token_ids, offsets, n_mel_frames, mel_frame_seconds, pauses_as_blank)


def _checked(
    results: list[Alignment | AlignmentError],
    log_probs: list[torch.Tensor],
    token_ids: list[list[int]],
    offsets: list[float],
    n_mel_frames: list[int],
    mel_frame_seconds: float,
    pauses_as_blank: bool,
) -> list[Alignment | AlignmentError]:
    """``results`` with the transcript check of every alignment."""
    return [
        replace(result, transcript=check_transcript(lp, ids, pauses_as_blank, offset, n_mel * mel_frame_seconds))
        if isinstance(result, Alignment)
        else result
        for result, lp, ids, offset, n_mel in zip(results, log_probs, token_ids, offsets, n_mel_frames, strict=True)
    ]
