"""Masks and duration-to-path expansion, as upstream Matcha's ``matcha/utils/model.py``."""

from __future__ import annotations

import torch


def sequence_mask(length: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """Boolean [B, max_length] mask, True where the index is below ``length``."""
    if max_length is None:
        max_length = int(length.max())
    positions = torch.arange(max_length, dtype=length.dtype, device=length.device)
    return positions.unsqueeze(0) < length.unsqueeze(1)


def generate_path(duration: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hard alignment [B, T_x, T_y] from integer durations [B, T_x]: token i owns frames
    [cumsum_{i-1}, cumsum_i); the result is multiplied by ``mask`` ([B, T_x, T_y])."""
    b, t_x, t_y = mask.shape
    cum_duration = torch.cumsum(duration, 1)
    path = sequence_mask(cum_duration.flatten(), t_y).to(mask.dtype).view(b, t_x, t_y)
    path = path - torch.nn.functional.pad(path, (0, 0, 1, 0))[:, :-1]
    return path * mask
