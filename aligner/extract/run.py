"""The duration extraction run behind ``python -m matcha.utils.extract_durations`` (its --help says what it does).

Plans the jobs (``aligner.extract.plan``), aligns them in batches with one of ``aligner.extract.backends``,
writes the checked durations atomically, journals each process's summary rows and merges them into
alignment_summary.csv (``aligner.extract.summary``); ``recover`` cleans up after a killed run; ``run`` is the
whole run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from accelerate import PartialState
from tqdm import tqdm

from aligner.asrcnn.checkpoint import DEFAULT_CHECKPOINT as ASR_DEFAULT_CHECKPOINT
from aligner.asrcnn.checkpoint import ASRCheckpointError
from aligner.audio import AudioError
from aligner.corpus import Corpus, CorpusError, MetadataError
from aligner.ctc.posteriors import DEFAULT_CHECKPOINT, CheckpointError
from aligner.durations import (
    DurationError,
    remove_temporaries,
    save_durations,
    save_npy,
    validate_durations,
)
from aligner.extract.backends import ASRCNNAligner, Wav2Vec2Aligner
from aligner.extract.plan import ExtractionError, Job, plan_jobs, textgrid_path
from aligner.extract.summary import (
    SUMMARY_NAME,
    Journal,
    failed_row,
    merge_summary,
    most_suspect_first,
    part_path,
    tokens_digest,
)
from aligner.extract.textgrid import write_textgrid
from aligner.processes import process_state
from aligner.search.mas import Alignment, AlignmentError
from aligner.search.transcript import SUSPECT_THRESHOLD, TranscriptCheck
from aligner.text import (
    UnknownSymbolError,
    symbols,
)
from aligner.text.frontend import FrontendError, TextFrontend, resolve_frontend
from aligner.words import words_of


def check_symbols(jobs: list[Job], aligner: Wav2Vec2Aligner | ASRCNNAligner) -> None:
    """Stop, naming the utterance, on a token the aligner's checkpoint has no symbol for."""
    for job in jobs:
        try:
            aligner.check(job.token_ids)
        except UnknownSymbolError as error:
            raise ExtractionError(f"utterance {job.rel_path}: {error}") from error


def warn_other_frontend(aligner: Wav2Vec2Aligner | ASRCNNAligner, frontend: TextFrontend) -> None:
    """Say so when the Wav2Vec2 checkpoint learnt the tokens of another kind of front end than this run's
    (the kind: the name without the folder it was imported from, so a moved or cloned fork is the same)."""
    if not isinstance(aligner, Wav2Vec2Aligner):
        return
    trained = getattr(aligner.model.config, "text_frontend", None)
    if trained and trained.split(" (")[0] != frontend.name.split(" (")[0]:
        print(
            f"warning: the checkpoint learnt the tokens of the text front end {trained!r}; this run uses "
            f"{frontend.name!r}, and its duration files have one entry per token of that one: if your Matcha reads "
            "its texts with the other, they will not fit it. Run from your Matcha fork's root (where `import "
            "matcha.text` finds its front end), or give --text-frontend",
            file=sys.stderr,
        )


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write a temporary file into it; ``ExtractionError`` naming it when that fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ExtractionError(f"output folder {folder} is not writable ({error})") from error


def save_output(job: Job, durations: torch.Tensor, fmt: str) -> None:
    """Write checked durations to ``job.out`` atomically (int64 .pt, or upstream's .npy)."""
    if fmt == "pt":
        save_durations(job.out, durations)
    else:
        save_npy(job.out, durations.numpy())  # int64, read back with np.load(...).astype(int)


