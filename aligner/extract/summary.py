"""alignment_summary.csv, the record of an extraction run: one row per utterance (status, tokens, frames,
confidence, longest token, the transcript check's score and suspect word, cause and message), journaled per
process as it goes and merged atomically."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from aligner.corpus import MetadataError
from aligner.durations import atomic_write

SUMMARY_NAME = "alignment_summary.csv"
SUMMARY_FIELDS = (
    "rel_path",
    "status",
    "tokens",
    "tokens_digest",  # of the token ids aligned: a rerun redoes an utterance whose text or tokens changed since
    "frames",
    "mean_log_prob",
    "min_share",
    "longest_frames",
    "longest_symbol",
    "transcript_score",  # the transcript check's (aligner.search.transcript): larger, the likelier a wrong text
    "suspect_word",  # the text's word the audio least supports, "+WORD" for speech no token stands for after it
    "suspect_start",  # seconds
    "suspect_end",
    "cause",
    "message",
)
UNKNOWN_CAUSE = "other"  # the cause of a failed row written before the summary had a cause column
# Summary key of a filelist line without a usable rel_path: its file's name and line number (metadata.csv:12)
LINE_KEY = re.compile(r".+\.csv:\d+")


def tokens_digest(token_ids: list[int]) -> str:
    """A short digest of an utterance's token ids (blanks included), recorded with its durations."""
    return hashlib.sha1(",".join(map(str, token_ids)).encode()).hexdigest()[:12]


def failed_row(key: str, message: str, cause: str, tokens: int | str = "", frames: int | str = "") -> dict:
    """A failed line of alignment_summary.csv (``key``: a rel_path, or ``FILELIST.csv:LINE``, e.g. train.csv:12;
    ``cause``: a few words naming why, the ``cause`` of the error that failed it)."""
    return {"rel_path": key, "status": "failed", "tokens": tokens, "frames": frames, "cause": cause, "message": message}


def metadata_row(error: MetadataError) -> dict:
    """The failed row of a metadata.csv line, keyed by its rel_path where usable."""
    return failed_row(error.rel_path or f"{error.filelist}:{error.line}", str(error), error.cause)


def most_suspect_first(rows: list[dict]) -> list[dict]:
    """The ok rows, most suspect first: by descending ``transcript_score``, then those without one (an ASRCNN
    run, a summary written before the check) by ascending ``mean_log_prob``, the least confident first."""
    aligned = [row for row in rows if row["status"] == "ok"]
    checked = sorted((r for r in aligned if r.get("transcript_score")), key=lambda r: -float(r["transcript_score"]))
    unchecked = sorted((r for r in aligned if not r.get("transcript_score")), key=lambda r: float(r["mean_log_prob"]))
    return checked + unchecked


def row_cause(row: dict) -> str:
    """A failed row's cause (``UNKNOWN_CAUSE`` for a row of a summary written without the column)."""
    return row.get("cause") or UNKNOWN_CAUSE


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


def read_summary(path: Path) -> list[dict]:
    """The rows of an alignment_summary.csv; ``FileNotFoundError`` naming the command that writes it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run python -m matcha.utils.extract_durations first")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
