"""Durations built from a corpus's true phone boundaries: the ceiling the corpus's mel grid allows.

    python -m aligner.evaluate.reference_durations --corpus C [--out-dir C/reference_durations] [--no-add-blank]

Each token is given the time its reference phone spans (the rules of :mod:`aligner.evaluate.phone_match`):
phone characters the phone's interval, space and punctuation the gap between the phones around
them, a blank inside a phone that phone's interval, a blank between two phones the point of their
boundary, the leading and trailing blanks the silences at either end. ``durations_from_intervals``
then lays the tokens on the mel grid. Scoring the result with ``aligner.evaluate.score`` measures what
frame rounding alone costs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from aligner.corpus import open_corpus
from aligner.durations import save_durations, validate_durations
from aligner.evaluate.phone_match import match_phones
from aligner.mels import utterance_frames
from aligner.search.timing import durations_from_intervals
from aligner.text.frontend import FRONTEND_HELP, TextFrontend, resolve_frontend
from aligner.tokens import UNKNOWN_SYMBOL, TokenError, tokenise


def reference_token_intervals(
    ipa: str, phones: list[dict], duration: float, add_blank: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Wanted [start, end] (s) of every token of ``ipa`` (interspersed with blanks if ``add_blank``)."""
    spans = match_phones(ipa, phones)
    owner = [-1] * len(ipa)
    for index, span in enumerate(spans):
        owner[span.first_char : span.last_char + 1] = [index] * (span.last_char - span.first_char + 1)
    starts, ends = np.empty(len(ipa)), np.empty(len(ipa))
    for c, index in enumerate(owner):
        if index >= 0:
            starts[c], ends[c] = spans[index].start, spans[index].end
            continue
        before = [spans[o].end for o in owner[:c] if o >= 0]
        after = [spans[o].start for o in owner[c + 1 :] if o >= 0]
        gap_start = before[-1] if before else 0.0
        gap_end = after[0] if after else duration
        starts[c], ends[c] = gap_start, max(gap_start, gap_end)
    if not add_blank:
        return starts, ends
    blank_starts, blank_ends = [0.0], [starts[0]]
    for c in range(1, len(ipa)):
        if owner[c] >= 0 and owner[c] == owner[c - 1]:
            blank_starts.append(starts[c])
            blank_ends.append(ends[c])
        else:
            blank_starts.append(min(ends[c - 1], starts[c]))
            blank_ends.append(max(ends[c - 1], starts[c]))
    blank_starts.append(ends[-1])
    blank_ends.append(duration)
    token_starts = np.empty(2 * len(ipa) + 1)
    token_ends = np.empty(2 * len(ipa) + 1)
    token_starts[0::2], token_ends[0::2] = blank_starts, blank_ends
    token_starts[1::2], token_ends[1::2] = starts, ends
    return token_starts, token_ends


def reference_durations(
    corpus: Path, out_dir: Path, add_blank: bool = True, frontend: TextFrontend | None = None
) -> int:
    """Write reference-derived durations for every utterance of ``corpus`` whose reference phones agree with its
    tokens (``aligner.tokens``, from ``frontend``; default: the installed Matcha's); returns how many. A
    ``TokenError`` for a symbol the aligner lacks, naming it; ``ValueError`` for a truth in another phone set
    (a flite corpus's ARPAbet)."""
    opened = open_corpus(corpus)
    written = 0
    for tokens in tqdm(tokenise(opened.read(), frontend or resolve_frontend()), desc="reference durations", unit="utt"):
        if isinstance(tokens, TokenError) and tokens.cause == UNKNOWN_SYMBOL:
            raise tokens
        utterance = tokens.utterance
        path = opened.reference(utterance.rel_path)
        reference = json.loads(path.read_text(encoding="utf-8"))
        if "phones_agree" not in reference:
            raise ValueError(
                f"{path}: its truth is in {reference.get('engine', 'another')}'s phones, not the tokens' own "
                "(espeak-ng's): reference durations need an espeak-ng corpus"
            )
        if not reference["phones_agree"] or isinstance(tokens, TokenError):
            continue
        text_ipa = tokens.ipa
        n_frames = utterance_frames(opened, utterance)
        starts, ends = reference_token_intervals(text_ipa, reference["phones"], reference["duration"], add_blank)
        durations = durations_from_intervals(starts, ends, n_frames, opened.frame_seconds)
        n_tokens = 2 * len(text_ipa) + 1 if add_blank else len(text_ipa)
        save_durations(
            out_dir / f"{utterance.rel_path}.pt",
            validate_durations(durations, n_tokens, n_frames, name=utterance.rel_path),
        )
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate.reference_durations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus with reference/ and mels/")
    parser.add_argument("--out-dir", type=Path, help="where to write (default: CORPUS/reference_durations)")
    parser.add_argument("--no-add-blank", dest="add_blank", action="store_false", help="no interspersed blanks")
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    args = parser.parse_args(argv)
    out_dir = args.out_dir or args.corpus / "reference_durations"
    try:
        written = reference_durations(args.corpus, out_dir, args.add_blank, resolve_frontend(args.text_frontend))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{written} reference-derived duration files in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
