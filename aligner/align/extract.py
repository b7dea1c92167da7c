"""The duration extraction run behind ``python -m matcha.utils.extract_durations`` (its --help says what it does).

Plans the jobs from the corpus (``plan_jobs``: bad utterances become failed summary rows, a missing mel or an
unknown symbol stops the run), aligns them in batches with one of ``aligner.align.backends``, writes the
checked durations atomically, journals each process's summary rows (``Journal``) and merges them into
alignment_summary.csv; ``recover`` cleans up after a killed run; ``run`` is the whole run.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import PartialState
from tqdm import tqdm

from aligner.align.backends import ASRCNNAligner, Wav2Vec2Aligner
from aligner.align.methods import Alignment, AlignmentError
from aligner.align.posteriors import DEFAULT_CHECKPOINT, CheckpointError
from aligner.align.textgrid import write_textgrid
from aligner.asrcnn.checkpoint import DEFAULT_CHECKPOINT as ASR_DEFAULT_CHECKPOINT
from aligner.asrcnn.checkpoint import ASRCheckpointError
from aligner.audio import AudioError, wav_frames
from aligner.corpus import Corpus, CorpusError, MetadataError, Utterance
from aligner.durations import (
    DurationError,
    atomic_write,
    remove_temporaries,
    save_durations,
    save_npy,
    validate_durations,
)
from aligner.processes import process_state
from aligner.text import (
    PhonemizationError,
    UnknownSymbolError,
    intersperse,
    is_phone_symbol,
    phonemes_to_ids,
    symbols,
)
from aligner.text.frontend import BUILTIN, FrontendError, TextFrontend, resolve_frontend
from aligner.text.phonemize import unknown_languages

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
# Summary key of a filelist line without a usable rel_path: its file's name and line number (metadata.csv:12)
LINE_KEY = re.compile(r".+\.csv:\d+")
FORMATS = ("pt", "npy", "upstream-npy")
MEL_HINT = (
    "compute the corpus's mels with your Matcha's own script (a fork's precompute_corpus), or, without a Matcha, "
    "python -m aligner.mels --corpus {corpus}"
)


class ExtractionError(RuntimeError):
    """A problem that stops the whole run (missing mel, unknown symbol, output folder not writable)."""


class UtteranceError(ValueError):
    """A problem with one utterance's files: it is skipped and counted."""


@dataclass(frozen=True)
class Job:
    """One utterance to align."""

    rel_path: str
    ipa: str  # the front end's token string, one token per character
    token_ids: list[int]  # ids in aligner.text.symbols, blank-interspersed when add_blank
    n_frames: int
    centred: bool  # the mel has samples // hop + 1 frames (center=True), not floor(samples / hop)
    wav: Path
    out: Path


@dataclass(frozen=True)
class Plan:
    """What a run has to do: ``jobs`` (longest first), how many outputs already exist, and the
    summary rows of the utterances skipped while planning."""

    jobs: list[Job]
    existing: int
    failed: list[dict]


def output_path(corpus: Corpus, utterance: Utterance, fmt: str, out_dir: Path | None) -> Path:
    """Where an utterance's durations go (default out_dir: CORPUS/durations, beside the filelists).
    ``pt``: ``out_dir/{rel_path}.pt``. ``npy``: ``out_dir/{rel_path}.npy``, where a Matcha fork's loader
    reads them (``<filelist's folder>/durations/{rel_path}.npy``). ``upstream-npy``: where upstream
    Matcha's ``get_durations`` reads them, ``<wav's grandparent>/durations/<wav stem>.npy``
    (CORPUS/wavs/0/0001.wav -> CORPUS/wavs/durations/0001.npy), or ``out_dir/<wav stem>.npy`` when given."""
    if fmt in ("pt", "npy"):
        return (out_dir or corpus.durations_dir) / f"{utterance.rel_path}.{fmt}"
    wav = utterance.wav
    return (out_dir or wav.parent.parent / "durations") / f"{wav.stem}.npy"


def textgrid_path(corpus: Corpus, job: Job) -> Path:
    """Where an utterance's TextGrid goes: ``CORPUS/textgrids/{rel_path}.TextGrid``, or for upstream's
    filelists beside its durations, ``<wav's grandparent>/textgrids/<wav stem>.TextGrid``."""
    if corpus.upstream_layout:
        return job.wav.parent.parent / "textgrids" / f"{job.wav.stem}.TextGrid"
    return corpus.root / "textgrids" / f"{job.rel_path}.TextGrid"


