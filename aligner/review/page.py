"""The review page's files: the page and its scripts, the index's data, each utterance's view.

    R/index.html                  the page (aligner/review/static/index.html)
    R/static/                     its script and style, and wavesurfer.js with its licence
    R/data/index.js               window.REVIEW_INDEX = {...}: every row of the index
    R/data/views/{id // 1000}/{id}.js   window.REVIEW_VIEWS[id] = {...}: one utterance's view, loaded when opened
    R/data/views/{id // 1000}/{id}.png  its spectrogram

A page opened from file:// may not ``fetch`` other files (Chromium treats every file as its own origin), but it
may run scripts and play audio beside it: so the data are scripts that assign globals, and the page adds a
view's script when the utterance is opened. The wav is played where it lies in the corpus, by a path relative to
the page (moving R breaks the audio, not the page). Every file is written atomically; index.html last.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

from aligner.durations import atomic_write
from aligner.review.rows import Row

STATIC = Path(__file__).parent / "static"
STATIC_FILES = ("review.js", "review.css", "wavesurfer.min.js", "wavesurfer.LICENSE.txt")
MARKER = 'name="generator" content="aligner.review"'
COLUMNS = (
    "rel_path",
    "speaker",
    "language",
    "text",
    "status",
    "cause",
    "confidence",
    "one_frame",
    "longest_symbol",
    "longest_frames",
    "transcript_score",
    "suspect_word",
    "message",
    "view",
)
PER_FOLDER = 1000


class PageError(ValueError):
    """An output folder the page cannot be written into."""


def view_stem(view_id: int) -> str:
    """``data/views/{id // 1000}/{id}``: where a view's files go, relative to the page (no extension)."""
    return f"data/views/{view_id // PER_FOLDER}/{view_id}"


def page_url(target: Path, out: Path) -> str:
    """``target``'s address relative to the page in ``out`` (URL-quoted, forward slashes)."""
    return quote(Path(os.path.relpath(target.resolve(), out.resolve())).as_posix())


def script(variable: str, value: object) -> str:
    """JavaScript that assigns ``value`` (JSON) to ``variable``."""
    return f"{variable} = {json.dumps(value, ensure_ascii=False, separators=(',', ':'))};\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def check_out(out: Path) -> None:
    """``PageError`` when ``out/index.html`` exists and is not a review page (never overwritten), or ``out``
    cannot be made."""
    page = out / "index.html"
    if page.is_file() and MARKER not in page.read_text(encoding="utf-8", errors="replace"):
        raise PageError(f"{page} exists and is not a review page: give another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PageError(f"{out}: cannot make the output folder ({error})") from error


def write_view(out: Path, view_id: int, data: dict, png: bytes | None) -> None:
    """Write one utterance's view script (and its spectrogram, when there is one); ``data["wav"]``, a Path,
    becomes ``data["audio"]``, the wav's address relative to the page."""
    stem = view_stem(view_id)
    data = dict(data)
    wav = data.pop("wav", None)
    data["audio"] = page_url(wav, out) if wav is not None else None
    data["spectrogram"] = f"{stem}.png" if png is not None else None
    if png is not None:
        write_bytes(out / f"{stem}.png", png)
    write_text(out / f"{stem}.js", script(f"window.REVIEW_VIEWS[{view_id}]", data))


def row_values(row: Row, view_id: int | None) -> list:
    """A row of the index as the page reads it (``COLUMNS``, in order)."""
    confidence = round(row.confidence, 4) if row.confidence is not None else None
    one_frame = round(row.one_frame, 4) if row.one_frame is not None else None
    return [
        row.rel_path,
        row.speaker,
        row.language,
        row.text,
        row.status,
        row.cause,
        confidence,
        one_frame,
        row.longest_symbol,
        row.longest_frames,
        round(row.transcript_score, 2) if row.transcript_score is not None else None,
        row.suspect_word,
        row.message,
        view_id,
    ]


def write_index(out: Path, title: str, folders: list[str], rows: list[list], notes: list[str] | None = None) -> None:
    """Write ``data/index.js`` (rows of ``COLUMNS`` values, ``row_values``), the static files, then
    ``index.html``. ``folders``: the tiers' names, the first one giving the index's figures; ``notes``: lines
    shown above the index (what the page could not read)."""
    index = {"title": title, "folders": folders, "columns": list(COLUMNS), "rows": rows, "notes": notes or []}
    write_text(out / "data/index.js", script("window.REVIEW_INDEX", index))
    for name in STATIC_FILES:
        atomic_write(out / "static" / name, lambda tmp, name=name: shutil.copyfile(STATIC / name, tmp))
    atomic_write(out / "index.html", lambda tmp: shutil.copyfile(STATIC / "index.html", tmp))
