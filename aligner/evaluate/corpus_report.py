"""What an extraction did to a corpus without truth: aligned, skipped by cause, the transcript suspects,
how long the tokens are, and pictures to look at.

    python -m aligner.evaluate.corpus_report --corpus C [--durations D] --out R [--pictures 6]

Reads ``D/alignment_summary.csv`` (written by ``python -m matcha.utils.extract_durations``; D defaults
to ``C/durations``), the duration files and the corpus's mels; reads no ``reference/``. Writes
``R/report.md`` and ``R/{rel_path with / as _}.png`` (``0/0001`` -> ``0_0001.png``): the mel with the
phone boundaries of the most suspect utterances (by the transcript check's ``transcript_score``, their
suspect word shaded; without it, the least confident) and of others spread evenly over the corpus. Look at
them: a boundary should sit where the spectrogram changes, a phone should span its stretch of sound, not one
frame of it, and the shaded word should be said as the text has it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from aligner.corpus import Utterance, open_corpus, select
from aligner.durations import load_durations
from aligner.evaluate.plot import plot_alignment
from aligner.extract.summary import SUMMARY_NAME, most_suspect_first, read_summary, row_cause
from aligner.mels import utterance_mel
from aligner.search.marks import is_mark_symbol
from aligner.search.transcript import SUSPECT_THRESHOLD
from aligner.text import is_phone_symbol
from aligner.text.frontend import FRONTEND_HELP, resolve_frontend
from aligner.tokens import TokenError, tokenise

SUSPECTS = 10


def token_figures(ipa: str, durations: np.ndarray) -> dict[str, float]:
    """Frames held by phone tokens, by annotation marks (stress, length, tie: ``aligner.search.marks``), by
    blanks between two phone symbols and in all, and the number of phone tokens and of those holding one
    frame, for one utterance's durations [2 * len(ipa) + 1] (add_blank). Marks are not phones: extraction
    gives each one frame by default, so they would swell the one-frame count. ``ValueError`` for another
    length."""
    if len(durations) != 2 * len(ipa) + 1:
        raise ValueError(f"{len(durations)} durations for {len(ipa)} symbols: not add_blank's 2 L + 1")
    marks = [2 * i + 1 for i, c in enumerate(ipa) if is_mark_symbol(c)]
    phones = [2 * i + 1 for i, c in enumerate(ipa) if is_phone_symbol(c) and not is_mark_symbol(c)]
    inner = [2 * i for i in range(1, len(ipa)) if is_phone_symbol(ipa[i - 1]) and is_phone_symbol(ipa[i])]
    return {
        "phone_frames": float(durations[phones].sum()),
        "mark_frames": float(durations[marks].sum()),
        "inner_blank_frames": float(durations[inner].sum()),
        "frames": float(durations.sum()),
        "phones": float(len(phones)),
        "one_frame_phones": float((durations[phones] == 1).sum()),
    }


def suspect_span(row: dict) -> tuple[float, float, str] | None:
    """The transcript check's suspect of a summary row: (start s, end s, word), None without one."""
    if not row.get("suspect_start"):
        return None
    return float(row["suspect_start"]), float(row["suspect_end"]), row["suspect_word"]


def suspect_table(rows: list[dict], utterances: dict[str, Utterance]) -> list[str]:
    """The report's section of the most suspect ``rows`` (``most_suspect_first`` order, all the aligned ones):
    the first ``SUSPECTS`` with their transcript check where the run had one (a score above ``SUSPECT_THRESHOLD``
    marked, and how many are), else with their confidence."""
    if rows and rows[0].get("transcript_score"):
        above = sum(float(r["transcript_score"]) > SUSPECT_THRESHOLD for r in rows if r.get("transcript_score"))
        return [
            f"## Transcript suspects, up to {SUSPECTS} (listen to the suspect word: is it said as written?)",
            "",
            f"{above} of {len(rows)} utterances score above {SUSPECT_THRESHOLD:g} (nats; marked **bold**), worth a "
            f"listen ({SUMMARY_NAME} has them all; docs/transcripts.md).",
            "",
            "| utterance | transcript score | suspect word | at (s) | text |",
            "|---|---|---|---|---|",
            *[
                f"| `{r['rel_path']}` | {_score(float(r['transcript_score']))} | {r['suspect_word']} "
                f"| {_span(r)} | {utterances[r['rel_path']].text} |"
                for r in rows[:SUSPECTS]
            ],
        ]
    return [
        f"## The least confident, up to {SUSPECTS} (check their text against the audio)",
        "",
        "| utterance | mean log-posterior | text |",
        "|---|---|---|",
        *[
            f"| `{r['rel_path']}` | {float(r['mean_log_prob']):.3f} | {utterances[r['rel_path']].text} |"
            for r in rows[:SUSPECTS]
        ],
    ]


