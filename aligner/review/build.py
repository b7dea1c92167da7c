"""Write the review page of a corpus: its index rows, every utterance's view, then the page itself."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from aligner.corpus import Corpus, open_corpus
from aligner.review.page import check_out, row_values, write_index, write_view
from aligner.review.rows import index_rows, open_folders
from aligner.review.views import utterance_view
from aligner.text.frontend import resolve_frontend
from aligner.tokens import tokenise


def build_review(
    corpus: Corpus | str | Path,
    out: str | Path,
    durations: list[Path] | None = None,
    names: list[str] | None = None,
    text_frontend: str | None = None,
    progress: bool = True,
) -> Path:
    """Write the review page of ``corpus`` into ``out`` and return its ``index.html``.

    ``durations``: duration folders, one tier each (default ``CORPUS/durations``); the first gives the
    index's status, one-frame share and longest token, its alignment_summary.csv the confidence. ``names``:
    their tiers' names (default: the folders' names). ``text_frontend``: as given to the extraction
    (``aligner.text.frontend``). ``CorpusError`` for an unreadable corpus, ``ReviewError`` for a duration
    folder that does not exist, ``PageError`` for an ``out`` that already holds another page; one utterance's
    missing or unusable files are its row's status and cause, never an error.
    """
    corpus = open_corpus(corpus)
    out = Path(out)
    folders = open_folders(list(durations) if durations else [corpus.durations_dir], names)
    check_out(out)
    frontend = resolve_frontend(text_frontend)
    rows = index_rows(corpus, folders[0])
    tokens = {t.utterance.rel_path: t for t in tokenise([row.utterance for row in rows if row.utterance], frontend)}
    values = []
    for view_id, row in enumerate(tqdm(rows, desc="review", unit="utt", disable=not progress)):
        if row.utterance is None:
            values.append(row_values(row, None))
            continue
        view = utterance_view(corpus, row, folders, tokens[row.rel_path])
        write_view(out, view_id, view.data, view.png)
        values.append(row_values(row, view_id))
    notes = [f"{f.path}: no alignment_summary.csv, so no confidence" for f in folders if not f.summary]
    notes.append(f"tokens: the {frontend.name} text front end")
    write_index(out, str(corpus.root), [f.name for f in folders], values, notes)
    return out / "index.html"
