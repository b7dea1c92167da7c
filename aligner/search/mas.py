"""Monotonic alignment search over a batch of [tokens, frames] score matrices (``maximum_path``, on their
device), and what an alignment of one utterance is."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aligner.search.marks import MarkGroup, settle, share_rows
from aligner.search.monotonic_align import maximum_path
from aligner.search.transcript import TranscriptCheck


class AlignmentError(ValueError):
    """An utterance that cannot be aligned: audio too short for its tokens (``cause``)."""

    cause = "audio too short for its tokens"


@dataclass
class Alignment:
    """Durations of one utterance on the mel grid, with how confident the aligner was and, where the aligner
    has CTC posteriors, how well the audio supports its text (``aligner.search.transcript``)."""

    durations: torch.Tensor  # int64 [tokens]
    mean_log_prob: float  # mean score along the path, per frame of the grid the path was found on
    min_share: float  # share of tokens squeezed to a single frame
    transcript: TranscriptCheck | None = None


def batched_mas(scores: list[torch.Tensor], groups: list[list[MarkGroup]] | None = None) -> list[torch.Tensor]:
    """Durations (frames per token) of the best monotonic path through each [tokens, frames] matrix,
    all in one ``maximum_path`` call on the scores' device. ``groups``: the annotation-mark groups of
    each matrix (``aligner.search.marks``): their rows share their phone's scores and their frames are
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
