"""MAS backends against a brute-force oracle written here in plain Python.

Scores are continuous random numbers (no ties), so the best path is unique and every backend must
return exactly the oracle's path. CUDA backends are skipped when no CUDA device is present.
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from aligner.search.monotonic_align import (
    maximum_path,
    maximum_path_cython,
    maximum_path_sma,
    maximum_path_torch,
    sma_available,
)

# ---------------------------------------------------------------------------------------------
# Oracles (plain Python, float64): return the token index of every frame, or None.


def enumerate_best(v: list[list[float]]) -> list[int]:
    """Exhaustive search over every monotonic path (token durations >= 1 summing to t_y)."""
    t_x, t_y = len(v), len(v[0])
    best, best_owner = None, None
    # Choose the t_x - 1 frames at which the text index advances.
    for cuts in itertools.combinations(range(1, t_y), t_x - 1):
        owner, x = [], 0
        for y in range(t_y):
            if x < len(cuts) and cuts[x] == y:
                x += 1
            owner.append(x)
        score = sum(v[owner[y]][y] for y in range(t_y))
        if best is None or score > best:
            best, best_owner = score, owner
    return best_owner


def dp_best(v: list[list[float]]) -> list[int]:
    """Textbook dynamic programme over reachable cells, then backtracking."""
    t_x, t_y = len(v), len(v[0])
    neg = float("-inf")
    acc = [[neg] * t_y for _ in range(t_x)]
    acc[0][0] = v[0][0]
    for y in range(1, t_y):
        for x in range(t_x):
            prev = max(acc[x][y - 1], acc[x - 1][y - 1] if x > 0 else neg)
            if prev > neg:
                acc[x][y] = prev + v[x][y]
    owner, x = [0] * t_y, t_x - 1
    assert acc[x][t_y - 1] > neg
    for y in range(t_y - 1, -1, -1):
        owner[y] = x
        if y > 0 and x > 0 and acc[x - 1][y - 1] > acc[x][y - 1]:
            x -= 1
    assert x == 0
    return owner


def oracle_path(value: torch.Tensor, t_x: list[int], t_y: list[int]) -> torch.Tensor:
    """Expected path [B, T_text, T_mel] (float32) from the oracles; zero outside each item's lengths."""
    path = torch.zeros(value.shape, dtype=torch.float32)
    for i, (tx, ty) in enumerate(zip(t_x, t_y, strict=True)):
        v = value[i, :tx, :ty].double().tolist()
        owner = enumerate_best(v) if ty <= 9 else dp_best(v)
        for y, x in enumerate(owner):
            path[i, x, y] = 1
    return path


def length_mask(t_x: list[int], t_y: list[int], n_x: int, n_y: int, dtype: torch.dtype) -> torch.Tensor:
    tx = torch.tensor(t_x)[:, None, None]
    ty = torch.tensor(t_y)[:, None, None]
    m = (torch.arange(n_x)[None, :, None] < tx) & (torch.arange(n_y)[None, None, :] < ty)
    return m.to(dtype)


def random_batch(rng: random.Random, gen: torch.Generator, b: int, max_x: int, max_y: int):
    t_x, t_y = [], []
    for _ in range(b):
        tx = rng.randint(1, max_x)
        t_x.append(tx)
        t_y.append(rng.randint(tx, max_y))
    n_x, n_y = max(t_x), max(t_y)
    # Padding cells get large random values so a backend that reads them would be caught.
    value = torch.randn(b, n_x, n_y, generator=gen) * 3
    return value, t_x, t_y


# ---------------------------------------------------------------------------------------------
# Backends that can run here.

HAS_CUDA = torch.cuda.is_available()
NO_CUDA = "no CUDA device in this environment"

BACKENDS = [
    pytest.param(("cython", "cpu"), id="cython-cpu"),
    pytest.param(("torch", "cpu"), id="torch-cpu"),
    pytest.param(("auto", "cpu"), id="auto-cpu"),
    pytest.param(("torch", "cuda"), id="torch-cuda", marks=pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)),
    pytest.param(("auto", "cuda"), id="auto-cuda", marks=pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)),
    pytest.param(
        ("sma", "cuda"),
        id="sma-cuda",
        marks=pytest.mark.skipif(
            not (HAS_CUDA and sma_available()),
            reason="super_monotonic_align (not on PyPI) not installed, or no CUDA device",
        ),
    ),
]
FUNCS = {
    "cython": maximum_path_cython,
    "torch": maximum_path_torch,
    "sma": maximum_path_sma,
    "auto": maximum_path,
}


@pytest.fixture(params=BACKENDS)
def backend(request):
    name, device = request.param
    fn = FUNCS[name]

    def run(value, mask, dtype=torch.float32):
        return fn(value.to(device), mask.to(device), dtype=dtype)

    run.device = device
    return run


# ---------------------------------------------------------------------------------------------


