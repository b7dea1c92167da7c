"""Extract phoneme durations for Matcha-TTS training with a Wav2Vec2 CTC aligner.

    python -m matcha.utils.extract_durations --corpus CORPUS [--device cuda]
    accelerate launch -m matcha.utils.extract_durations --corpus CORPUS    (corpus split between processes)

For every utterance of CORPUS/metadata.csv (format: ``python -m matcha.utils.precompute_corpus --help``):
the text becomes Matcha tokens (espeak IPA, blanks interspersed as Matcha's add_blank); the wav,
at 16 kHz, becomes CTC log-posteriors (batched, sorted by length); their score matrix, one row per
token (blanks scored by the CTC blank), is aligned by monotonic alignment search on the mel grid
(hop 256 at 24 kHz; the frame count is read from CORPUS/mels/{rel_path}.npy); the durations are
checked (one per token, each >= 1, sum = mel frames) and written atomically to
CORPUS/durations/{rel_path}.pt, where Matcha loads them with load_durations: True.

Stops, naming the utterance: a missing mel, an unknown IPA symbol. Every other failure (unreadable
wav, audio too short for its tokens, ...) is reported by name and counted, and the exit status is 1
when anything failed. Existing outputs are skipped unless --overwrite, so a killed run resumes.
Beside the durations, alignment_summary.csv scores every utterance (mean log-posterior along the
path, share of tokens squeezed to one frame, longest token); the least confident utterances are
listed at the end: their text may not match their audio.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import PartialState
from tqdm import tqdm

from aligner.align import METHODS, Alignment, AlignmentError
from aligner.backends import ASRCNNAligner, Wav2Vec2Aligner
from aligner.posteriors import DEFAULT_CHECKPOINT, CheckpointError
from aligner.textgrid import write_textgrid
from aligner.timing import frame_seconds
from matcha.text import UnknownSymbolError, intersperse, phonemes_to_ids, symbols, to_phonemes_multilingual
from matcha.utils.ASR.align import ATTENTION_ROWS
from matcha.utils.ASR.checkpoint import DEFAULT_CHECKPOINT as ASR_DEFAULT_CHECKPOINT
from matcha.utils.ASR.checkpoint import DEFAULT_CONFIG as ASR_DEFAULT_CONFIG
from matcha.utils.ASR.checkpoint import ASRCheckpointError
from matcha.utils.audio import AudioError
from matcha.utils.durations import DurationError, atomic_write, save_durations, save_npy, validate_durations
from matcha.utils.precompute_corpus import MetadataError, mel_path, read_metadata, wav_path

SUMMARY_NAME = "alignment_summary.csv"
SUMMARY_FIELDS = (
    "rel_path",
    "status",
    "tokens",
    "frames",
    "mean_log_prob",
    "min_share",
    "longest_frames",
    "longest_symbol",
    "message",
)


class ExtractionError(RuntimeError):
    """A problem that stops the whole run (missing mel, unknown symbol, bad checkpoint)."""


@dataclass(frozen=True)
class Job:
    """One utterance to align."""

    rel_path: str
    ipa: str
    token_ids: list[int]
    n_frames: int
    wav: Path
    out: Path


def output_path(out_dir: Path, rel_path: str, fmt: str) -> Path:
    """``out_dir/{rel_path}.pt``, or upstream Matcha's ``out_dir/<wav stem>.npy`` for ``npy``."""
    return out_dir / f"{rel_path}.pt" if fmt == "pt" else out_dir / f"{Path(rel_path).name}.npy"


def plan_jobs(corpus: Path, out_dir: Path, add_blank: bool, fmt: str, overwrite: bool) -> tuple[list[Job], int]:
    """Jobs still to do (longest first) and how many outputs already exist; stops on a missing mel or
    an unknown symbol, naming the utterance."""
    utterances = read_metadata(corpus)
    ipas = to_phonemes_multilingual([u.text for u in utterances], [u.language for u in utterances])
    jobs, existing, outputs = [], 0, {}
    for utterance, ipa in zip(utterances, ipas, strict=True):
        where = f"utterance {utterance.rel_path}"
        try:
            ids = phonemes_to_ids(ipa, utterance.text)
        except UnknownSymbolError as error:
            raise ExtractionError(f"{where}: {error}") from error
        mel = mel_path(corpus, utterance.rel_path)
        if not mel.is_file():
            raise ExtractionError(
                f"{where}: mel {mel} is missing; run python -m matcha.utils.precompute_corpus --corpus {corpus}"
            )
        out = output_path(out_dir, utterance.rel_path, fmt)
        if out in outputs:
            raise ExtractionError(f"{where}: writes {out} like {outputs[out]} (--format npy keeps only the wav stem)")
        outputs[out] = utterance.rel_path
        if out.exists() and not overwrite:
            existing += 1
            continue
        n_frames = int(np.load(mel, mmap_mode="r").shape[1])
        token_ids = intersperse(ids) if add_blank else ids
        jobs.append(Job(utterance.rel_path, ipa, token_ids, n_frames, wav_path(corpus, utterance.rel_path), out))
    return sorted(jobs, key=lambda job: -job.n_frames), existing


