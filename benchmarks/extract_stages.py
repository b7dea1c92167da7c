"""Benchmark: duration extraction speed, split by stage, calling the library functions directly.

    python benchmarks/extract_stages.py [--n 3000] [--speakers 8] [--corpus DIR] [--limit 480] [--checkpoint DIR]
                                        [--device cpu] [--batch-size 8] [--method acoustic] [--label NAME] [--json OUT]

The corpus (default: the demo corpus of --n utterances in outputs/benchmarks/, built with its mels on
first use; benchmarks/memory.py uses the same one) is planned as the extraction CLI plans it
(aligner.extract.plan.plan_jobs: longest first); --limit utterances spread evenly over those
lengths are aligned in batches of --batch-size, each stage timed on its own:

  audio       wav -> 16 kHz normalised samples        Wav2Vec2Aligner.read_audio (and the 24 kHz wav)
  forward     Wav2Vec2 CTC log-posteriors             Wav2Vec2Aligner.posteriors
  features    acoustic features (--method acoustic)   Wav2Vec2Aligner.features
  scores+MAS  score matrix, mel grid, MAS, durations  Wav2Vec2Aligner.durations
  write       contract check, atomic .pt write        validate_durations, save_durations (into a temporary
                                                      folder in outputs/benchmarks/, removed afterwards)

One untimed warm-up batch (the shortest utterances) runs first. On CUDA every stage ends with a
synchronisation. Prints seconds, share, utt/s and real-time factor (seconds per second of audio) per
stage and in total. The default checkpoint is tiny.yaml's model untrained, with an acoustic stage fitted
in one round: it runs as fast as the trained one. --label names the run (e.g. before / after a
speed-up): every extract_stages*.json in benchmarks/results/ becomes one row of the table there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from common import RESULTS, WORK, demo_corpus, tiny_checkpoint, write_json

from aligner.audio import AudioError
from aligner.corpus import Corpus, select
from aligner.durations import save_durations, validate_durations
from aligner.extract.backends import Wav2Vec2Aligner
from aligner.extract.methods import METHODS
from aligner.extract.plan import Job, plan_jobs
from aligner.search.mas import AlignmentError
from aligner.text.frontend import builtin_frontend

STAGES = ("audio", "forward", "features", "scores+MAS", "write")


def run_batch(aligner: Wav2Vec2Aligner, batch: list[Job], out_dir: Path, seconds: Counter | None) -> int:
    """Align and write one batch, adding each stage's wall time to ``seconds``; returns how many of its
    utterances failed (unreadable audio, too short for its tokens)."""
    device = aligner.model.device

    def lap(stage: str, start: float) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        now = time.perf_counter()
        if seconds is not None:
            seconds[stage] += now - start
        return now

    start = time.perf_counter()
    audios, readable = [], []
    for job in batch:
        try:
            audios.append(aligner.read_audio(job.wav))
            readable.append(job)
        except AudioError:
            pass
    start = lap("audio", start)
    failed = len(batch) - len(readable)
    if not readable:
        return failed
    batch = readable
    n_frames, centred = [job.n_frames for job in batch], [job.centred for job in batch]
    log_probs = aligner.posteriors(audios)
    start = lap("forward", start)
    features = aligner.features(audios, n_frames, centred)
    start = lap("features", start)
    results = aligner.durations(log_probs, features, [job.token_ids for job in batch], n_frames, centred)
    start = lap("scores+MAS", start)
    for job, result in zip(batch, results, strict=True):
        if isinstance(result, AlignmentError):
            failed += 1
            continue
        durations = validate_durations(result.durations, len(job.token_ids), job.n_frames, name=job.rel_path)
        save_durations(out_dir / f"{job.rel_path}.pt", durations)
    lap("write", start)
    return failed


def measure(corpus: Path, checkpoint: Path, device: torch.device, batch_size: int, method: str, limit: int) -> dict:
    """Stage timings of one extraction pass over ``limit`` utterances of ``corpus`` (0: all); the
    durations go to a temporary folder beside the benchmarks' other files."""
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="extract-stages-", dir=WORK) as tmp:
        out_dir = Path(tmp)
        opened = Corpus.open(corpus)
        plan = plan_jobs(opened, builtin_frontend(), out_dir, add_blank=True, fmt="pt", overwrite=True)
        jobs = [plan.jobs[i] for i in select(len(plan.jobs), limit)]
        aligner = Wav2Vec2Aligner(checkpoint, device, opened.sample_rate, opened.hop_length, method)
        run_batch(aligner, jobs[-batch_size:], out_dir, None)
        seconds: Counter[str] = Counter()
        failed = sum(
            run_batch(aligner, jobs[first : first + batch_size], out_dir, seconds)
            for first in range(0, len(jobs), batch_size)
        )
    audio_seconds = sum(job.n_frames for job in jobs) * opened.frame_seconds
    total = sum(seconds.values())
    stages = {
        stage: {
            "seconds": round(seconds[stage], 3),
            "share": round(seconds[stage] / total, 4),
            "rtf": round(seconds[stage] / audio_seconds, 5),
            "utt_per_s": round(len(jobs) / seconds[stage], 1) if seconds[stage] else None,
        }
        for stage in STAGES
    }
    return {
        "corpus": str(corpus),
        "checkpoint": str(checkpoint),
        "device": str(device),
        "batch_size": batch_size,
        "method": method,
        "corpus_utterances": len(plan.jobs) + len(plan.failed),
        "utterances": len(jobs),
        "failed": failed,
        "skipped_while_planning": len(plan.failed),
        "audio_seconds": round(audio_seconds, 1),
        "stages": stages,
        "total": {
            "seconds": round(total, 3),
            "rtf": round(total / audio_seconds, 5),
            "utt_per_s": round(len(jobs) / total, 2),
        },
        "slowest_stage": max(STAGES, key=lambda stage: seconds[stage]),
    }


