"""GPU check: mixed-precision training steps, extraction on the GPU, GPU MAS against CPU MAS.

    python benchmarks/gpu_check.py [--device cuda] [--n 64] [--steps 20] [--precisions bf16 fp16]
                                   [--work outputs/gpu_check] [--json OUT]

scripts/gpu_check.sh runs it on a CUDA machine (a few minutes on one GPU). In order:

  corpus      the demo corpus of --n utterances with its mels, in WORK/corpus
  training    --steps steps of configs/aligner/tiny.yaml per precision of --precisions (aligner/train.py
              --mixed_precision P --report_to none); checks: exit status 0, the precision the run logs is
              the one aligner.training.loop resolves for the device (bf16/fp16 on CUDA, no on the CPU), finite
              held-out loss; figures: steps/s
  extraction  python -m matcha.utils.extract_durations --device DEVICE with the first precision's
              checkpoint; checks: exit status 0, one file per utterance; figures: wall time and the CLI's
              speed line; then the stage split of benchmarks/extract_stages.py on the same device
  MAS         benchmarks/mas.py on random padded batches; check: every backend's paths (torch kernel
              on CUDA, super-monotonic-align if installed) equal the Cython paths; figures: throughput

Prints the figures and writes them to --json (default WORK/gpu_check.json); exit status 1 when a check
fails. --device cpu runs the same on the CPU (no mixed precision, no CUDA MAS): a dry run of the script.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import extract_stages
import mas
import torch
from common import ROOT, demo_corpus, tiny_checkpoint, write_json

from aligner.corpus import read_metadata
from aligner.training.loop import resolve_mixed_precision


def run_logged(command: list[str], log: Path) -> tuple[int, float, str]:
    """Run ``command`` with its output in ``log``; returns (exit status, wall seconds, the output)."""
    print("running:", " ".join(command), flush=True)
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        status = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT).returncode
    output = log.read_text(encoding="utf-8", errors="replace")
    if status != 0:
        print(output[-3000:], file=sys.stderr)
    return status, time.monotonic() - start, output


def train(corpus: Path, output_dir: Path, steps: int, precision: str, device: torch.device) -> dict:
    """A few training steps of tiny.yaml under ``precision``, checked and timed."""
    command = [
        sys.executable, str(ROOT / "aligner" / "train.py"), str(ROOT / "configs" / "aligner" / "tiny.yaml"),
        "--corpus", str(corpus), "--output_dir", str(output_dir), "--max_steps", str(steps),
        "--mixed_precision", precision, "--report_to", "none", "--eval_steps", "0", "--save_steps", "0",
    ]  # fmt: skip
    if device.type == "cpu":
        command += ["--num_proc", "1"]
    output_dir.mkdir(parents=True, exist_ok=True)
    status, wall, output = run_logged(command, output_dir.parent / f"train-{precision}.log")
    logged = re.search(r"mixed precision (\w+)", output)
    expected = resolve_mixed_precision(precision, device)
    figures = {"requested": precision, "expected": expected, "logged": logged and logged.group(1)}
    figures["wall_seconds"] = round(wall, 1)
    results = json.loads((output_dir / "train_results.json").read_text()) if status == 0 else {}
    if results:
        figures |= {
            "steps": results["steps"],
            "train_seconds": round(results["train_seconds"], 2),
            "steps_per_second": round(results["steps_per_second"], 2),
            "batch_size": results["total_batch_size"],
            "final_eval_loss": results["final_eval_loss"],
        }
    figures["checks"] = {
        "exit_status_0": status == 0,
        "precision_as_resolved": figures["logged"] == expected,
        "finite_eval_loss": bool(results) and math.isfinite(results["final_eval_loss"]),
    }
    return figures


def extract(corpus: Path, checkpoint: Path, out_dir: Path, device: torch.device, n: int) -> dict:
    """The extraction CLI on ``device`` over the corpus, checked and timed."""
    command = [
        sys.executable, "-m", "matcha.utils.extract_durations", "--corpus", str(corpus), "--checkpoint",
        str(checkpoint), "--device", str(device), "--overwrite", "--out-dir", str(out_dir),
    ]  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    status, wall, output = run_logged(command, out_dir.parent / "extract.log")
    written = sum(1 for _ in out_dir.rglob("*.pt"))
    speed = next((line.strip() for line in output.splitlines() if line.startswith("speed")), "")
    return {
        "wall_seconds": round(wall, 1),
        "written": written,
        "cli_speed": speed,
        "checks": {"exit_status_0": status == 0, "every_utterance_written": written == n},
    }


def failed_checks(figures: dict) -> list[str]:
    """Names of the checks that failed, as ``part.check``."""
    sections = [(part, section) for part, section in figures.items() if isinstance(section, dict)]
    return [f"{part}.{name}" for part, section in sections for name, ok in section.get("checks", {}).items() if not ok]


def summary(figures: dict) -> str:
    """Throughput figures, one line each."""
    lines = []
    for key, run in figures.items():
        if key.startswith("training") and "steps_per_second" in run:
            lines.append(
                f"training ({run['logged']}): {run['steps_per_second']:.2f} steps/s at batch {run['batch_size']}, "
                f"held-out loss {run['final_eval_loss']:.3f}"
            )
    cli = figures["extraction"]
    lines.append(f"extraction CLI: {cli['wall_seconds']:.1f} s wall; {cli['cli_speed']}")
    lines.append(extract_stages.format_figures(figures["extraction_stages"]))
    lines.append(mas.format_figures(figures["mas"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:1, ...; cpu for a dry run")
    parser.add_argument("--n", type=int, default=64, help="utterances of the demo corpus (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per precision (default: %(default)s)")
    parser.add_argument(
        "--precisions", nargs="+", default=["bf16", "fp16"], help="--mixed_precision values to train with"
    )
    parser.add_argument("--mas-batches", type=int, default=8, help="MAS batches of 16 matrices (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=ROOT / "outputs" / "gpu_check", help="corpus, models, logs")
    parser.add_argument("--json", type=Path, help="where the figures go (default: WORK/gpu_check.json)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "error: torch.cuda.is_available() is False: no GPU to check (--device cpu for a dry run)", file=sys.stderr
        )
        return 2

    start = time.monotonic()
    corpus = demo_corpus(args.n, 8, args.work / "corpus")
    n = len(read_metadata(corpus))
    figures: dict = {"device": str(device), "corpus": str(corpus), "utterances": n}
    for precision in args.precisions:
        figures[f"training_{precision}"] = train(
            corpus, args.work / f"aligner-{precision}", args.steps, precision, device
        )
    checkpoint = args.work / f"aligner-{args.precisions[0]}"
    if not (checkpoint / "model.safetensors").is_file():
        print(f"{checkpoint} was not saved: extraction runs with tiny.yaml's model untrained", file=sys.stderr)
        checkpoint = tiny_checkpoint(corpus, args.work / "aligner-untrained")
    figures["extraction"] = extract(corpus, checkpoint, args.work / "durations", device, n)
    figures["extraction_stages"] = {"label": f"gpu_check ({device})"} | extract_stages.measure(
        corpus, checkpoint, device, batch_size=8, method="acoustic", limit=0
    )
    figures["mas"] = mas.measure(device, args.mas_batches, 16, 200, 800, seed=0)
    figures["mas"]["checks"] = {"paths_equal_cython": mas.all_agree(figures["mas"])}
    figures["failed_checks"] = failed_checks(figures)
    figures["seconds"] = round(time.monotonic() - start, 1)

    print(summary(figures))
    write_json(args.json or args.work / "gpu_check.json", "gpu_check", figures)
    if figures["failed_checks"]:
        print("FAILED checks:", ", ".join(figures["failed_checks"]), file=sys.stderr)
        return 1
    print(f"all checks passed in {figures['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