def test_oracles_agree():
    rng = random.Random(0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        tx = rng.randint(1, 6)
        ty = rng.randint(tx, 10)
        v = (torch.randn(tx, ty, generator=gen) * 3).double().tolist()
        assert enumerate_best(v) == dp_best(v)


def test_single_items_match_oracle(backend):
    rng = random.Random(1)
    gen = torch.Generator().manual_seed(1)
    for _ in range(150):
        value, t_x, t_y = random_batch(rng, gen, 1, 8, 16)
        mask = length_mask(t_x, t_y, *value.shape[1:], torch.bool)
        got = backend(value, mask).cpu()
        assert torch.equal(got, oracle_path(value, t_x, t_y)), (t_x, t_y)


@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.int32, torch.int64, torch.float32])
def test_padded_batches_match_oracle(backend, mask_dtype):
    rng = random.Random(2)
    gen = torch.Generator().manual_seed(2)
    for _ in range(20):
        value, t_x, t_y = random_batch(rng, gen, 5, 10, 30)
        mask = length_mask(t_x, t_y, *value.shape[1:], mask_dtype)
        got = backend(value, mask).cpu()
        want = oracle_path(value, t_x, t_y)
        assert torch.equal(got, want), (t_x, t_y)
        assert not got[~mask.bool()].any(), "path must be 0 in the padded region"


def test_path_structure(backend):
    gen = torch.Generator().manual_seed(3)
    t_x, t_y = [30, 1, 17, 30], [120, 64, 17, 31]
    value = torch.randn(4, 30, 120, generator=gen)
    mask = length_mask(t_x, t_y, 30, 120, torch.float32)
    path = backend(value, mask).cpu()
    assert path.shape == value.shape
    assert set(path.unique().tolist()) <= {0.0, 1.0}
    for i, (tx, ty) in enumerate(zip(t_x, t_y, strict=True)):
        p = path[i, :tx, :ty]
        assert path[i].sum() == ty
        assert torch.equal(p.sum(0), torch.ones(ty)), "each valid frame belongs to exactly one token"
        assert (p.sum(1) >= 1).all(), "every token gets at least one frame"
        owner = p.argmax(0)
        assert owner[0] == 0 and owner[-1] == tx - 1
        steps = owner[1:] - owner[:-1]
        assert ((steps == 0) | (steps == 1)).all(), "text index advances by 0 or 1 per frame"


def test_value_not_modified(backend):
    gen = torch.Generator().manual_seed(4)
    value = torch.randn(3, 7, 20, generator=gen).to(backend.device).requires_grad_()
    mask = length_mask([7, 3, 5], [20, 9, 5], 7, 20, torch.bool)
    before = value.detach().clone()
    backend(value, mask)
    assert torch.equal(value, before)


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.bool, torch.int32, torch.int64]
)
def test_dtype_and_device(backend, dtype):
    gen = torch.Generator().manual_seed(5)
    value = torch.randn(2, 4, 9, generator=gen)
    mask = length_mask([4, 2], [9, 6], 4, 9, torch.int32)
    path = backend(value, mask, dtype=dtype)
    assert path.dtype == dtype
    assert path.device.type == backend.device
    assert torch.equal(path.cpu().float(), oracle_path(value, [4, 2], [9, 6]))


@pytest.mark.parametrize("value_dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_value_dtypes_accepted(backend, value_dtype):
    gen = torch.Generator().manual_seed(6)
    value = torch.randn(2, 5, 12, generator=gen).to(value_dtype)
    mask = length_mask([5, 3], [12, 8], 5, 12, torch.bool)
    path = backend(value, mask)
    assert torch.equal(path.cpu(), oracle_path(value.float(), [5, 3], [12, 8]))


def test_text_longer_than_mel_raises(backend):
    value = torch.randn(1, 6, 4)
    with pytest.raises(ValueError, match=r"batch item 0: t_x=6 .*t_y=4"):
        backend(value, torch.ones(1, 6, 4))
    # Only the second item is bad: the error names it and both of its lengths.
    value = torch.randn(3, 8, 10)
    mask = length_mask([3, 8, 2], [10, 7, 2], 8, 10, torch.bool)
    with pytest.raises(ValueError, match=r"batch item 1: t_x=8 .*t_y=7"):
        backend(value, mask)


def test_empty_item_raises(backend):
    mask = length_mask([3, 0], [5, 0], 3, 5, torch.bool)
    with pytest.raises(ValueError, match=r"batch item 1: t_x=0"):
        backend(torch.randn(2, 3, 5), mask)


def test_bad_shapes_raise(backend):
    with pytest.raises(ValueError, match="same shape"):
        backend(torch.randn(1, 3, 5), torch.ones(1, 3, 6))
    with pytest.raises(ValueError, match="3-D"):
        backend(torch.randn(3, 5), torch.ones(3, 5))


def test_torch_matches_cython_on_large_batch():
    """Bit-identical float32 arithmetic: same path on a realistic size, random and tied scores."""
    gen = torch.Generator().manual_seed(7)
    t_x = [100, 63, 1, 100, 80, 12, 50, 99]
    t_y = [600, 300, 77, 100, 599, 12, 400, 512]
    mask = length_mask(t_x, t_y, 100, 600, torch.bool)
    for value in (
        torch.randn(8, 100, 600, generator=gen) * 10,
        torch.zeros(8, 100, 600),  # all ties
        torch.randint(-2, 3, (8, 100, 600), generator=gen).float(),  # many ties
    ):
        assert torch.equal(maximum_path_torch(value, mask), maximum_path_cython(value, mask))


@pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)
def test_cuda_backends_match_cython_on_large_batch():
    gen = torch.Generator().manual_seed(8)
    t_x = [100, 63, 1, 100]
    t_y = [600, 300, 77, 100]
    mask = length_mask(t_x, t_y, 100, 600, torch.bool)
    value = torch.randn(4, 100, 600, generator=gen) * 10
    want = maximum_path_cython(value, mask)
    assert torch.equal(maximum_path_torch(value.cuda(), mask.cuda()).cpu(), want)
    assert torch.equal(maximum_path(value.cuda(), mask.cuda()).cpu(), want)