def format_figures(figures: dict) -> str:
    """The table the script prints."""
    lines = [
        f"{figures['utterances']} utterances ({figures['audio_seconds'] / 60:.1f} min of audio) on "
        f"{figures['device']}, batch {figures['batch_size']}, method {figures['method']}, "
        f"{figures['failed']} failed",
        f"{'stage':<12}{'seconds':>9}{'share':>8}{'utt/s':>9}{'RTF':>10}",
    ]
    rows = [*figures["stages"].items(), ("total", figures["total"] | {"share": 1.0})]
    for stage, row in rows:
        utt_per_s = f"{row['utt_per_s']:>9.1f}" if row["utt_per_s"] else f"{'-':>9}"
        lines.append(f"{stage:<12}{row['seconds']:>9.2f}{100 * row['share']:>7.1f}%{utt_per_s}{row['rtf']:>10.5f}")
    lines.append(f"slowest stage: {figures['slowest_stage']}  (RTF: seconds of work per second of audio)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="utterances of the demo corpus (default: %(default)s)")
    parser.add_argument("--speakers", type=int, default=8, help="speakers of the demo corpus (default: %(default)s)")
    parser.add_argument("--corpus", type=Path, help="an existing corpus with mels instead of the demo corpus")
    parser.add_argument(
        "--limit", type=int, default=480, help="utterances to align, spread over the lengths (default: 480, 0: all)"
    )
    parser.add_argument("--checkpoint", type=Path, help="aligner folder (default: tiny.yaml's model, untrained)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per model call (default: %(default)s)")
    parser.add_argument(
        "--method", choices=METHODS, default="acoustic", help="aligner.extract.methods method (default: acoustic)"
    )
    parser.add_argument("--label", default="current", help="name of this run in the results table (default: current)")
    parser.add_argument("--json", type=Path, help=f"write the figures here (e.g. {RESULTS}/extract_stages.json)")
    args = parser.parse_args(argv)
    corpus = args.corpus or demo_corpus(args.n, args.speakers)
    checkpoint = args.checkpoint or tiny_checkpoint(corpus)
    device = torch.device(args.device)
    figures = {"label": args.label} | measure(corpus, checkpoint, device, args.batch_size, args.method, args.limit)
    print(format_figures(figures))
    if args.json:
        write_json(args.json, "extract_stages", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
