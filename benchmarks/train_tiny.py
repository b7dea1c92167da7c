"""Benchmark: train configs/aligner/tiny.yaml on the demo corpus for a wall-clock budget.

    python benchmarks/train_tiny.py [--n 960] [--speakers 8] [--corpus DIR] [--minutes 10] [--processes 1]
                                    [--json OUT] [-- --key value ...]   (extra flags for aligner/train.py)

Builds the demo corpus first when the corpus folder (default outputs/benchmarks/demo-n{N}-s{SPEAKERS})
has no metadata.csv (``python -m aligner.demo.corpus --n N --speakers SPEAKERS``), then runs
``aligner/train.py`` with ``--max_train_minutes`` (one process, or several through ``accelerate launch
--multi_gpu``, gloo on a CPU-only machine) and prints steps/s, wall time, the held-out PER curve, the
training time to reach each PER of PER_TARGETS (as fine as the config's eval_steps) and the peak
resident memory of the training processes (summed over them). Timings depend on what else runs on
the machine (--json records it: date, CPU, cores, load, versions).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
from common import ROOT, WORK, tree_rss, write_json

PER_TARGETS = (0.5, 0.3, 0.2, 0.15, 0.1)


def train_command(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The command line that trains tiny.yaml under the benchmark's settings."""
    launcher = [sys.executable, str(ROOT / "aligner" / "train.py")]
    if args.processes > 1:
        launcher = [
            sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
            str(args.processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            str(ROOT / "aligner" / "train.py"),
        ]  # fmt: skip
    return [
        *launcher,
        str(ROOT / "configs" / "aligner" / "tiny.yaml"),
        "--corpus", str(args.corpus),
        "--output_dir", str(args.output_dir),
        "--max_train_minutes", str(args.minutes),
        "--resume_from_checkpoint", "null",  # a fresh run each time, whatever an earlier one left there
        *extra,
    ]  # fmt: skip


def run_measured(command: list[str]) -> tuple[int, float, float]:
    """Run ``command``; returns (exit status, wall seconds, peak RSS in MiB summed over its process tree)."""
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT)
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(root))
        time.sleep(0.5)
    return process.returncode, time.monotonic() - start, peak / 2**20


def time_to_per(curve: list[dict]) -> list[dict]:
    """For each PER of PER_TARGETS, the first evaluation at or below it (step, training seconds), else None."""
    reached = []
    for target in PER_TARGETS:
        point = next((p for p in curve if p["per"] <= target), None)
        reached.append({"per": target, "step": point and point["step"], "seconds": point and point["seconds"]})
    return reached


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=960, help="utterances of the demo corpus to build")
    parser.add_argument("--speakers", type=int, default=8, help="speakers of the demo corpus to build")
    parser.add_argument("--corpus", type=Path, help="corpus folder (built with --n/--speakers if absent)")
    parser.add_argument("--output_dir", type=Path, default=WORK / "train_tiny")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget (wall clock, evaluation excluded)")
    parser.add_argument("--processes", type=int, default=1, help="training processes")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    args.corpus = args.corpus or WORK / f"demo-n{args.n}-s{args.speakers}"

    if not (args.corpus / "metadata.csv").exists():
        build = [sys.executable, "-m", "aligner.demo.corpus", "--out", str(args.corpus), "--n", str(args.n),
                 "--speakers", str(args.speakers), "--quiet"]  # fmt: skip
        print("building the demo corpus:", " ".join(build), flush=True)
        subprocess.run(build, check=True, cwd=ROOT)
    command = train_command(args, extra)
    print("running:", " ".join(command), flush=True)
    status, wall, peak_mib = run_measured(command)
    if status != 0:
        print(f"training failed with exit status {status}", file=sys.stderr)
        return status

    results = json.loads((args.output_dir / "train_results.json").read_text())
    figures = {
        "train_command": " ".join(command),
        "corpus": str(args.corpus),
        "processes": args.processes,
        "budget_minutes": args.minutes,
        "wall_seconds": round(wall, 1),
        "train_seconds": round(results["train_seconds"], 1),
        "steps": results["steps"],
        "steps_per_second": round(results["steps_per_second"], 3),
        "total_batch_size": results["total_batch_size"],
        "epochs": round(results["epochs"], 2),
        "train_utterances": results["train_utterances"],
        "train_hours": round(results["train_hours"], 3),
        "eval_utterances": results["eval_utterances"],
        "final_per": results["final_per"],
        "per_curve": [{k: p[k] for k in ("step", "seconds", "per")} for p in results["per_curve"]],
        "time_to_per": time_to_per(results["per_curve"]),
        "peak_rss_mib": round(peak_mib),
    }
    f = figures
    print(
        f"\ntiny.yaml on {args.corpus}: {f['train_utterances']} train utterances ({f['train_hours']:.2f} h), "
        f"{f['eval_utterances']} held out, {args.processes} process(es)"
    )
    print(
        f"steps {f['steps']} in {f['train_seconds']:.0f} s of training ({f['steps_per_second']:.2f} steps/s, "
        f"batch {f['total_batch_size']}, {f['epochs']:.1f} epochs); wall time {f['wall_seconds']:.0f} s "
        "including data preparation and evaluation"
    )
    print(f"peak RSS {figures['peak_rss_mib']} MiB")
    print("held-out PER curve:")
    for point in figures["per_curve"]:
        print(f"  step {point['step']:6d}  {point['seconds'] / 60:5.1f} min  PER {100 * point['per']:6.2f} %")
    print(f"final held-out PER: {100 * figures['final_per']:.2f} %")
    print("training time to reach a held-out PER:")
    for point in figures["time_to_per"]:
        when = f"step {point['step']:6d}  {point['seconds'] / 60:5.1f} min" if point["step"] else "not reached"
        print(f"  PER <= {100 * point['per']:4.0f} %: {when}")
    if args.json:
        write_json(args.json, "train_tiny", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
