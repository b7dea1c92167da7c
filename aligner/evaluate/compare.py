"""Compare the durations of several aligners on one corpus: a report with tables and pictures.

    python -m aligner.evaluate.compare --corpus C --durations DIR_A DIR_B [...] [--names A B ...] [--report R]

Writes R/report.md, R/report.json and PNGs (default R = C/comparison) and prints the summary:
per system the contract checks and, where C/reference/ exists, the accuracy table of
``aligner.evaluate.score``; between each pair of systems the distribution of their boundary differences
(ms; every symbol's onset, blanks split between neighbours as in ``aligner.evaluate.phone_match``),
agreement within 20 and 50 ms, the mean absolute difference per phone class (vowels, consonants,
pauses = space and punctuation tokens), and the utterances on which they disagree most; pictures: a
histogram of the differences and, for a few utterances, the mel with every system's boundaries.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aligner.corpus import Corpus, open_corpus
from aligner.durations import load_durations, symbol_times
from aligner.evaluate.plot import plot_alignment
from aligner.evaluate.score import Evaluation, format_report, score_tokens
from aligner.mels import utterance_mel
from aligner.text import is_phone_symbol
from aligner.text.frontend import FRONTEND_HELP, TextFrontend, resolve_frontend
from aligner.tokens import TokenError, Tokens, tokenise

VOWELS = set("aeiouyæøœɑɐɒɔəɘɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏᵻ")
CLASSES = ("vowel", "consonant", "pause")


def symbol_class(symbol: str) -> str | None:
    """Phone class of an IPA symbol; None for stress/length marks and other modifiers."""
    if not is_phone_symbol(symbol):
        return "pause"
    if symbol in VOWELS:
        return "vowel"
    return "consonant" if symbol.isalpha() else None


def onsets(durations_dir: Path, rel_path: str, ipa: str, seconds: float) -> np.ndarray | None:
    """Onset time (s) of every IPA symbol of one utterance on a grid of ``seconds`` a frame, or None when the
    file is unusable."""
    path = durations_dir / f"{rel_path}.pt"
    if not path.exists():
        return None
    durations = load_durations(path).numpy()
    if len(durations) not in (len(ipa), 2 * len(ipa) + 1):
        return None
    return symbol_times(durations, len(ipa), seconds)[0]


def pair_differences(corpus: Corpus, utterance_tokens: list[Tokens | TokenError], first: Path, second: Path) -> dict:
    """Boundary differences (ms, first - second) overall, per class and per utterance, over the utterances
    that have tokens (``utterance_tokens``: ``aligner.tokens.tokenise`` of the corpus's)."""
    seconds = corpus.frame_seconds
    per_class: dict[str, list[float]] = {c: [] for c in CLASSES}
    per_utterance: dict[str, float] = {}
    every: list[np.ndarray] = []
    for tokens in utterance_tokens:
        if isinstance(tokens, TokenError):
            continue
        utterance, ipa = tokens.utterance, tokens.ipa
        a, b = onsets(first, utterance.rel_path, ipa, seconds), onsets(second, utterance.rel_path, ipa, seconds)
        if a is None or b is None:
            continue
        difference = (a - b) * 1000
        every.append(difference)
        per_utterance[utterance.rel_path] = float(np.abs(difference).mean())
        for symbol, value in zip(ipa, difference, strict=True):
            if (kind := symbol_class(symbol)) is not None:
                per_class[kind].append(abs(value))
    differences = np.concatenate(every) if every else np.zeros(0)
    absolute = np.abs(differences)
    return {
        "differences_ms": differences,
        "utterances": len(every),
        "within_20ms": float(100 * np.mean(absolute <= 20)) if absolute.size else float("nan"),
        "within_50ms": float(100 * np.mean(absolute <= 50)) if absolute.size else float("nan"),
        "mean_abs_ms": float(absolute.mean()) if absolute.size else float("nan"),
        "median_ms": float(np.median(differences)) if absolute.size else float("nan"),
        "per_class_mean_abs_ms": {c: float(np.mean(v)) if v else float("nan") for c, v in per_class.items()},
        "most_disagreeing": sorted(per_utterance.items(), key=lambda item: -item[1])[:10],
    }


def histogram(path: Path, pairs: dict[str, dict]) -> None:
    """PNG histogram of the boundary differences of every pair."""
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    for name, pair in pairs.items():
        values = np.clip(pair["differences_ms"], -150, 150)
        ax.hist(values, bins=np.arange(-150, 151, 5), histtype="step", lw=1.5, label=name)
    ax.set_xlabel("boundary difference (ms, clipped to ±150)")
    ax.set_ylabel("symbol onsets")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def pictures(
    corpus: Corpus,
    utterance_tokens: list[Tokens | TokenError],
    systems: dict[str, Path],
    rel_paths: list[str],
    report_dir: Path,
) -> list[Path]:
    """Mel with every system's boundaries for each of ``rel_paths`` (utterances that have tokens)."""
    written = []
    by_path = {t.utterance.rel_path: t for t in utterance_tokens}
    for rel_path in rel_paths:
        utterance, ipa = by_path[rel_path].utterance, by_path[rel_path].ipa
        durations = {name: load_durations(d / f"{rel_path}.pt").numpy() for name, d in systems.items()}
        reference_file = corpus.reference(rel_path)
        reference = (
            json.loads(reference_file.read_text(encoding="utf-8"))["phones"] if reference_file.exists() else None
        )
        target = report_dir / f"{rel_path.replace('/', '_')}.png"
        mel = utterance_mel(corpus, utterance)
        plot_alignment(
            target, mel, ipa, durations, corpus.frame_seconds, reference, title=f"{rel_path}: {utterance.text}"
        )
        written.append(target)
    return written


def compare(
    corpus: Path, systems: dict[str, Path], report_dir: Path, frontend: TextFrontend | None = None
) -> tuple[dict, str]:
    """Build the report (JSON-able dict and markdown) and its pictures in ``report_dir``; tokens from
    ``frontend`` (``aligner.tokens``; default: the installed Matcha's, as extraction's)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    opened = open_corpus(corpus)
    frontend = frontend or resolve_frontend()
    utterance_tokens = tokenise(opened.read(), frontend)  # once, for every system and pair
    evaluations: dict[str, Evaluation] = {
        name: score_tokens(opened, utterance_tokens, d, frontend) for name, d in systems.items()
    }
    pairs = {
        f"{a} - {b}": pair_differences(opened, utterance_tokens, systems[a], systems[b])
        for a, b in itertools.combinations(systems, 2)
    }
    histogram(report_dir / "differences.png", pairs)
    worst = next(iter(pairs.values()))["most_disagreeing"] if pairs else []
    complete = [r for r, _ in worst if all((d / f"{r}.pt").exists() for d in systems.values())]
    shown = pictures(opened, utterance_tokens, systems, complete[:3], report_dir)
    lines = [
        f"# Aligner comparison on {corpus}",
        "",
        "| system | durations | <=20 ms | mean abs | own |",
        "|---|---|---|---|---|",
    ]
    for name, result in evaluations.items():
        row = result.by_language()["all"]
        figures = "| - | - | - |"
        if row["boundaries"]:
            figures = f"| {row['within_20ms']:.1f}% | {row['mean_abs_ms']:.1f} ms | {row['ownership_pct']:.1f}% |"
        lines.append(f"| {name} | {systems[name]} {figures}")
    lines += ["", "Per system below: `python -m aligner.evaluate`'s table. Pairs `A - B`: differences of symbol "
              "onsets, A minus B (positive: A later).", ""]  # fmt: skip
    for name, result in evaluations.items():
        lines += [f"## {name}", "", "```", format_report(result), "```", ""]
    lines += ["## Between systems (symbol onsets, ms)", ""]
    lines.append("| pair | utterances | mean abs | median diff | <=20 ms | <=50 ms | vowels | consonants | pauses |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for name, pair in pairs.items():
        c = pair["per_class_mean_abs_ms"]
        lines.append(
            f"| {name} | {pair['utterances']} | {pair['mean_abs_ms']:.1f} | {pair['median_ms']:+.1f} | "
            f"{pair['within_20ms']:.1f}% | {pair['within_50ms']:.1f}% | "
            f"{c['vowel']:.1f} | {c['consonant']:.1f} | {c['pause']:.1f} |"
        )
    for name, pair in pairs.items():
        most = ", ".join(f"{r} ({v:.0f} ms)" for r, v in pair["most_disagreeing"])
        lines += ["", f"Most disagreeing ({name}): {most}"]
    lines += ["", "![differences](differences.png)", ""] + [f"![{p.stem}]({p.name})" for p in shown]
    data = {
        "systems": {name: result.to_json() for name, result in evaluations.items()},
        "pairs": {name: {k: v for k, v in pair.items() if k != "differences_ms"} for name, pair in pairs.items()},
        "pictures": [p.name for p in shown],
    }
    return data, "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus (metadata.csv, mels/, reference/ if known)")
    parser.add_argument("--durations", required=True, nargs="+", type=Path, help="one folder of durations per system")
    parser.add_argument("--names", nargs="+", help="a name per folder (default: folder names)")
    parser.add_argument("--report", type=Path, help="report folder (default: CORPUS/comparison)")
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    args = parser.parse_args(argv)
    names = args.names or [d.name for d in args.durations]
    if len(names) != len(args.durations) or len(set(names)) != len(names):
        parser.error("--names needs one distinct name per --durations folder")
    report_dir = args.report or args.corpus / "comparison"
    systems = dict(zip(names, args.durations, strict=True))
    data, markdown = compare(args.corpus, systems, report_dir, resolve_frontend(args.text_frontend))
    (report_dir / "report.md").write_text(markdown, encoding="utf-8")
    (report_dir / "report.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(markdown)
    print(f"report: {report_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
