"""Score Matcha durations against a corpus's true phone boundaries, and check their contract.

    python -m aligner.evaluate --corpus C [--durations DIR] [--json OUT]

Reads ``DIR/{rel_path}.pt`` (default ``C/durations``), the Matcha tokens of every utterance of
``C/metadata.csv`` and the truth in ``C/reference/{rel_path}.json``, and prints:

- phone boundary accuracy per language and overall: % of boundaries within 10, 20, 25 and 50 ms,
  mean and median absolute error, the share of gross errors (> 50 ms) and the mean signed error
  (positive: late), and the 10 worst utterances;
- contract checks: files missing, length mismatches (neither 2L+1 nor L entries), zero durations,
  sums that differ from the mel's frame count, mels missing.

How tokens meet reference phones (blanks, pauses, zero-length phones, disagreements) is spelled
out in :mod:`aligner.evaluate.phone_match`. Utterances whose phones disagree with their tokens are listed and
left out of the accuracy.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aligner.align.timing import frame_seconds
from aligner.evaluate.phone_match import PhoneMismatch, match_phones, symbol_times
from matcha.text import to_phonemes_multilingual
from matcha.utils.durations import load_durations
from matcha.utils.precompute_corpus import mel_path, read_metadata, reference_path

THRESHOLDS_MS = (10, 20, 25, 50)
GROSS_MS = 50
CONTRACT_CHECKS = ("missing", "length_mismatch", "zero_durations", "sum_mismatch", "mel_missing")


def boundary_errors_ms(ipa: str, durations: np.ndarray, phones: list[dict], seconds: float) -> np.ndarray:
    """Signed error (ms, positive = late) of every phone onset and offset (see aligner.evaluate.phone_match)."""
    spans = match_phones(ipa, phones)
    starts, ends = symbol_times(durations, len(ipa), seconds)
    predicted = np.array([(starts[s.first_char], ends[s.last_char]) for s in spans])
    truth = np.array([(s.start, s.end) for s in spans])
    return (predicted - truth).ravel() * 1000.0


def accuracy(errors_ms: np.ndarray) -> dict:
    """Summary figures of a set of signed boundary errors (ms)."""
    absolute = np.abs(errors_ms)
    if absolute.size == 0:
        return {"boundaries": 0}
    figures = {"boundaries": int(absolute.size)}
    figures.update({f"within_{t}ms": float(100 * np.mean(absolute <= t)) for t in THRESHOLDS_MS})
    figures.update(
        mean_abs_ms=float(absolute.mean()),
        median_abs_ms=float(np.median(absolute)),
        gross_pct=float(100 * np.mean(absolute > GROSS_MS)),
        mean_signed_ms=float(errors_ms.mean()),
    )
    return figures


@dataclass
class Evaluation:
    """Everything the scorer found for one durations folder."""

    durations_dir: str
    utterances: int = 0
    contract: dict[str, list[str]] = field(default_factory=lambda: {check: [] for check in CONTRACT_CHECKS})
    disagreeing: list[str] = field(default_factory=list)
    errors_ms: dict[str, np.ndarray] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    def by_language(self) -> dict[str, dict]:
        """Accuracy per language, then overall under ``"all"``."""
        table = {}
        for language in sorted(set(self.languages.values())):
            rows = [e for r, e in self.errors_ms.items() if self.languages[r] == language]
            table[language] = {"utterances": len(rows), **accuracy(np.concatenate(rows) if rows else np.array([]))}
        every = list(self.errors_ms.values())
        table["all"] = {"utterances": len(every), **accuracy(np.concatenate(every) if every else np.array([]))}
        return table

    def worst(self, n: int = 10) -> list[dict]:
        """The ``n`` utterances with the largest mean absolute boundary error."""
        rows = [
            {
                "rel_path": r,
                "language": self.languages[r],
                "mean_abs_ms": float(np.abs(e).mean()),
                "max_abs_ms": float(np.abs(e).max()),
            }
            for r, e in self.errors_ms.items()
            if e.size
        ]
        return sorted(rows, key=lambda row: -row["mean_abs_ms"])[:n]

    def to_json(self) -> dict:
        """A JSON-serialisable summary."""
        return {
            "durations": self.durations_dir,
            "utterances": self.utterances,
            "contract": {check: {"count": len(v), "examples": v[:20]} for check, v in self.contract.items()},
            "phones_disagree": self.disagreeing,
            "accuracy": self.by_language(),
            "worst": self.worst(),
        }


def evaluate(corpus: Path, durations_dir: Path) -> Evaluation:
    """Score every utterance of ``corpus`` whose reference exists against ``durations_dir``."""
    utterances = read_metadata(corpus)
    ipas = to_phonemes_multilingual([u.text for u in utterances], [u.language for u in utterances])
    seconds = frame_seconds()
    result = Evaluation(str(durations_dir), utterances=len(utterances))
    for utterance, ipa in zip(utterances, ipas, strict=True):
        rel_path = utterance.rel_path
        path = durations_dir / f"{rel_path}.pt"
        if not path.exists():
            result.contract["missing"].append(rel_path)
            continue
        durations = load_durations(path).numpy()
        if len(durations) not in (len(ipa), 2 * len(ipa) + 1):
            result.contract["length_mismatch"].append(rel_path)
            continue
        if durations.min() < 1:
            result.contract["zero_durations"].append(rel_path)
        mel = mel_path(corpus, rel_path)
        if not mel.exists():
            result.contract["mel_missing"].append(rel_path)
        elif np.load(mel, mmap_mode="r").shape[1] != durations.sum():
            result.contract["sum_mismatch"].append(rel_path)
        reference_file = reference_path(corpus, rel_path)
        if not reference_file.exists():
            continue
        reference = json.loads(reference_file.read_text(encoding="utf-8"))
        try:
            errors = boundary_errors_ms(ipa, durations, reference["phones"], seconds)
        except PhoneMismatch:
            result.disagreeing.append(rel_path)
            continue
        result.errors_ms[rel_path] = errors
        result.languages[rel_path] = utterance.language
    return result


def _examples(rel_paths: list[str], n: int = 10) -> str:
    return ", ".join(rel_paths[:n]) + (" ..." if len(rel_paths) > n else "")


def accuracy_header() -> str:
    """Column titles of :func:`accuracy_cells`."""
    thresholds = "".join(f"{'<=' + str(t) + 'ms':>9}" for t in THRESHOLDS_MS)
    return f"{'utts':>6}{'bounds':>8}{thresholds}{'mean':>8}{'median':>8}{'>50ms':>8}{'bias':>8}"


def accuracy_cells(row: dict) -> str:
    """One row of :meth:`Evaluation.by_language` as fixed-width text under :func:`accuracy_header`."""
    if not row["boundaries"]:
        return f"{row['utterances']:>6}{0:>8}   (nothing scored)"
    cells = f"{row['utterances']:>6}{row['boundaries']:>8}"
    cells += "".join(f"{row[f'within_{t}ms']:>8.1f}%" for t in THRESHOLDS_MS)
    cells += f"{row['mean_abs_ms']:>8.1f}{row['median_abs_ms']:>8.1f}"
    return cells + f"{row['gross_pct']:>7.1f}%{row['mean_signed_ms']:>+8.1f}"


def format_report(result: Evaluation) -> str:
    """The table the command prints."""
    lines = [
        f"durations: {result.durations_dir}  ({result.utterances} utterances)",
        f"{'language':<9}{accuracy_header()}",
    ]
    lines += [f"{language:<9}{accuracy_cells(row)}" for language, row in result.by_language().items()]
    lines.append("(errors in ms; bias = mean signed error, positive = boundaries late)")
    checks = ", ".join(f"{check.replace('_', ' ')} {len(v)}" for check, v in result.contract.items())
    lines.append(f"contract: {checks}")
    for check, rel_paths in result.contract.items():
        if rel_paths:
            lines.append(f"  {check.replace('_', ' ')}: {_examples(rel_paths)}")
    if result.disagreeing:
        lines.append(
            f"left out, phones disagree with tokens: {len(result.disagreeing)} ({_examples(result.disagreeing)})"
        )
    worst = result.worst()
    if worst:
        lines.append("worst utterances (mean / max abs error, ms):")
        lines += [
            f"  {w['rel_path']:<12} {w['language']:<6} {w['mean_abs_ms']:7.1f} {w['max_abs_ms']:7.1f}" for w in worst
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus with metadata.csv, mels/ and reference/")
    parser.add_argument("--durations", type=Path, help="folder of {rel_path}.pt files (default: CORPUS/durations)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    result = evaluate(args.corpus, args.durations or args.corpus / "durations")
    print(format_report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return 0