def suspect_columns(job: Job, check: TranscriptCheck | None, frontend: TextFrontend) -> dict:
    """The transcript check's columns of a summary row (empty without one): score, the text's suspect word
    (``+WORD`` for a gap after WORD, ``+`` alone before the first word) and its span; a score of 0 (no place
    costs anything) names none."""
    if check is None:
        return {}
    if check.word is None:
        return {"transcript_score": f"{check.score:.2f}"}
    word = words_of(job.text, job.ipa, frontend, job.language, check.word)
    return {
        "transcript_score": f"{check.score:.2f}",
        "suspect_word": f"+{word}" if check.gap else word,
        "suspect_start": f"{check.start:.3f}",
        "suspect_end": f"{check.end:.3f}",
    }


def summary_row(
    job: Job, alignment: Alignment | AlignmentError | DurationError | AudioError, frontend: TextFrontend
) -> dict:
    """One line of alignment_summary.csv: an alignment's, or a failed one naming the error and its cause."""
    if not isinstance(alignment, Alignment):
        return failed_row(job.rel_path, str(alignment), alignment.cause, len(job.token_ids), job.n_frames)
    durations = alignment.durations
    longest = int(durations.argmax())
    return suspect_columns(job, alignment.transcript, frontend) | {
        "rel_path": job.rel_path,
        "status": "ok",
        "tokens": len(job.token_ids),
        "tokens_digest": tokens_digest(job.token_ids),
        "frames": job.n_frames,
        "mean_log_prob": f"{alignment.mean_log_prob:.4f}",
        "min_share": f"{alignment.min_share:.4f}",
        "longest_frames": int(durations[longest]),
        "longest_symbol": symbols[job.token_ids[longest]],
    }


SUSPECTS_LISTED = 10  # the run's closing lines name this many suspects (or least confident) at the most


class StageTimer:
    """Wall time spent per stage."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - start
        return now


def make_aligner(
    args: argparse.Namespace, device: torch.device, corpus: Corpus, add_blank: bool
) -> Wav2Vec2Aligner | ASRCNNAligner:
    """The backend the options ask for, on the corpus's mel grid (its rate and hop)."""
    rate, hop = corpus.sample_rate, corpus.hop_length
    if args.aligner == "asrcnn":
        checkpoint = args.checkpoint or ASR_DEFAULT_CHECKPOINT
        return ASRCNNAligner(
            checkpoint, args.asr_config, device, rate, hop, add_blank, args.asr_attention_rows, args.annotation_marks
        )
    checkpoint = args.checkpoint or DEFAULT_CHECKPOINT
    return Wav2Vec2Aligner(checkpoint, device, rate, hop, args.method, args.offset_ms, args.annotation_marks)


def record_result(
    job: Job,
    result: Alignment | AlignmentError,
    args: argparse.Namespace,
    fmt: str,
    corpus: Corpus,
    frontend: TextFrontend,
    journal: Journal,
) -> None:
    """Journal one alignment, then write its files; a failure is only journaled.

    The row goes first: a run killed between the two has no file for it, so a rerun redoes it.
    """
    if isinstance(result, AlignmentError):
        journal.add(summary_row(job, result, frontend))
        return
    try:
        durations = validate_durations(result.durations, len(job.token_ids), job.n_frames, name=job.rel_path)
    except DurationError as error:
        journal.add(summary_row(job, error, frontend))
        return
    journal.add(summary_row(job, result, frontend))
    if args.textgrid:
        write_textgrid(textgrid_path(corpus, job), job.ipa, durations.numpy(), corpus.frame_seconds, job.centred)
    save_output(job, durations, fmt)


