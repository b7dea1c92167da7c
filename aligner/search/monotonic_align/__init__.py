"""Monotonic alignment search (MAS) with super-monotonic-align's contract.

``maximum_path(value, mask, dtype)`` takes scores and a mask of shape [B, T_text, T_mel] and returns
the 0/1 path of highest total score that starts at (0, 0), ends at (t_x - 1, t_y - 1), gives every
mel frame to exactly one token and advances the text index by 0 or 1 per frame (so every token gets
at least one frame). ``t_x = mask.sum(1)[:, 0]`` and ``t_y = mask.sum(2)[:, 0]`` per batch item; the
mask is assumed to be a length (prefix) mask on both axes. The caller's ``value`` is never modified.

Backends, chosen by ``maximum_path`` from the device of ``value``:

- CPU: the Cython kernel of the ``monotonic-alignment-search`` wheel (Glow-TTS's ``core.pyx``).
- CUDA: ``super_monotonic_align`` (Triton) when installed, else ``maximum_path_torch``.

``maximum_path_torch`` exists because super-monotonic-align is not on PyPI (git install only): it is
a vectorised torch kernel that runs on any device and gives the same path as the Cython kernel
(same float32 arithmetic and the same tie-breaking: on a tie the path stays on the current token).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "maximum_path",
    "maximum_path_cython",
    "maximum_path_sma",
    "maximum_path_torch",
    "sma_available",
]


def _check(value: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate shapes and lengths; return (bool mask, t_x, t_y) with lengths as int64 on mask's device."""
    if value.dim() != 3 or mask.dim() != 3:
        raise ValueError(
            f"value and mask must be 3-D [B, T_text, T_mel]; got value {tuple(value.shape)}, mask {tuple(mask.shape)}"
        )
    if value.shape != mask.shape:
        raise ValueError(
            f"value and mask must have the same shape; got value {tuple(value.shape)}, mask {tuple(mask.shape)}"
        )
    if value.is_complex():
        raise TypeError(f"value must be a real tensor, got {value.dtype}")
    mask_b = mask if mask.dtype == torch.bool else mask != 0
    if value.shape[1] == 0 or value.shape[2] == 0:
        raise ValueError(f"empty text or mel axis: value shape {tuple(value.shape)}")
    t_x = mask_b.sum(1)[:, 0]
    t_y = mask_b.sum(2)[:, 0]
    # One host sync: a bad item must raise instead of producing a garbage path.
    bad = ((t_x > t_y) | (t_x == 0)).nonzero().flatten().tolist()
    if bad:
        i = bad[0]
        tx, ty = int(t_x[i]), int(t_y[i])
        why = "no text tokens" if tx == 0 else "more text tokens than mel frames"
        raise ValueError(
            f"batch item {i}: t_x={tx} text tokens, t_y={ty} mel frames ({why}); MAS needs 1 <= t_x <= t_y"
            + (f" ({len(bad)} bad items: {bad[:10]})" if len(bad) > 1 else "")
        )
    return mask_b, t_x, t_y


