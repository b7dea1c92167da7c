"""From token times in seconds to whole mel frames on a Matcha mel grid (hop / sample_rate seconds a frame)."""

from __future__ import annotations

import numpy as np
import torch

from aligner.search.monotonic_align import maximum_path


def frame_seconds(hop_length: int, sample_rate: int) -> float:
    """Length of one mel frame in seconds (hop 256 at 22.05 kHz: 11.61 ms)."""
    return hop_length / sample_rate


def durations_from_intervals(starts: np.ndarray, ends: np.ndarray, n_frames: int, seconds: float) -> torch.Tensor:
    """Frames per token on a grid of ``n_frames`` frames of ``seconds`` each.

    Token k wants the time [starts[k], ends[k]] (a point when equal). Each frame goes to one token,
    in order, every token gets at least one frame and the total is ``n_frames``: the assignment is the
    monotonic path (MAS) that minimises the summed distance of frame centres to their token's
    interval, i.e. boundaries rounded to the nearest frame wherever the grid allows it. Needs
    ``len(starts) <= n_frames``.
    """
    centers = (np.arange(n_frames) + 0.5) * seconds
    starts = np.asarray(starts, dtype=np.float64)[:, None]
    ends = np.asarray(ends, dtype=np.float64)[:, None]
    distance = np.maximum(starts - centers, 0.0) + np.maximum(centers - ends, 0.0)
    value = torch.from_numpy(-distance / seconds).float().unsqueeze(0)
    path = maximum_path(value, torch.ones_like(value))
    return path[0].sum(-1).long()