def run_jobs(
    jobs: list[Job],
    aligner: Wav2Vec2Aligner | ASRCNNAligner,
    args: argparse.Namespace,
    fmt: str,
    corpus: Corpus,
    frontend: TextFrontend,
    journal: Journal,
    show_progress: bool,
) -> StageTimer:
    """Align ``jobs`` in batches, journal their summary rows and write their outputs; returns stage timings."""
    timer = StageTimer()
    bar = tqdm(total=len(jobs), desc="durations", unit="utt", disable=not show_progress)
    for first in range(0, len(jobs), args.batch_size):
        chunk = jobs[first : first + args.batch_size]
        batch, audios = [], []
        start = time.perf_counter()
        for job in chunk:
            try:
                audios.append(aligner.read_audio(job.wav))
                batch.append(job)
            except AudioError as error:
                journal.add(summary_row(job, error, frontend))
        start = timer.add("read audio", start)
        if batch:
            ids, frames, centred = [j.token_ids for j in batch], [j.n_frames for j in batch], [j.centred for j in batch]
            results = aligner.align(audios, ids, frames, centred)
            start = timer.add("align", start)
            for job, result in zip(batch, results, strict=True):
                record_result(job, result, args, fmt, corpus, frontend, journal)
            timer.add("write", start)
        bar.update(len(chunk))
    bar.close()
    return timer


def recover(out_dir: Path, folders: list[Path]) -> None:
    """Clean up after a killed run: fold its journals into the summary, delete its temporary files."""
    journals = sorted(out_dir.glob(f".{SUMMARY_NAME}.part*"))
    if journals:
        merge_summary(out_dir / SUMMARY_NAME, journals)
    removed = [path for folder in folders for path in remove_temporaries(folder)]
    if journals or removed:
        print(
            f"resuming a killed run: {len(journals)} journal(s) kept, {len(removed)} temporary file(s) removed",
            file=sys.stderr,
        )


def report(
    rows: list[dict], this_run: set[str], existing: int, where: str, timer: StageTimer, audio_seconds: float
) -> str:
    """The closing lines: counts (of the duration files in ``where``), failures, suspicious utterances, speed."""
    done = [r for r in rows if r["rel_path"] in this_run]
    failed = [r for r in done if r["status"] != "ok"]
    lines = [f"durations in {where}: {len(done) - len(failed)} written, {existing} already there, {len(failed)} failed"]
    lines += [f"  failed {r['rel_path']}: {r['message']}" for r in failed[:50]]
    ordered = most_suspect_first(rows)
    checked = [r for r in ordered if r.get("transcript_score")]
    suspects = [r for r in checked if float(r["transcript_score"]) > SUSPECT_THRESHOLD]
    if checked:
        shown = f"; the first {SUSPECTS_LISTED} here" if len(suspects) > SUSPECTS_LISTED else ""
        lines.append(
            f"transcript check: {len(suspects)} of {len(checked)} utterances above {SUSPECT_THRESHOLD:g} nats (listen "
            f"to the suspect word; all in {SUMMARY_NAME}, by transcript_score{shown}; fix a text, then rerun: "
            "utterances whose text changed are redone)"
        )
        lines += [
            f"  {r['rel_path']:<14} score {float(r['transcript_score']):7.1f}  {r['suspect_word']!r} at "
            f"{float(r['suspect_start']):.2f}-{float(r['suspect_end']):.2f} s"
            for r in suspects[:SUSPECTS_LISTED]
        ]
    if ordered and not checked:
        lines.append(f"least confident utterances (check their text against the audio; all in {SUMMARY_NAME}):")
        lines += [
            f"  {r['rel_path']:<14} mean log-posterior {float(r['mean_log_prob']):7.3f}  "
            f"one-frame tokens {100 * float(r['min_share']):5.1f}%  "
            f"longest {r['longest_frames']} frames ({r['longest_symbol']!r})"
            for r in ordered[:SUSPECTS_LISTED]
        ]
    total = sum(timer.seconds.values())
    if total and audio_seconds:
        split = ", ".join(f"{stage} {secs:.1f} s" for stage, secs in timer.seconds.items())
        lines.append(
            f"speed (this process): {len(done) / total:.1f} utt/s, "
            f"real-time factor {total / audio_seconds:.4f} (seconds of work per second of audio; {split})"
        )
    return "\n".join(lines)


