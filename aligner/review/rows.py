"""The rows of the review page's index: one per utterance of the corpus, with its status and cause.

Every line of every filelist is a row, and so is every failed row of the first duration folder's
alignment_summary.csv that no filelist line gives (a malformed line, keyed ``FILELIST.csv:LINE``). A row's
status, from what the files say before any of them is read:

- ``failed``: the extraction skipped it (its summary row, with its cause), or its filelist line is malformed;
- ``missing``: its wav or its duration file (in the first folder) is not there;
- ``ok``: both are there. ``aligner.review.views`` may still turn it ``invalid`` when a file cannot be used
  (an unreadable wav or duration file, durations that do not fit its tokens or its mel).

The confidence is the summary's ``mean_log_prob`` (mean CTC log-posterior along the path: the lower, the
more likely the text does not match the audio); the one-frame share and the longest token come from the
duration file itself (``aligner.review.views``), so they are there whenever the file is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aligner.corpus import Corpus, MetadataError, Utterance
from aligner.extract.summary import SUMMARY_NAME, metadata_row, read_summary, row_cause

STATUSES = ("ok", "failed", "missing", "invalid")
NO_WAV = "no wav"
NO_DURATIONS = "no duration file"


class ReviewError(ValueError):
    """Input the page cannot be written from at all (no corpus, a duration folder that does not exist)."""


@dataclass(frozen=True)
class Folder:
    """One duration folder: ``name`` (its tier's name on the page), ``path``, and its summary rows by rel_path
    (empty when it has no alignment_summary.csv)."""

    name: str
    path: Path
    summary: dict[str, dict]

    def durations(self, utterance: Utterance) -> Path:
        """``{path}/{rel_path}.pt``, where extraction writes an utterance's durations, or ``.npy`` (``--format
        npy``) where only that one is there, or where neither is, the file of upstream Matcha's place
        (``--format upstream-npy``: ``<wav's grandparent>/durations/<wav stem>.npy``) when that exists."""
        pt = self.path / f"{utterance.rel_path}.pt"
        npy = pt.with_suffix(".npy")
        upstream = utterance.wav.parent.parent / "durations" / f"{utterance.wav.stem}.npy"
        if pt.is_file() or not (npy.is_file() or upstream.is_file()):
            return pt
        return npy if npy.is_file() else upstream


@dataclass
class Row:
    """One row of the index. ``utterance`` is None for a filelist line without a usable rel_path;
    ``confidence`` (mean log-posterior), ``one_frame`` (share of tokens holding one frame, 0..1), the
    longest token (``longest_symbol`` held ``longest_frames`` frames) and the transcript check's
    ``transcript_score`` and ``suspect_word`` (``aligner.search.transcript``) are None where unknown."""

    rel_path: str
    speaker: str
    language: str
    text: str
    status: str
    cause: str = ""
    message: str = ""
    utterance: Utterance | None = None
    confidence: float | None = None
    one_frame: float | None = None
    longest_symbol: str | None = None
    longest_frames: int | None = None
    transcript_score: float | None = None
    suspect_word: str | None = None


def open_folders(paths: list[Path], names: list[str] | None = None) -> list[Folder]:
    """The duration folders with their summaries; names default to the folders' own names (with their
    parent's where two are alike). ``ReviewError`` for a folder that does not exist or names that do not fit."""
    if not paths:
        raise ReviewError("no duration folder given")
    if names is not None and len(names) != len(paths):
        raise ReviewError(f"{len(names)} --names for {len(paths)} --durations folders")
    for path in paths:
        if not path.is_dir():
            raise ReviewError(f"{path}: duration folder not found (python -m matcha.utils.extract_durations writes it)")
    if names is None:
        names = [path.name for path in paths]
        if len(set(names)) < len(names):
            names = [f"{path.parent.name}/{path.name}" for path in paths]
    if len(set(names)) < len(names):
        raise ReviewError(f"tier names {names} repeat: give --names")
    folders = []
    for name, path in zip(names, paths, strict=True):
        summary = path / SUMMARY_NAME
        rows = read_summary(summary) if summary.is_file() else []
        folders.append(Folder(name, path, {row["rel_path"]: row for row in rows}))
    return folders


def filelist_row(utterance: Utterance, corpus: Corpus, folder: Folder) -> Row:
    """The row of one filelist line: failed when the summary says so, missing without its wav or durations."""
    row = Row(utterance.rel_path, str(utterance.spk_id), utterance.language, utterance.text, "ok", utterance=utterance)
    summary = folder.summary.get(utterance.rel_path)
    if summary and summary.get("mean_log_prob"):
        row.confidence = float(summary["mean_log_prob"])
    if summary and summary.get("transcript_score"):
        row.transcript_score, row.suspect_word = float(summary["transcript_score"]), summary.get("suspect_word", "")
    if summary and summary["status"] != "ok":
        row.status, row.message = "failed", summary.get("message") or ""
        row.cause = row_cause(summary)
    elif not (wav := utterance.wav).is_file():
        row.status, row.cause, row.message = "missing", NO_WAV, f"{wav} not found"
    elif not (durations := folder.durations(utterance)).is_file():
        said = "alignment_summary.csv says ok" if summary else f"no row in {folder.path / SUMMARY_NAME}"
        row.status, row.cause, row.message = "missing", NO_DURATIONS, f"{durations} not found ({said})"
    return row


def index_rows(corpus: Corpus, folder: Folder) -> list[Row]:
    """Every row of the index in corpus order (module doc): the filelists' utterances, then their malformed
    lines and the first folder's failed summary rows that no filelist line gives. ``CorpusError`` for a
    rel_path in two filelists (``Corpus.read``)."""
    problems: list[MetadataError] = []
    rows = [filelist_row(utterance, corpus, folder) for utterance in corpus.read(problems)]
    keys = {row.rel_path for row in rows}
    for problem in problems:
        failed = metadata_row(problem)  # keyed as extraction keys it: its rel_path, else FILELIST.csv:LINE
        if failed["rel_path"] not in keys:
            keys.add(failed["rel_path"])
            rows.append(Row(failed["rel_path"], "", "", "", "failed", failed["cause"], failed["message"]))
    for key, summary in folder.summary.items():
        if key not in keys and summary["status"] != "ok":
            keys.add(key)
            rows.append(Row(key, "", "", "", "failed", row_cause(summary), summary.get("message") or ""))
    return rows