def _span(row: dict) -> str:
    return f"{float(row['suspect_start']):.2f}-{float(row['suspect_end']):.2f}" if row.get("suspect_start") else ""


def _score(score: float) -> str:
    return f"**{score:.1f}**" if score > SUSPECT_THRESHOLD else f"{score:.1f}"


def corpus_report(
    corpus: Path, durations_dir: Path, out: Path, pictures: int = 6, text_frontend: str | None = None
) -> str:
    """Write ``out/report.md`` and the pictures (module doc); returns the report's text. Tokens come from
    the front end ``text_frontend`` names (``aligner.text.frontend``: by default the installed Matcha's),
    as extraction's did."""
    frontend = resolve_frontend(text_frontend)
    rows = read_summary(durations_dir / SUMMARY_NAME)
    aligned = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    opened = open_corpus(corpus)
    utterances = {u.rel_path: u for u in opened.read(problems=[])}  # bad lines: failed rows already
    alignments: dict[str, tuple[str, np.ndarray]] = {}  # rel_path -> (IPA, durations), read once
    totals: Counter[str] = Counter()
    for row, tokens in zip(aligned, tokenise([utterances[r["rel_path"]] for r in aligned], frontend), strict=True):
        if isinstance(tokens, TokenError):
            raise ValueError(f"{row['rel_path']}: aligned, but now {tokens} (extracted with another --text-frontend?)")
        ipa = tokens.ipa
        durations = load_durations(durations_dir / f"{row['rel_path']}.pt").numpy()
        alignments[row["rel_path"]] = (ipa, durations)
        try:
            totals.update(token_figures(ipa, durations))
        except ValueError as error:
            raise ValueError(
                f"{row['rel_path']}: {error}: its text changed since its durations were written; rerun the "
                "extraction (it redoes such utterances)"
            ) from error
    lines = [
        f"# Alignment report: {corpus}",
        "",
        f"Durations: `{durations_dir}`. {len(aligned)} utterances aligned, {len(failed)} skipped.",
        "",
    ]
    if failed:
        causes = Counter(row_cause(r) for r in failed).most_common()
        lines += ["| skipped because | utterances |", "|---|---|", *[f"| {name} | {n} |" for name, n in causes], ""]
        lines += [*[f"- `{r['rel_path']}`: {r['message']}" for r in failed], ""]
    lines += [
        "## Tokens (no truth needed)",
        "",
        "| frames held by phone tokens | by annotation marks | by blanks between two phones | "
        "by pauses and their blanks | phone tokens of one frame |",
        "|---|---|---|---|---|",
    ]
    if totals["frames"]:
        pause = totals["frames"] - totals["phone_frames"] - totals["mark_frames"] - totals["inner_blank_frames"]
        lines.append(
            f"| {100 * totals['phone_frames'] / totals['frames']:.1f} % "
            f"| {100 * totals['mark_frames'] / totals['frames']:.1f} % "
            f"| {100 * totals['inner_blank_frames'] / totals['frames']:.1f} % "
            f"| {100 * pause / totals['frames']:.1f} % "
            f"| {100 * totals['one_frame_phones'] / max(totals['phones'], 1):.1f} % |"
        )
    scored = most_suspect_first(aligned)
    lines += ["", *suspect_table(scored, utterances), "", "## Pictures", ""]
    half = pictures // 2
    chosen = [r["rel_path"] for r in scored[:half]]
    rest = scored[half:]
    chosen += [rest[i]["rel_path"] for i in select(len(rest), pictures - half)] if pictures > half else []
    out.mkdir(parents=True, exist_ok=True)
    rows_by_path = {r["rel_path"]: r for r in aligned}
    for rel_path in chosen:
        ipa, durations = alignments[rel_path]
        target = out / f"{rel_path.replace('/', '_')}.png"
        plot_alignment(
            target,
            utterance_mel(opened, utterances[rel_path]),
            ipa,
            {"aligner": durations},
            opened.frame_seconds,
            title=f"{rel_path}: {utterances[rel_path].text}"[:150],
            suspect=suspect_span(rows_by_path[rel_path]),
        )
        lines.append(f"![{rel_path}]({target.name})")
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate.corpus_report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder (*.csv filelists, mels/)")
    parser.add_argument("--durations", type=Path, help="durations folder (default: CORPUS/durations)")
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    parser.add_argument("--out", required=True, type=Path, help="report folder to write")
    parser.add_argument("--pictures", type=int, default=6, help="utterances to draw (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        durations = args.durations or args.corpus / "durations"
        text = corpus_report(args.corpus, durations, args.out, args.pictures, args.text_frontend)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