def grid_line(corpus: Corpus) -> str:
    """The run's mel grid, said once: rate, hop, frame length and where the frame counts come from."""
    frames = (
        f"the mels in {corpus.mel_dir}"
        if corpus.mel_dir is not None
        else ("floor(samples / hop), as upstream Matcha's loader computes its mels (the corpus has no mel files)")
    )
    return (
        f"mel grid: {corpus.sample_rate} Hz ({corpus.rate_source()}), hop {corpus.hop_length} "
        f"= {1000 * corpus.frame_seconds:.2f} ms a frame; frame counts: {frames}"
    )


def pick_device(requested: str, state: PartialState) -> torch.device:
    """The device to run on; CUDA requested but absent falls back to the CPU (said once)."""
    if requested.startswith("cuda") and not torch.cuda.is_available():
        if state.is_main_process:
            print("CUDA is not available: running on the CPU", file=sys.stderr)
        return torch.device("cpu")
    if requested == "cuda" and state.device.type == "cuda":
        return state.device  # one GPU per process under accelerate launch
    return torch.device(requested)


def run(args: argparse.Namespace) -> int:
    """One extraction run over ``args`` (the options of ``python -m matcha.utils.extract_durations``); returns
    the exit status."""
    state = process_state()
    try:
        corpus = Corpus.open(args.corpus, args.data_config, args.language)
        corpus.check_rates()
        add_blank = corpus.add_blank if args.add_blank is None else args.add_blank
        fmt = args.format or ("upstream-npy" if corpus.upstream_layout else "pt")
        frontend = resolve_frontend(args.text_frontend)
        if state.is_main_process:
            print(f"text front end: {frontend.name}", file=sys.stderr)
            print(grid_line(corpus), file=sys.stderr)
        out_dir = args.out_dir or corpus.durations_dir  # the summary's folder, and the .pt files'
        plan = plan_jobs(corpus, frontend, args.out_dir, add_blank, fmt, args.overwrite)
        if plan.changed and state.is_main_process:
            print(
                f"{plan.changed} utterance(s) redone: their tokens changed since their durations were written "
                "(an edited text, or another text front end)",
                file=sys.stderr,
            )
        folders = sorted({out_dir, *(job.out.parent for job in plan.jobs)})
        folders += sorted({textgrid_path(corpus, job).parent for job in plan.jobs}) if args.textgrid else []
        aligner = make_aligner(args, pick_device(args.device, state), corpus, add_blank)
        if state.is_main_process:
            warn_other_frontend(aligner, frontend)
        check_symbols(plan.jobs, aligner)
        for folder in folders:
            check_writable(folder)
    except (ExtractionError, CorpusError, MetadataError, CheckpointError, ASRCheckpointError, FrontendError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if state.is_main_process:
        recover(out_dir, folders)
    state.wait_for_everyone()
    mine = plan.jobs[state.process_index :: state.num_processes]
    if state.num_processes > 1:
        print(f"process {state.process_index} of {state.num_processes}: {len(mine)} utterances", file=sys.stderr)
    with Journal(part_path(out_dir, state.process_index)) as journal:
        for row in plan.failed if state.is_main_process else []:
            journal.add(row)
        timer = run_jobs(mine, aligner, args, fmt, corpus, frontend, journal, state.is_main_process)
    state.wait_for_everyone()
    if not state.is_main_process:
        return 0
    merged = merge_summary(out_dir / SUMMARY_NAME, [part_path(out_dir, i) for i in range(state.num_processes)])
    this_run = {job.rel_path for job in plan.jobs} | {row["rel_path"] for row in plan.failed}
    audio_seconds = sum(job.n_frames for job in mine) * corpus.frame_seconds
    where = str(out_dir)
    if fmt == "upstream-npy":  # the files lie beside the wavs, the summary in out_dir
        where = ", ".join(sorted({str(job.out.parent) for job in plan.jobs}) or [where]) + f" (summary in {out_dir})"
    print(report(merged, this_run, plan.existing, where, timer, audio_seconds))
    return 1 if any(row["status"] != "ok" for row in merged if row["rel_path"] in this_run) else 0
