"""Duration contract, atomic save/load, and the way Matcha expands precomputed durations."""

import os
from pathlib import Path

import pytest
import torch

from aligner.durations import DurationError, load_durations, save_durations, validate_durations


# Upstream Matcha's masks and duration-to-path expansion (matcha/utils/model.py), restated: how it reads our files.
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


def test_saved_durations_expand_like_matchas_precomputed_path(tmp_path: Path):
    """Two utterances collated and expanded as Matcha's use_precomputed_durations branch does."""
    generator = torch.Generator().manual_seed(0)
    lengths_x, lengths_y, files = [], [], []
    for index, n_tokens in enumerate([7, 11]):
        durations = torch.randint(1, 6, (n_tokens,), generator=generator)
        n_frames = int(durations.sum())
        save_durations(tmp_path / f"{index}.pt", validate_durations(durations, n_tokens, n_frames))
        lengths_x.append(n_tokens)
        lengths_y.append(n_frames)
        files.append(tmp_path / f"{index}.pt")
    x_lengths, y_lengths = torch.tensor(lengths_x), torch.tensor(lengths_y)
    batch = torch.zeros(2, int(x_lengths.max()), dtype=torch.int64)  # Matcha's collate: zero-padded
    for row, path in enumerate(files):
        loaded = load_durations(path)
        batch[row, : loaded.numel()] = loaded
    x_mask = sequence_mask(x_lengths, batch.shape[1]).unsqueeze(1).float()
    y_mask = sequence_mask(y_lengths, int(y_lengths.max()) + 3).unsqueeze(1).float()  # padded mel
    attn_mask = x_mask.unsqueeze(-1) * y_mask.unsqueeze(2)
    attn = generate_path(batch.unsqueeze(1).squeeze(1), attn_mask.squeeze(1))
    for row in range(2):
        valid = attn[row, : lengths_x[row], : lengths_y[row]]
        assert torch.all(valid.sum(0) == 1), "every mel frame belongs to exactly one token"
        assert torch.equal(valid.sum(1).long(), batch[row, : lengths_x[row]])
        assert attn[row].sum() == lengths_y[row], "nothing outside the valid region"


def test_sequence_mask():
    mask = sequence_mask(torch.tensor([1, 3]), 4)
    assert mask.tolist() == [[True, False, False, False], [True, True, True, False]]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_of_new_files(tmp_path: Path, umask: int, mode: int):
    old = os.umask(umask)
    try:
        save_durations(tmp_path / "x.pt", torch.tensor([1, 2]))
    finally:
        os.umask(old)
    assert (tmp_path / "x.pt").stat().st_mode & 0o777 == mode
