"""Benchmark: resident memory (RSS) over a long corpus of the extraction CLI (its peak and its growth) or of
training's data preparation (its peak).

    python benchmarks/memory.py [--stage extraction|training-data] [--n 3000] [--speakers 8] [--corpus DIR]
                                [--checkpoint DIR] [--batch-size 8] [--interval 0.5] [--json OUT]

``--stage extraction`` (the default) runs ``python -m matcha.utils.extract_durations --device cpu --overwrite``
over the corpus (default: the demo corpus of --n utterances in outputs/benchmarks/, built with its mels on
first use, as benchmarks/extract_stages.py uses it) with tiny.yaml's model, untrained unless --checkpoint,
writing into a temporary folder. Every --interval seconds it samples the RSS of the process (and children)
and counts the duration files written. Prints the peak RSS, the RSS once 10 % of the corpus is
written and at 100 %, the growth between the two (a leak shows as growth: utterances come longest
first, so a steady process shrinks or stays flat), the wall time and the CLI's own speed line.

``--stage training-data`` runs ``aligner/train.py configs/aligner/tiny.yaml --max_steps 0 --acoustic_rounds 0``
on the corpus with a fresh data cache in a temporary folder: phonemisation, decoding, filtering and the split
(aligner.training.data), then one evaluation of the untrained model and its save; prints the peak RSS and the
wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from common import RESULTS, ROOT, WORK, demo_corpus, tiny_checkpoint, tree_anonymous, tree_rss, write_json

from aligner.corpus import read_metadata

MIB = 2**20


def sample_run(command: list[str], out_dir: Path, interval: float) -> tuple[int, float, list[dict], str]:
    """Run ``command``, sampling its RSS and the .pt files in ``out_dir``; returns (exit status, wall
    seconds, samples of {seconds, rss_mib, written}, its standard output)."""
    samples = []
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=log)
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            rss, anonymous = tree_rss(watched), tree_anonymous(watched)
            written = sum(1 for _ in out_dir.rglob("*.pt"))
            seconds = round(time.monotonic() - start, 2)
            if rss:
                samples.append(
                    {"seconds": seconds, "rss_mib": rss / MIB, "anonymous_mib": anonymous / MIB, "written": written}
                )
            time.sleep(interval)
        wall = time.monotonic() - start
        log.seek(0)
        return process.returncode, wall, samples, log.read()


def rss_at(samples: list[dict], written: int) -> float:
    """RSS (MiB) of the first sample with at least ``written`` files written (else the last sample)."""
    return next((s["rss_mib"] for s in samples if s["written"] >= written), samples[-1]["rss_mib"])


def summarise(samples: list[dict], total: int) -> dict:
    """Peak, RSS at 10 % and 100 % of ``total`` utterances, growth, and a curve of at most 50 points."""
    at_10, at_100 = rss_at(samples, max(1, total // 10)), rss_at(samples, total)
    kept = sorted(set(range(0, len(samples), max(1, len(samples) // 50))) | {len(samples) - 1})
    return {
        "peak_rss_mib": round(max(s["rss_mib"] for s in samples)),
        "peak_anonymous_mib": round(max(s["anonymous_mib"] for s in samples)),
        "rss_at_10pct_mib": round(at_10),
        "rss_at_100pct_mib": round(at_100),
        "growth_10_to_100pct_mib": round(at_100 - at_10, 1),
        "growth_10_to_100pct": round((at_100 - at_10) / at_10, 4),
        "curve": [
            {"seconds": s["seconds"], "rss_mib": round(s["rss_mib"]), "written": s["written"]}
            for s in (samples[i] for i in kept)
        ],
    }


def training_data(corpus: Path, total: int, args: argparse.Namespace) -> int:
    """The ``--stage training-data`` run (module doc); returns its exit status."""
    with tempfile.TemporaryDirectory(prefix="memory-", dir=WORK) as folder:
        command = [
            sys.executable, str(ROOT / "aligner" / "train.py"), str(ROOT / "configs" / "aligner" / "tiny.yaml"),
            "--corpus", str(corpus), "--output_dir", f"{folder}/run", "--cache_dir", f"{folder}/cache",
            "--max_steps", "0", "--acoustic_rounds", "0", "--report_to", "none", "--resume_from_checkpoint", "null",
        ]  # fmt: skip
        print("running:", " ".join(command), flush=True)
        status, wall, samples, output = sample_run(command, Path(folder), args.interval)
        report = (Path(folder) / "run" / "data_report.json").read_text() if status == 0 else ""
    if status != 0 or not samples:
        print(output[-3000:], f"\ntraining failed with exit status {status}", file=sys.stderr)
        return status or 1
    figures = {
        "stage": "training-data",
        "corpus": str(corpus),
        "utterances": total,
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(max(s["rss_mib"] for s in samples)),
        "peak_anonymous_mib": round(max(s["anonymous_mib"] for s in samples)),
        "data_report": json.loads(report),
    }
    print(
        f"{total} utterances prepared in {wall:.0f} s; peak RSS {figures['peak_rss_mib']} MiB, of it anonymous "
        f"(the process's own, not mapped files) at most {figures['peak_anonymous_mib']} MiB"
    )
    if args.json:
        write_json(args.json, "memory", figures)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="utterances of the demo corpus (default: %(default)s)")
    parser.add_argument("--speakers", type=int, default=8, help="speakers of the demo corpus (default: %(default)s)")
    parser.add_argument("--corpus", type=Path, help="an existing corpus with mels instead of the demo corpus")
    parser.add_argument("--checkpoint", type=Path, help="aligner folder (default: tiny.yaml's model, untrained)")
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per model call (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples (default: %(default)s)")
    parser.add_argument("--json", type=Path, help=f"write the figures here (e.g. {RESULTS}/memory.json)")
    parser.add_argument("--stage", choices=("extraction", "training-data"), default="extraction")
    args = parser.parse_args(argv)
    corpus = args.corpus or demo_corpus(args.n, args.speakers)
    total = len(read_metadata(corpus))
    WORK.mkdir(parents=True, exist_ok=True)
    if args.stage == "training-data":
        return training_data(corpus, total, args)
    checkpoint = args.checkpoint or tiny_checkpoint(corpus)
    with tempfile.TemporaryDirectory(prefix="memory-", dir=WORK) as out_dir:
        command = [
            sys.executable, "-m", "matcha.utils.extract_durations", "--corpus", str(corpus),
            "--checkpoint", str(checkpoint), "--device", "cpu", "--overwrite", "--out-dir", out_dir,
            "--batch-size", str(args.batch_size),
        ]  # fmt: skip
        print("running:", " ".join(command), flush=True)
        status, wall, samples, output = sample_run(command, Path(out_dir), args.interval)
    if status != 0 or not samples:
        print(output[-3000:], f"\nextraction failed with exit status {status}", file=sys.stderr)
        return status or 1
    speed = next((line.strip() for line in output.splitlines() if line.startswith("speed")), "")
    figures = {
        "corpus": str(corpus),
        "checkpoint": str(checkpoint),
        "utterances": total,
        "batch_size": args.batch_size,
        "wall_seconds": round(wall, 1),
        "utt_per_s_wall": round(total / wall, 2),
        "cli_speed": speed,
        **summarise(samples, total),
    }
    f = figures
    print(
        f"{total} utterances in {f['wall_seconds']:.0f} s ({f['utt_per_s_wall']:.1f} utt/s including start-up)\n"
        f"peak RSS {f['peak_rss_mib']} MiB (anonymous at most {f['peak_anonymous_mib']} MiB)\n"
        f"RSS at 10 % of the corpus {f['rss_at_10pct_mib']} MiB, at 100 % "
        f"{f['rss_at_100pct_mib']} MiB: growth {f['growth_10_to_100pct_mib']:+.1f} MiB "
        f"({100 * f['growth_10_to_100pct']:+.1f} %)\nCLI: {speed}"
    )
    if args.json:
        write_json(args.json, "memory", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