def failed_row(key: str, message: str, tokens: int | str = "", frames: int | str = "") -> dict:
    """A failed line of alignment_summary.csv (``key``: a rel_path, or ``FILELIST.csv:LINE``, e.g. train.csv:12)."""
    return {"rel_path": key, "status": "failed", "tokens": tokens, "frames": frames, "message": message}


def metadata_row(error: MetadataError) -> dict:
    """The failed row of a metadata.csv line, keyed by its rel_path where usable."""
    return failed_row(error.rel_path or f"{error.filelist}:{error.line}", str(error))


def mel_frames(path: Path) -> int:
    """Frame count T of a mel, which must be a finite [bands, T] array (any band count and normalisation:
    the aligner reads nothing else of it); ``UtteranceError`` otherwise. The mel is never changed."""
    try:
        mel = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UtteranceError(f"cannot read the mel {path} ({error}); check the script that wrote it") from error
    if mel.ndim != 2:
        raise UtteranceError(f"mel {path} has shape {mel.shape}, not bands x frames; check the script that wrote it")
    if not np.isfinite(mel).all():
        raise UtteranceError(
            f"mel {path} holds NaN or infinite values, which Matcha cannot train on either; check its wav and the "
            "script that wrote it"
        )
    return int(mel.shape[1])


def mel_grid(samples: int, wav: Path, mel: Path, n_frames: int, hop: int) -> bool:
    """Whether the mel is centred (center=True: samples // hop + 1 frames, frame f centred at f * hop) rather
    than upstream's floor(samples / hop) frames; the wav's sample count must give one of those two frame
    counts (``UtteranceError``)."""
    if n_frames in (samples // hop, samples // hop + 1):
        return n_frames == samples // hop + 1
    raise UtteranceError(
        f"mel {mel} has {n_frames} frames but wav {wav} has {samples} samples, which give floor({samples} / {hop}) "
        f"= {samples // hop} (center=False) or {samples // hop + 1} (center=True) frames at hop {hop}: the mel is "
        "not of this wav, or of another hop length (give the Matcha's data YAML with --data-config)"
    )


def plan_job(corpus: Corpus, utterance: Utterance, ipa: str, out: Path, add_blank: bool, overwrite: bool) -> Job | None:
    """The job of one utterance, None when its output exists; ``ExtractionError`` on a missing mel or a
    symbol the aligner does not know (the run stops), ``UtteranceError``/``AudioError`` on a problem that
    skips it."""
    where = f"utterance {utterance.rel_path}"
    try:
        ids = phonemes_to_ids(ipa, utterance.text)
    except UnknownSymbolError as error:
        raise ExtractionError(f"{where}: {error}; add it to aligner/text/symbols.py and retrain") from error
    if not any(is_phone_symbol(symbol) for symbol in ipa):
        raise UtteranceError(f"text {utterance.text!r} gives no phonemes (tokens {ipa!r})")
    mel = corpus.mel(utterance.rel_path)
    if mel is not None and not mel.is_file():
        raise ExtractionError(f"{where}: mel {mel} is missing; {MEL_HINT.format(corpus=corpus.root)}")
    if out.exists() and not overwrite:
        return None
    samples = wav_frames(utterance.wav, corpus.sample_rate, corpus.rate_source())
    if mel is None:  # the Matcha computes its mels in its loader, as upstream's: center=False
        n_frames, centred = samples // corpus.hop_length, False
    else:
        n_frames = mel_frames(mel)
        centred = mel_grid(samples, utterance.wav, mel, n_frames, corpus.hop_length)
    token_ids = intersperse(ids) if add_blank else ids
    return Job(utterance.rel_path, ipa, token_ids, n_frames, centred, utterance.wav, out)


def plan_jobs(
    corpus: Corpus, frontend: TextFrontend, out_dir: Path | None, add_blank: bool, fmt: str, overwrite: bool
) -> Plan:
    """Read the corpus and decide what to do; stops (``ExtractionError``) on a missing mel, an unknown
    symbol or two utterances sharing an output, naming them; any other problem skips the utterance."""
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    failed = [metadata_row(problem) for problem in problems]
    unknown = unknown_languages(u.language for u in utterances) if frontend.name == BUILTIN else {}
    failed += [failed_row(u.rel_path, unknown[u.language]) for u in utterances if u.language in unknown]
    known = [u for u in utterances if u.language not in unknown]
    ipas = frontend.tokens_batch([u.text for u in known], [u.language for u in known])
    jobs, existing, outputs = [], 0, {}
    for utterance, ipa in zip(known, ipas, strict=True):
        if isinstance(ipa, PhonemizationError):
            failed.append(failed_row(utterance.rel_path, f"text {utterance.text!r}: {ipa}"))
            continue
        out = output_path(corpus, utterance, fmt, out_dir)
        if out in outputs:
            where = f"utterance {utterance.rel_path}"
            raise ExtractionError(
                f"{where}: writes {out} like {outputs[out]} (--format upstream-npy keeps only the wav stem)"
            )
        outputs[out] = utterance.rel_path
        try:
            job = plan_job(corpus, utterance, ipa, out, add_blank, overwrite)
        except (UtteranceError, AudioError) as error:
            failed.append(failed_row(utterance.rel_path, str(error)))
            continue
        if job is None:
            existing += 1
        else:
            jobs.append(job)
    return Plan(sorted(jobs, key=lambda job: -job.n_frames), existing, failed)


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


def summary_row(job: Job, alignment: Alignment | None, message: str = "") -> dict:
    """One line of alignment_summary.csv."""
    if alignment is None:
        return failed_row(job.rel_path, message, len(job.token_ids), job.n_frames)
    durations = alignment.durations
    longest = int(durations.argmax())
    return {
        "rel_path": job.rel_path,
        "status": "ok",
        "tokens": len(job.token_ids),
        "frames": job.n_frames,
        "mean_log_prob": f"{alignment.mean_log_prob:.4f}",
        "min_share": f"{alignment.min_share:.4f}",
        "longest_frames": int(durations[longest]),
        "longest_symbol": symbols[job.token_ids[longest]],
        "message": message,
    }


class Journal:
    """A process's summary rows, appended to its part file as they come, so a killed run keeps them."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.handle, fieldnames=SUMMARY_FIELDS)
        self.writer.writeheader()

    def add(self, row: dict) -> None:
        """Append one row and flush it to the file."""
        self.writer.writerow(row)
        self.handle.flush()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.handle.close()


def part_path(out_dir: Path, process_index: int) -> Path:
    """The journal of one process."""
    return out_dir / f".{SUMMARY_NAME}.part{process_index}"


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
    job: Job, result: Alignment | AlignmentError, args: argparse.Namespace, fmt: str, corpus: Corpus, journal: Journal
) -> None:
    """Journal one alignment, then write its files; a failure is only journaled.

    The row goes first: a run killed between the two has no file for it, so a rerun redoes it.
    """
    if isinstance(result, AlignmentError):
        journal.add(summary_row(job, None, str(result)))
        return
    try:
        durations = validate_durations(result.durations, len(job.token_ids), job.n_frames, name=job.rel_path)
    except DurationError as error:
        journal.add(summary_row(job, None, str(error)))
        return
    journal.add(summary_row(job, result))
    if args.textgrid:
        write_textgrid(textgrid_path(corpus, job), job.ipa, durations.numpy(), corpus.frame_seconds, job.centred)
    save_output(job, durations, fmt)


def run_jobs(
    jobs: list[Job],
    aligner: Wav2Vec2Aligner | ASRCNNAligner,
    args: argparse.Namespace,
    fmt: str,
    corpus: Corpus,
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
                journal.add(summary_row(job, None, str(error)))
        start = timer.add("read audio", start)
        if batch:
            ids, frames, centred = [j.token_ids for j in batch], [j.n_frames for j in batch], [j.centred for j in batch]
            results = aligner.align(audios, ids, frames, centred)
            start = timer.add("align", start)
            for job, result in zip(batch, results, strict=True):
                record_result(job, result, args, fmt, corpus, journal)
            timer.add("write", start)
        bar.update(len(chunk))
    bar.close()
    return timer


def read_rows(path: Path) -> list[dict]:
    """The rows of a summary or journal; a last line cut short by a killed process is left out."""
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1].decode("utf-8")
    return list(csv.DictReader(io.StringIO(complete, newline="")))


def merge_summary(path: Path, parts: list[Path]) -> list[dict]:
    """Fold journals into the summary ``path`` and delete them; rows of earlier runs are kept unless
    redone, except those of metadata.csv lines, which every run reports afresh."""
    earlier = read_rows(path) if path.exists() else []
    rows = {row["rel_path"]: row for row in earlier if not LINE_KEY.fullmatch(row["rel_path"])}
    for part in parts:
        rows.update({row["rel_path"]: row for row in read_rows(part)})
    write_summary(path, [rows[key] for key in sorted(rows)])
    for part in parts:
        part.unlink()
    return list(rows.values())


def write_summary(path: Path, rows: list[dict]) -> None:
    """Summary rows as CSV, written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, lambda tmp: Path(tmp).write_text(buffer.getvalue(), encoding="utf-8"))


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
        timer = run_jobs(mine, aligner, args, fmt, corpus, journal, state.is_main_process)
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
