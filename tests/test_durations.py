"""The duration contract, atomic save and load, and the times the durations give each symbol.

How Matcha itself reads the files is checked with Matcha's own code: tests/test_fork.py (a fork's loader) and
make matcha-check (upstream's loader and model)."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner.durations import DurationError, load_durations, save_durations, symbol_times, validate_durations


def test_validate_accepts_a_good_vector_and_returns_int64():
    durations = validate_durations([1, 3, 2], n_tokens=3, n_frames=6)
    assert durations.dtype == torch.int64 and durations.tolist() == [1, 3, 2]
    assert validate_durations(torch.tensor([2.0, 1.0]), 2, 3).dtype == torch.int64


@pytest.mark.parametrize(
    "durations, n_tokens, n_frames, message",
    [
        ([1, 2], 3, 3, "2 durations for 3 tokens"),
        ([1, 0, 2], 3, 3, "fewer than 1 frame"),
        ([1, 2, 2], 3, 6, "sum to 5, the mel has 6"),
        ([1.5, 2.5], 2, 4, "whole numbers"),
        ([[1, 2]], 2, 3, "1-D"),
    ],
)
def test_validate_names_what_is_wrong(durations, n_tokens, n_frames, message):
    with pytest.raises(DurationError, match=message):
        validate_durations(durations, n_tokens, n_frames, name="0/0001")


def test_save_is_atomic_and_loads_back(tmp_path: Path):
    target = tmp_path / "durations" / "0" / "0001.pt"
    save_durations(target, torch.tensor([1, 2, 3]))
    loaded = load_durations(target)
    assert loaded.dtype == torch.int64 and loaded.tolist() == [1, 2, 3]
    assert os.listdir(target.parent) == ["0001.pt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    target = tmp_path / "u.pt"
    save_durations(target, torch.tensor([4, 5]))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_durations(target, torch.tensor([9, 9]))
    assert load_durations(target).tolist() == [4, 5]
    assert os.listdir(tmp_path) == ["u.pt"]


def test_symbol_times_tile_the_mel_from_its_first_frame_to_its_last():
    durations = validate_durations([2, 3, 1, 4, 2], n_tokens=5, n_frames=12)  # 2 symbols, blank-interspersed
    starts, ends = symbol_times(durations.numpy(), 2, 0.01)
    np.testing.assert_allclose(starts, [0.02, 0.055])  # the middle blank split at its middle
    np.testing.assert_allclose(ends, [0.055, 0.10])
    starts, ends = symbol_times(np.array([2, 3, 1]), 3, 0.01)  # no blanks: each symbol's own frames
    np.testing.assert_allclose(starts, [0.0, 0.02, 0.05])
    np.testing.assert_allclose(ends, [0.02, 0.05, 0.06])


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_of_new_files(tmp_path: Path, umask: int, mode: int):
    old = os.umask(umask)
    try:
        save_durations(tmp_path / "x.pt", torch.tensor([1, 2]))
    finally:
        os.umask(old)
    assert (tmp_path / "x.pt").stat().st_mode & 0o777 == mode
