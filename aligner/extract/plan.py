"""What an extraction run has to do: one job per utterance (its tokens, mel frame count and grid, wav and
output path), the utterances it skips as failed summary rows; a missing mel or an unknown symbol stops it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aligner.audio import AudioError, wav_frames
from aligner.corpus import Corpus, MetadataError, Utterance
from aligner.extract.summary import SUMMARY_NAME, failed_row, metadata_row, read_rows, tokens_digest
from aligner.text import intersperse
from aligner.text.frontend import TextFrontend
from aligner.tokens import UNKNOWN_SYMBOL, TokenError, Tokens, tokenise

FORMATS = ("pt", "npy", "upstream-npy")
UNUSABLE_MEL = "unusable mel"
MEL_HINT = (
    "compute the corpus's mels with your Matcha's own script (a fork's precompute_corpus), or, without a Matcha, "
    "python -m aligner.mels --corpus {corpus}"
)


class ExtractionError(RuntimeError):
    """A problem that stops the whole run (missing mel, unknown symbol, output folder not writable)."""


class UtteranceError(ValueError):
    """A problem with one utterance's mel: it is skipped and counted (``cause``: ``UNUSABLE_MEL``)."""

    cause = UNUSABLE_MEL


@dataclass(frozen=True)
class Job:
    """One utterance to align."""

    rel_path: str
    text: str
    language: str
    ipa: str  # the front end's token string, one token per character
    token_ids: list[int]  # ids in aligner.text.symbols, blank-interspersed when add_blank
    n_frames: int
    centred: bool  # the mel has samples // hop + 1 frames (center=True), not floor(samples / hop)
    wav: Path
    out: Path


@dataclass(frozen=True)
class Plan:
    """What a run has to do: ``jobs`` (longest first), how many outputs already exist (kept), how many exist
    but are redone because the utterance's tokens changed since (``changed``: an edited text, another front
    end), and the summary rows of the utterances skipped while planning."""

    jobs: list[Job]
    existing: int
    failed: list[dict]
    changed: int = 0


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


def plan_job(
    corpus: Corpus, tokens: Tokens, out: Path, add_blank: bool, overwrite: bool, recorded: str | None = None
) -> Job | None:
    """The job of one utterance, None when its output exists and was aligned from the same tokens (``recorded``:
    the ``tokens_digest`` of its summary row, None when unknown); ``ExtractionError`` on a missing mel (the run
    stops), ``UtteranceError``/``AudioError`` on a problem that skips it."""
    utterance = tokens.utterance
    mel = corpus.mel(utterance.rel_path)
    if mel is not None and not mel.is_file():
        hint = MEL_HINT.format(corpus=corpus.root)
        raise ExtractionError(f"utterance {utterance.rel_path}: mel {mel} is missing; {hint}")
    token_ids = intersperse(tokens.ids) if add_blank else tokens.ids
    if out.exists() and not overwrite and recorded in (None, tokens_digest(token_ids)):
        return None
    samples = wav_frames(utterance.wav, corpus.sample_rate, corpus.rate_source())
    if mel is None:  # the Matcha computes its mels in its loader, as upstream's: center=False
        n_frames, centred = samples // corpus.hop_length, False
    else:
        n_frames = mel_frames(mel)
        centred = mel_grid(samples, utterance.wav, mel, n_frames, corpus.hop_length)
    return Job(
        utterance.rel_path, utterance.text, utterance.language, tokens.ipa, token_ids, n_frames, centred,
        utterance.wav, out,
    )  # fmt: skip


def plan_jobs(
    corpus: Corpus, frontend: TextFrontend, out_dir: Path | None, add_blank: bool, fmt: str, overwrite: bool
) -> Plan:
    """Read the corpus and decide what to do; stops (``ExtractionError``) on a missing mel, an unknown
    symbol or two utterances sharing an output, naming them; any other problem skips the utterance. An
    existing output is kept unless ``overwrite`` or the tokens its summary row records are not the
    utterance's any more."""
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    failed = [metadata_row(problem) for problem in problems]
    summary = (out_dir or corpus.durations_dir) / SUMMARY_NAME
    recorded = (
        {row["rel_path"]: row.get("tokens_digest") or None for row in read_rows(summary)} if summary.is_file() else {}
    )
    jobs, existing, changed, outputs = [], 0, 0, {}
    for tokens in tokenise(utterances, frontend):
        if isinstance(tokens, TokenError):
            if tokens.cause == UNKNOWN_SYMBOL:
                raise ExtractionError(f"utterance {tokens.utterance.rel_path}: {tokens}")
            failed.append(failed_row(tokens.utterance.rel_path, str(tokens), tokens.cause))
            continue
        utterance = tokens.utterance
        out = output_path(corpus, utterance, fmt, out_dir)
        if out in outputs:
            raise ExtractionError(
                f"utterance {utterance.rel_path}: writes {out} like {outputs[out]} (--format upstream-npy keeps only "
                "the wav stem)"
            )
        outputs[out] = utterance.rel_path
        try:
            job = plan_job(corpus, tokens, out, add_blank, overwrite, recorded.get(utterance.rel_path))
        except (UtteranceError, AudioError) as error:
            failed.append(failed_row(utterance.rel_path, str(error), error.cause))
            continue
        if job is None:
            existing += 1
        else:
            jobs.append(job)
            changed += out.exists() and not overwrite
    return Plan(sorted(jobs, key=lambda job: -job.n_frames), existing, failed, changed)
