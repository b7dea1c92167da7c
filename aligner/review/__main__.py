"""Write a page to check a whole corpus's alignment by eye and ear.

    python -m aligner.review --corpus C [--durations D [D2 ...]] [--names N [N2 ...]] --out R

R/index.html opens from disk, offline (double-click it, or `chromium R/index.html`); no server needed.

The index lists every utterance of the corpus's filelists, most suspect first (by the transcript check's
score; least confident first for a run without it): rel_path, speaker, language, text, status (ok; failed:
the extraction skipped it; missing: no wav or no duration file; invalid: a file that cannot be used) with
its cause, the confidence (mean CTC log-posterior along the path, from D/alignment_summary.csv), the share
of tokens holding a single frame, the longest token, and the transcript check's score and suspect word.
Click a column's title to sort by it; choose a speaker, language or status to filter (each with its count).

Click a row to open the utterance: its waveform and mel spectrogram, the token tier (every Matcha token at
its duration: phones, stress and length marks, blanks, spaces and punctuation in their own colours), the
word tier and the transcript check's suspect word (red; a click plays it), per duration folder (the first
is the index's), and the true phones where the corpus has reference/. Space plays and pauses, a click on a
token or a word plays just that stretch, a click on the spectrogram moves the cursor there; j / k open the
next / previous utterance of the list.

What to look for: texts that do not match their audio (highest transcript score: is the suspect word said
as written?; tokens squeezed to one frame while a long blank or pause holds the speech) and boundaries that
sit away from where the spectrogram changes. Fix or drop them before training Matcha.

The page reads the wavs where they lie (by a path relative to R): keep R and the corpus where they are.
Exit status: 0 when written, 2 when nothing could be written (no corpus, a duration folder that does not
exist, an R that holds another page).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aligner.corpus import CorpusError, add_corpus_options, corpus_from_options
from aligner.review.build import build_review
from aligner.review.page import PageError
from aligner.review.rows import ReviewError
from aligner.text.frontend import FRONTEND_HELP


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (module doc); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.review", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_corpus_options(parser, "corpus folder (*.csv filelists, wav/ or wavs/, mels/)")
    parser.add_argument(
        "--durations",
        nargs="+",
        type=Path,
        help="duration folders ({rel_path}.pt, or .npy as --format npy writes), a pair of tiers each; the first "
        "gives the index's figures (default: CORPUS/durations)",
    )
    parser.add_argument(
        "--names", nargs="+", help="the tiers' names, one per --durations folder (default: folder names)"
    )
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    parser.add_argument("--out", required=True, type=Path, help="folder to write the page into (R/index.html)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        corpus = corpus_from_options(parser, args)
        page = build_review(corpus, args.out, args.durations, args.names, args.text_frontend, not args.quiet)
    except (CorpusError, ReviewError, PageError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"review page: {page}  (open it in a browser: chromium {page}, or file://{page.resolve()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
