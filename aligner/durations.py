"""The duration contract between the aligner and Matcha-TTS.

A duration file holds an int64 1-D tensor with one entry per Matcha token (after
``add_blank``), every entry >= 1, summing to the mel's frame count. Matcha expands it with
``generate_path``; a zero would give a token no frame and a log-duration target of
log(1e-8), a wrong sum cuts or starves frames, so all of it is checked before a write.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

# atomic_write's temporary files: ".{name}." + tempfile's 8 random characters + ".tmp"
TEMPORARY_SUFFIX = ".tmp"
TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TEMPORARY_SUFFIX))


class DurationError(ValueError):
    """A duration vector that breaks the contract."""

    cause = "durations that break the contract"


def validate_durations(
    durations: torch.Tensor | np.ndarray | list[int], n_tokens: int, n_frames: int, name: str = "durations"
) -> torch.Tensor:
    """Return ``durations`` as an int64 tensor, or raise ``DurationError`` saying what is wrong."""
    tensor = torch.as_tensor(durations)
    if tensor.dim() != 1:
        raise DurationError(f"{name}: expected a 1-D vector, got shape {tuple(tensor.shape)}")
    if tensor.is_floating_point():
        if not torch.isfinite(tensor).all() or not torch.equal(tensor, tensor.round()):
            raise DurationError(f"{name}: durations must be whole numbers of frames")
    elif tensor.dtype == torch.bool:
        raise DurationError(f"{name}: durations must be integers, got bool")
    tensor = tensor.to(torch.int64)
    if tensor.numel() != n_tokens:
        raise DurationError(f"{name}: {tensor.numel()} durations for {n_tokens} tokens")
    if n_tokens and int(tensor.min()) < 1:
        zeros = torch.nonzero(tensor < 1).flatten().tolist()
        raise DurationError(f"{name}: tokens {zeros[:10]} have fewer than 1 frame")
    if int(tensor.sum()) != n_frames:
        raise DurationError(f"{name}: durations sum to {int(tensor.sum())}, the mel has {n_frames} frames")
    return tensor


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    A crash leaves either the old file or none, never a partial one. The file gets the permissions of
    any new file (0666 less the umask), not the 0600 of a temporary one, so that Matcha training under
    another user or in a container can read it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed ``atomic_write`` left anywhere under ``folder``; returns them.

    Only names of ``atomic_write``'s pattern (``.{name}.XXXXXXXX.tmp``) are touched. No other process
    may be writing into ``folder`` meanwhile: its temporary files would go too.
    """
    stale = [path for path in Path(folder).rglob(f"*{TEMPORARY_SUFFIX}") if TEMPORARY_NAME.fullmatch(path.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def save_durations(path: str | Path, durations: torch.Tensor) -> None:
    """Write an int64 duration tensor to ``path`` (``.pt``) atomically."""
    tensor = torch.as_tensor(durations, dtype=torch.int64).contiguous()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            torch.save(tensor, handle)
            handle.flush()
            os.fsync(handle.fileno())

    atomic_write(path, write)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """Write an array with ``np.save`` atomically (mels; durations in upstream Matcha's .npy layout)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    atomic_write(path, write)


def load_durations(path: str | Path) -> torch.Tensor:
    """Read a duration file written by ``save_durations`` (safe load: weights_only)."""
    tensor = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 1 or tensor.dtype != torch.int64:
        raise DurationError(f"{path}: not an int64 1-D duration tensor")
    return tensor


def read_duration_file(path: str | Path) -> torch.Tensor:
    """A duration file of either format the extraction writes: ``.pt`` (``load_durations``) or ``.npy``
    (``np.load``, no pickles; where Matcha's loaders read them). ``DurationError`` when it holds no 1-D
    integer vector."""
    path = Path(path)
    if path.suffix != ".npy":
        return load_durations(path)
    array = np.load(path, allow_pickle=False)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DurationError(f"{path}: not a 1-D integer duration vector")
    return torch.from_numpy(array.astype(np.int64))


def symbol_times(durations: np.ndarray, n_symbols: int, frame_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end time (s) of each of ``n_symbols`` IPA symbols from a duration vector (frames) of L entries
    (each symbol its own frames) or 2L+1 (add_blank: a blank between two symbols is split at its middle between
    them, the first and last blanks belong to neither); ``frame_seconds``: one mel frame. ``ValueError`` for
    another length."""
    durations = np.asarray(durations, dtype=np.float64)
    edges = np.concatenate([[0.0], np.cumsum(durations)]) * frame_seconds
    if len(durations) == n_symbols:
        return edges[:-1], edges[1:]
    if len(durations) != 2 * n_symbols + 1:
        raise ValueError(
            f"{len(durations)} durations for {n_symbols} symbols (expected {n_symbols} or {2 * n_symbols + 1})"
        )
    starts, ends = edges[1:-1:2].copy(), edges[2:-1:2].copy()
    blank_middles = (edges[2:-2:2] + edges[3:-1:2]) / 2  # the blanks between symbols
    starts[1:] = blank_middles
    ends[:-1] = blank_middles
    return starts, ends