def _masked_scores(value: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
    """A fresh contiguous float32 copy of ``value`` with masked cells set to 0 (never aliases ``value``)."""
    return value.detach().to(torch.float32).masked_fill(~mask_b.to(value.device), 0.0).contiguous()


@torch.no_grad()
def maximum_path_cython(value: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """MAS with the Cython kernel of ``monotonic-alignment-search`` (computed on CPU, float32).

    value, mask: [B, T_text, T_mel]. Returns the 0/1 path as ``dtype`` on ``value``'s device.
    """
    from monotonic_alignment_search.core import maximum_path_c

    mask_b, t_x, t_y = _check(value, mask)
    # The kernel overwrites its score array in place: give it a private copy.
    scores = _masked_scores(value, mask_b).cpu().numpy().copy()
    path = np.zeros(scores.shape, dtype=np.int32)
    maximum_path_c(
        path,
        scores,
        t_x.cpu().numpy().astype(np.int32),
        t_y.cpu().numpy().astype(np.int32),
    )
    return torch.from_numpy(path).to(device=value.device, dtype=dtype)


@torch.no_grad()
def maximum_path_torch(value: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """MAS in vectorised torch on ``value``'s device (any device; no host round trip of the scores).

    Forward DP vectorised over batch and text, looping over mel frames; backtracking vectorised over
    the batch. Cells outside the feasible band ``max(0, t_x - t_y + j) <= i <= min(t_x - 1, j)`` are
    -inf, so no finite score is ever mixed with a sentinel. Same float32 sums and tie-breaking as the
    Cython kernel, hence the same path. value, mask: [B, T_text, T_mel]; returns ``dtype``.
    """
    mask_b, t_x, t_y = _check(value, mask)
    device = value.device
    t_x = t_x.to(device)
    t_y = t_y.to(device)
    b, n_x, n_y = value.shape
    scores = _masked_scores(value, mask_b).permute(2, 0, 1).contiguous()  # [T_mel, B, T_text]

    xs = torch.arange(n_x, device=device)  # [T_text]
    ys = torch.arange(n_y, device=device)  # [T_mel]
    lo = (t_x - t_y)[None, :] + ys[:, None]  # [T_mel, B]: lowest feasible token at frame j
    band = (
        (xs[None, None, :] >= lo[:, :, None])
        & (xs[None, None, :] <= ys[:, None, None])
        & (xs[None, None, :] < t_x[None, :, None])
    )  # [T_mel, B, T_text]
    # Out-of-band cells score -inf, so any sum through them stays -inf and never wins a max.
    scores = scores.masked_fill_(~band, float("-inf"))
    # down[j, b, i]: the best path into (i, j) comes from (i - 1, j - 1); ties stay on token i.
    down = torch.zeros((n_y, b, n_x), dtype=torch.bool, device=device)
    neg_col = torch.full((b, 1), float("-inf"), dtype=torch.float32, device=device)

    cum = scores[0]  # [B, T_text]
    for j in range(1, n_y):
        move = torch.cat((neg_col, cum[:, :-1]), dim=1)
        torch.gt(move, cum, out=down[j])
        cum = torch.maximum(cum, move).add_(scores[j])

    # Backtrack from (t_x - 1, t_y - 1); frames >= t_y keep index t_x - 1 and are masked out below.
    index = t_x - 1  # [B]
    rows = torch.arange(b, device=device)
    indices = torch.empty((n_y, b), dtype=torch.long, device=device)
    for j in range(n_y - 1, -1, -1):
        indices[j] = index
        if j == 0:
            break
        step = down[j, rows, index] | (index == j)
        step &= (index > 0) & (j < t_y)
        index = index - step.long()

    path = torch.zeros((b, n_x, n_y), dtype=dtype, device=device)
    path.scatter_(1, indices.t().unsqueeze(1), 1)
    valid_frames = ys[None, None, :] < t_y[:, None, None]
    return path.masked_fill_(~valid_frames, 0)


def sma_available() -> bool:
    """Whether ``super_monotonic_align`` (Triton, CUDA only) can be imported."""
    try:
        import super_monotonic_align  # noqa: F401
    except ImportError:
        return False
    return True


@torch.no_grad()
def maximum_path_sma(value: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """MAS with ``super_monotonic_align`` (CUDA tensors only; raises ImportError if not installed)."""
    import super_monotonic_align

    if not value.is_cuda:
        raise ValueError(f"super_monotonic_align needs CUDA tensors, got device {value.device}")
    mask_b, _, _ = _check(value, mask)
    # SMA masks and overwrites its value tensor in place: hand it a private float32 copy.
    scores = value.detach().to(torch.float32).clone().contiguous()
    return super_monotonic_align.maximum_path(scores, mask_b.to(value.device).to(torch.int32), dtype=dtype)


def maximum_path(value: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Most likely monotonic alignment path (super-monotonic-align's contract).

    Args:
        value: scores [B, T_text, T_mel] (e.g. log-likelihoods); not modified.
        mask: [B, T_text, T_mel] length mask (bool, int or float).
        dtype: dtype of the returned path.

    Returns:
        0/1 path [B, T_text, T_mel] of ``dtype`` on ``value``'s device, zero outside the mask.

    Raises:
        ValueError: bad shapes, or a batch item with t_x > t_y or t_x == 0.
    """
    if value.is_cuda:
        if sma_available():
            return maximum_path_sma(value, mask, dtype)
        return maximum_path_torch(value, mask, dtype)
    if value.device.type == "cpu":
        return maximum_path_cython(value, mask, dtype)
    return maximum_path_torch(value, mask, dtype)