def write_durations(job: Job, durations: torch.Tensor, fmt: str) -> None:
    """Check the contract, then write ``job.out`` atomically (int64 .pt, or upstream's .npy)."""
    checked = validate_durations(durations, len(job.token_ids), job.n_frames, name=job.rel_path)
    if fmt == "pt":
        save_durations(job.out, checked)
    else:
        save_npy(job.out, checked.numpy())


def summary_row(job: Job, alignment: Alignment | None, message: str = "") -> dict:
    """One line of alignment_summary.csv."""
    row = {"rel_path": job.rel_path, "tokens": len(job.token_ids), "frames": job.n_frames, "message": message}
    if alignment is None:
        return row | {"status": "failed"}
    durations = alignment.durations
    longest = int(durations.argmax())
    return row | {
        "status": "ok",
        "mean_log_prob": f"{alignment.mean_log_prob:.4f}",
        "min_share": f"{alignment.min_share:.4f}",
        "longest_frames": int(durations[longest]),
        "longest_symbol": symbols[job.token_ids[longest]],
    }


class StageTimer:
    """Wall time spent per stage."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - start
        return now


def make_aligner(args: argparse.Namespace, device: torch.device) -> Wav2Vec2Aligner | ASRCNNAligner:
    """The backend the options ask for."""
    if args.aligner == "asrcnn":
        checkpoint = args.checkpoint or ASR_DEFAULT_CHECKPOINT
        return ASRCNNAligner(checkpoint, args.asr_config, device, args.add_blank, args.asr_attention_rows)
    return Wav2Vec2Aligner(args.checkpoint or DEFAULT_CHECKPOINT, device, args.method, args.offset_ms)


def run_jobs(
    jobs: list[Job], aligner: Wav2Vec2Aligner | ASRCNNAligner, args: argparse.Namespace, show_progress: bool
) -> tuple[list[dict], StageTimer]:
    """Align ``jobs`` in batches and write their outputs; returns summary rows and stage timings."""
    seconds = frame_seconds()
    rows, timer = [], StageTimer()
    bar = tqdm(total=len(jobs), desc="durations", unit="utt", disable=not show_progress)
    for first in range(0, len(jobs), args.batch_size):
        batch, audios = [], []
        start = time.perf_counter()
        for job in jobs[first : first + args.batch_size]:
            try:
                audios.append(aligner.read_audio(job.wav))
                batch.append(job)
            except AudioError as error:
                rows.append(summary_row(job, None, str(error)))
        start = timer.add("audio", start)
        if batch:
            results = aligner.align(audios, [j.token_ids for j in batch], [j.n_frames for j in batch])
            start = timer.add("align", start)
            for job, result in zip(batch, results, strict=True):
                if isinstance(result, AlignmentError):
                    rows.append(summary_row(job, None, str(result)))
                    continue
                try:
                    write_durations(job, result.durations, args.format)
                except DurationError as error:
                    rows.append(summary_row(job, None, str(error)))
                    continue
                if args.textgrid:
                    grid = args.corpus / "textgrids" / f"{job.rel_path}.TextGrid"
                    write_textgrid(grid, job.ipa, result.durations.numpy(), seconds)
                rows.append(summary_row(job, result))
            timer.add("write", start)
        bar.update(len(jobs[first : first + args.batch_size]))
    bar.close()
    return rows, timer


def merge_summary(path: Path, parts: list[Path]) -> list[dict]:
    """Fold this run's part files into ``path`` (rows of earlier runs kept unless redone)."""
    rows: dict[str, dict] = {}
    for source in ([path] if path.exists() else []) + parts:
        with open(source, newline="", encoding="utf-8") as handle:
            rows.update({row["rel_path"]: row for row in csv.DictReader(handle)})
    write_summary(path, [rows[key] for key in sorted(rows)])
    for part in parts:
        part.unlink()
    return list(rows.values())


