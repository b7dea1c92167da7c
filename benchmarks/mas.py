"""Benchmark: monotonic alignment search (MAS) throughput per backend, with exact agreement of the paths.

    python benchmarks/mas.py [--batches 8] [--batch-size 16] [--max-tokens 200] [--max-frames 800]
                             [--device cuda] [--seed 0] [--json OUT]

Random padded batches of score matrices (per item: tokens uniform in [max_tokens/4, max_tokens], frames
uniform in [max(tokens, max_frames/4), max_frames]; standard normal scores) go through every backend of
aligner.search.monotonic_align that this machine has:

  cython        maximum_path_cython on the CPU: the reference (what maximum_path runs on CPU tensors)
  torch-cpu     maximum_path_torch on the CPU
  torch-cuda    maximum_path_torch on --device (what maximum_path runs on CUDA without super-monotonic-align)
  sma           maximum_path_sma on --device, when super_monotonic_align is installed

Every backend's path must equal the Cython path exactly, batch by batch; a difference stops the run
(exit status 1). Throughput: matrices/s and millions of (token, frame) cells/s, transfers and one
untimed warm-up call excluded. Without CUDA, torch-cuda and sma are skipped (said so in the output).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from common import RESULTS, write_json

from aligner.search.monotonic_align import maximum_path_cython, maximum_path_sma, maximum_path_torch, sma_available

Batch = tuple[torch.Tensor, torch.Tensor]


def random_batches(n: int, size: int, max_tokens: int, max_frames: int, seed: int) -> list[Batch]:
    """``n`` padded (scores, mask) batches of ``size`` items on the CPU, reproducible from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n):
        tokens = torch.randint(max(1, max_tokens // 4), max_tokens + 1, (size,), generator=generator)
        frames = [
            int(torch.randint(max(int(t), max_frames // 4), max_frames + 1, (1,), generator=generator)) for t in tokens
        ]
        scores = torch.randn(size, max_tokens, max_frames, generator=generator)
        mask = torch.zeros(size, max_tokens, max_frames, dtype=torch.bool)
        for row, (t, f) in enumerate(zip(tokens.tolist(), frames, strict=True)):
            mask[row, :t, :f] = True
        batches.append((scores, mask))
    return batches


def backends(device: torch.device) -> tuple[dict[str, tuple[Callable, torch.device]], list[str]]:
    """The backends to time (name -> (function, device)) and notes on the ones skipped."""
    cpu = torch.device("cpu")
    chosen = {"cython": (maximum_path_cython, cpu), "torch-cpu": (maximum_path_torch, cpu)}
    notes = []
    if device.type == "cuda" and torch.cuda.is_available():
        chosen["torch-cuda"] = (maximum_path_torch, device)
        if sma_available():
            chosen["sma"] = (maximum_path_sma, device)
        else:
            notes.append("sma skipped: super_monotonic_align is not installed")
    else:
        notes.append("torch-cuda and sma skipped: no CUDA device (--device cuda on a GPU machine)")
    return chosen, notes


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing to do on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_backend(function: Callable, device: torch.device, batches: list[Batch]) -> tuple[float, list[torch.Tensor]]:
    """Seconds ``function`` takes over all ``batches`` (already on ``device``), and its paths on the CPU."""
    on_device = [(scores.to(device), mask.to(device)) for scores, mask in batches]
    function(*on_device[0])
    synchronize(device)
    seconds, paths = 0.0, []
    for scores, mask in on_device:
        start = time.perf_counter()
        path = function(scores, mask)
        synchronize(device)
        seconds += time.perf_counter() - start
        paths.append(path.cpu())
    return seconds, paths


def measure(device: torch.device, n: int, size: int, max_tokens: int, max_frames: int, seed: int) -> dict:
    """Throughput of every available backend and whether its paths equal the Cython paths."""
    batches = random_batches(n, size, max_tokens, max_frames, seed)
    cells = sum(int(mask[:, :, 0].sum(1).mul(mask[:, 0, :].sum(1)).sum()) for _, mask in batches)
    chosen, notes = backends(device)
    results, reference = {}, None
    for name, (function, where) in chosen.items():
        seconds, paths = time_backend(function, where, batches)
        if reference is None:
            reference = paths
        results[name] = {
            "device": str(where),
            "seconds": round(seconds, 4),
            "matrices_per_s": round(n * size / seconds, 1),
            "mcells_per_s": round(cells / seconds / 1e6, 2),
            "agrees_with_cython": all(torch.equal(a, b) for a, b in zip(paths, reference, strict=True)),
        }
    for row in results.values():
        row["speedup_vs_cython"] = round(results["cython"]["seconds"] / row["seconds"], 2)
    return {
        "batches": n,
        "batch_size": size,
        "max_tokens": max_tokens,
        "max_frames": max_frames,
        "seed": seed,
        "cells": cells,
        "backends": results,
        "notes": notes,
    }


def format_figures(figures: dict) -> str:
    """The table the script prints."""
    lines = [
        f"{figures['batches']} batches of {figures['batch_size']} random matrices, up to {figures['max_tokens']} "
        f"tokens x {figures['max_frames']} frames ({figures['cells'] / 1e6:.1f} M cells in all)",
        f"{'backend':<12}{'device':<9}{'seconds':>9}{'matrices/s':>12}{'Mcells/s':>10}{'vs cython':>11}  paths",
    ]
    for name, row in figures["backends"].items():
        lines.append(
            f"{name:<12}{row['device']:<9}{row['seconds']:>9.3f}{row['matrices_per_s']:>12.1f}"
            f"{row['mcells_per_s']:>10.2f}{row['speedup_vs_cython']:>10.2f}x  "
            + ("equal to cython" if row["agrees_with_cython"] else "DIFFER FROM CYTHON")
        )
    lines += figures["notes"]
    return "\n".join(lines)


def all_agree(figures: dict) -> bool:
    """Whether every backend gave exactly the Cython paths."""
    return all(row["agrees_with_cython"] for row in figures["backends"].values())


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 1 when a backend's paths differ from the Cython ones."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=8, help="batches per backend (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="matrices per batch (default: %(default)s)")
    parser.add_argument("--max-tokens", type=int, default=200, help="longest text axis (default: %(default)s)")
    parser.add_argument("--max-frames", type=int, default=800, help="longest mel axis (default: %(default)s)")
    parser.add_argument("--device", default="cuda", help="GPU for the CUDA backends (default: cuda, when present)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the matrices (default: %(default)s)")
    parser.add_argument("--json", type=Path, help=f"write the figures here (e.g. {RESULTS}/mas.json)")
    args = parser.parse_args(argv)
    if args.max_tokens > args.max_frames:
        parser.error("--max-tokens must not exceed --max-frames (MAS needs tokens <= frames)")
    figures = measure(
        torch.device(args.device), args.batches, args.batch_size, args.max_tokens, args.max_frames, args.seed
    )
    print(format_figures(figures))
    if args.json:
        write_json(args.json, "mas", figures)
    if not all_agree(figures):
        print("error: a backend's paths differ from the Cython paths", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