def write_summary(path: Path, rows: list[dict]) -> None:
    """Summary rows as CSV, written atomically (a process's part file, or the merged summary)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, lambda tmp: Path(tmp).write_text(buffer.getvalue(), encoding="utf-8"))


def report(
    rows: list[dict], this_run: set[str], existing: int, out_dir: Path, timer: StageTimer, audio_seconds: float
) -> str:
    """The closing lines: counts, failures, suspicious utterances, speed."""
    done = [r for r in rows if r["rel_path"] in this_run]
    failed = [r for r in done if r["status"] != "ok"]
    lines = [
        f"durations in {out_dir}: {len(done) - len(failed)} written, {existing} already there, {len(failed)} failed"
    ]
    lines += [f"  failed {r['rel_path']}: {r['message']}" for r in failed[:50]]
    scored = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: float(r["mean_log_prob"]))
    if scored:
        lines.append(f"least confident utterances (check their text against the audio; all in {SUMMARY_NAME}):")
        lines += [
            f"  {r['rel_path']:<14} mean log-posterior {float(r['mean_log_prob']):7.3f}  "
            f"one-frame tokens {100 * float(r['min_share']):5.1f}%  "
            f"longest {r['longest_frames']} frames ({r['longest_symbol']!r})"
            for r in scored[:10]
        ]
    total = sum(timer.seconds.values())
    if total and audio_seconds:
        split = ", ".join(f"{stage} {secs:.1f} s" for stage, secs in timer.seconds.items())
        lines.append(
            f"speed (this process): {len(done) / total:.1f} utt/s, "
            f"real-time factor {total / audio_seconds:.4f} ({split})"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m matcha.utils.extract_durations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder (metadata.csv, wavs/, mels/)")
    parser.add_argument(
        "--device", default="cuda", help="cuda (default; falls back to the CPU when absent), cpu, cuda:1, ..."
    )
    parser.add_argument(
        "--aligner",
        choices=["wav2vec2", "asrcnn"],
        default="wav2vec2",
        help="wav2vec2: our CTC aligner (default); asrcnn: StyleTTS2's ASR aligner, the baseline",
    )
    parser.add_argument(
        "--checkpoint",
        help=f"trained aligner; wav2vec2: folder or hub id (default: {DEFAULT_CHECKPOINT}, where "
        f"configs/aligner/tiny.yaml trains); asrcnn: .pth file (default: {ASR_DEFAULT_CHECKPOINT})",
    )
    parser.add_argument(
        "--asr-config", default=ASR_DEFAULT_CONFIG, help="asrcnn: its config.yml (default: %(default)s)"
    )
    parser.add_argument(
        "--asr-attention-rows",
        choices=ATTENTION_ROWS,
        default="styletts2",
        help="asrcnn: styletts2 = the decoder steps StyleTTS2 keeps (default); predicting = the steps that "
        "predict each token (see matcha/utils/ASR/align.py)",
    )
    parser.add_argument("--out-dir", type=Path, help="where durations go (default: CORPUS/durations)")
    parser.add_argument(
        "--add-blank",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="intersperse blanks as Matcha's add_blank (default: on)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo utterances whose output exists (default: skip them)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per model call (default: 8)")
    parser.add_argument(
        "--textgrid", action="store_true", help="also write Praat TextGrids to CORPUS/textgrids/ (phones, words)"
    )
    parser.add_argument(
        "--format",
        choices=["pt", "npy"],
        default="pt",
        help="pt: durations/{rel_path}.pt (default); npy: upstream Matcha's durations/<wav stem>.npy",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="mel",
        help="mel: MAS on the mel grid (default); ctc: MAS on 20 ms frames, then to the grid; "
        "forced_align: the plain CTC baseline",
    )
    parser.add_argument(
        "--offset-ms",
        type=float,
        help="wav2vec2: time of the centre of the first CTC frame (default: the checkpoint's calibrated "
        "value in alignment.json, written by python -m aligner.calibrate, else 12.5 ms)",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def pick_device(requested: str, state: PartialState) -> torch.device:
    """The device to run on; CUDA requested but absent falls back to the CPU (said once)."""
    if requested.startswith("cuda") and not torch.cuda.is_available():
        if state.is_main_process:
            print("CUDA is not available: running on the CPU", file=sys.stderr)
        return torch.device("cpu")
    if requested == "cuda" and state.device.type == "cuda":
        return state.device  # one GPU per process under accelerate launch
    return torch.device(requested)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = parse_args(argv)
    state = PartialState()
    out_dir = args.out_dir or args.corpus / "durations"
    try:
        jobs, existing = plan_jobs(args.corpus, out_dir, args.add_blank, args.format, args.overwrite)
        aligner = make_aligner(args, pick_device(args.device, state))
        for job in jobs:
            try:
                aligner.check(job.token_ids)
            except UnknownSymbolError as error:
                raise ExtractionError(f"utterance {job.rel_path}: {error}") from error
        mine = jobs[state.process_index :: state.num_processes]
        rows, timer = run_jobs(mine, aligner, args, state.is_main_process)
    except (ExtractionError, MetadataError, CheckpointError, ASRCheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    part = out_dir / f".{SUMMARY_NAME}.part{state.process_index}"
    write_summary(part, rows)
    state.wait_for_everyone()
    if not state.is_main_process:
        return 0
    merged = merge_summary(
        out_dir / SUMMARY_NAME, [out_dir / f".{SUMMARY_NAME}.part{i}" for i in range(state.num_processes)]
    )
    audio_seconds = sum(job.n_frames for job in mine) * frame_seconds()
    print(report(merged, {job.rel_path for job in jobs}, existing, out_dir, timer, audio_seconds))
    failed = sum(1 for row in merged if row["rel_path"] in {job.rel_path for job in jobs} and row["status"] != "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
