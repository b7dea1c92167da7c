"""Score Matcha durations against a corpus's true phone boundaries, and check their contract.

    python -m aligner.evaluate --corpus C [--durations DIR] [--json OUT]

Reads ``DIR/{rel_path}.pt`` (default ``C/durations``), the Matcha tokens of every utterance of
``C/metadata.csv`` and the truth in ``C/reference/{rel_path}.json``, and prints:

- phone boundary accuracy per language and overall: % of boundaries within 10, 20, 25 and 50 ms,
  mean and median absolute error, the share of gross errors (> 50 ms) and the mean signed error
  (positive: late), and the 10 worst utterances;
- frame ownership per language and overall (``own``, ``blank``, ``ratio``; per utterance in the worst
  list), which tells a phone holding its frames from a one-frame spike between two fat blanks. The frames
  counted are the mel frames whose centre ((f + 0.5) * hop / sample_rate s) lies inside a reference speech
  phone's [start, end); the tokens a phone owns are those of its characters and the blanks between them
  (with add_blank, IPA character i is token 2i+1, so characters first..last own tokens 2*first+1 ..
  2*last+1; with L entries, tokens first..last); frame f is held by token k when c(k-1) <= f < c(k), c the
  running sum of the durations. ``ownership_pct``: % of those frames held by their phone's own tokens;
  ``blank_share_pct``: % held by an interspersed blank outside the phone's own tokens (a blank between
  phones; 0 without add_blank); ``median_duration_ratio``: median over phones of (seconds of the phone's own
  tokens) / (end - start). Pooled figures pool frames and phones, not utterance averages;
- contract checks: texts espeak could not phonemise (extraction skipped them), files missing, length
  mismatches (neither 2L+1 nor L entries), zero durations, sums that differ from the mel's frame count,
  mels missing.

How tokens meet reference phones (blanks, pauses, zero-length phones, disagreements) is spelled
out in :mod:`aligner.evaluate.phone_match`. Utterances whose phones disagree with their tokens are listed and
left out of the accuracy.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aligner.audio import AudioError
from aligner.corpus import Corpus, add_corpus_options, corpus_from_options, open_corpus
from aligner.durations import load_durations, symbol_times
from aligner.evaluate.cmu_match import is_cmu, matched_phones
from aligner.evaluate.phone_match import PhoneMismatch, PhoneSpan, match_phones
from aligner.evaluate.word_match import word_boundary_errors_ms
from aligner.mels import utterance_frames
from aligner.text.frontend import FRONTEND_HELP, TextFrontend, resolve_frontend
from aligner.tokens import TokenError, Tokens, tokenise

THRESHOLDS_MS = (10, 20, 25, 50)
GROSS_MS = 50
CONTRACT_CHECKS = ("text_not_phonemised", "missing", "length_mismatch", "zero_durations", "sum_mismatch", "mel_missing")


def boundary_errors_ms(ipa: str, durations: np.ndarray, phones: list[dict], seconds: float) -> np.ndarray:
    """Signed error (ms, positive = late) of every phone onset and offset (see aligner.evaluate.phone_match)."""
    return span_errors_ms(ipa, durations, match_phones(ipa, phones), seconds)


def span_errors_ms(
    ipa: str,
    durations: np.ndarray,
    spans: list[PhoneSpan],
    seconds: float,
    edges: list[tuple[bool, bool]] | None = None,
) -> np.ndarray:
    """Signed error (ms, positive = late) of the onset and offset of every reference phone of ``spans``, in
    order; with ``edges``, one (onset?, offset?) pair per span, only the edges marked true."""
    starts, ends = symbol_times(durations, len(ipa), seconds)
    predicted = np.array([(starts[s.first_char], ends[s.last_char]) for s in spans]).reshape(-1, 2)
    truth = np.array([(s.start, s.end) for s in spans]).reshape(-1, 2)
    errors = (predicted - truth) * 1000.0
    return errors.ravel() if edges is None else errors[np.array(edges, dtype=bool).reshape(-1, 2)]


@dataclass
class OwnershipCounts:
    """Frame ownership counts of one utterance, or of many pooled (see :func:`frame_ownership`).

    ``owned``, ``blank_between`` and ``total`` are numbers of mel frames; ``ratios`` holds one
    dimensionless figure per reference phone (predicted seconds / reference seconds).
    """

    owned: int = 0
    blank_between: int = 0
    total: int = 0
    ratios: list[float] = field(default_factory=list)

    @classmethod
    def pooled(cls, counts: Iterable[OwnershipCounts]) -> OwnershipCounts:
        """Sum of frames and concatenation of ratios: pooled figures are exact, not means of means."""
        result = cls()
        for item in counts:
            result.owned += item.owned
            result.blank_between += item.blank_between
            result.total += item.total
            result.ratios.extend(item.ratios)
        return result

    def figures(self) -> dict:
        """``ownership_pct``, ``blank_share_pct`` (% of frames), ``median_duration_ratio`` (None: nothing counted)."""
        return {
            "ownership_pct": float(100 * self.owned / self.total) if self.total else None,
            "blank_share_pct": float(100 * self.blank_between / self.total) if self.total else None,
            "median_duration_ratio": float(np.median(self.ratios)) if self.ratios else None,
        }


def frame_ownership(ipa: str, durations: np.ndarray, phones: list[dict], seconds: float) -> OwnershipCounts:
    """Who holds the mel frames of each reference speech phone (the definitions of the module doc); the
    phones matched to the tokens by :func:`aligner.evaluate.phone_match.match_phones`."""
    return span_ownership(ipa, durations, match_phones(ipa, phones), seconds)


def span_ownership(ipa: str, durations: np.ndarray, spans: list[PhoneSpan], seconds: float) -> OwnershipCounts:
    """Who holds the mel frames of the reference phones of ``spans``.

    ``ipa``: the utterance's IPA string, L characters. ``durations``: frames per token, shape (2L+1,)
    with add_blank (character i is token 2i+1, blanks at even indices) or (L,) without. ``spans``:
    reference phones (seconds) and the characters that spell them. ``seconds``: length of
    one mel frame (hop / sample_rate, e.g. 256 / 24000). Returns the frames inside reference phones
    (``total``), those held by their phone's own tokens (``owned``) and those held by a blank outside them
    (``blank_between``), and per phone the ratio of its own tokens' duration to its reference duration.
    """
    durations = np.asarray(durations, dtype=np.int64)
    if len(durations) == 2 * len(ipa) + 1:
        add_blank = True
    elif len(durations) == len(ipa):
        add_blank = False
    else:
        raise ValueError(
            f"{len(durations)} durations for {len(ipa)} symbols (expected {len(ipa)} or {2 * len(ipa) + 1})"
        )
    ends = np.cumsum(durations)
    n_frames = int(ends[-1]) if len(ends) else 0
    holder = np.searchsorted(ends, np.arange(n_frames), side="right")  # token k holds frame f: c(k-1) <= f < c(k)
    centres = (np.arange(n_frames) + 0.5) * seconds
    counts = OwnershipCounts()
    for span in spans:
        first, last = (
            (2 * span.first_char + 1, 2 * span.last_char + 1) if add_blank else (span.first_char, span.last_char)
        )
        inside = holder[np.searchsorted(centres, span.start, "left") : np.searchsorted(centres, span.end, "left")]
        own = (inside >= first) & (inside <= last)
        counts.total += int(inside.size)
        counts.owned += int(own.sum())
        if add_blank:
            counts.blank_between += int(((inside % 2 == 0) & ~own).sum())
        if span.end > span.start:
            counts.ratios.append(float(durations[first : last + 1].sum() * seconds / (span.end - span.start)))
    return counts


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
    ownership: dict[str, OwnershipCounts] = field(default_factory=dict)
    word_errors_ms: dict[str, np.ndarray] = field(default_factory=dict)  # where phones disagree but words match
    cmu_errors_ms: dict[str, np.ndarray] = field(default_factory=dict)  # ARPAbet truth: matched phones
    cmu_ownership: dict[str, OwnershipCounts] = field(default_factory=dict)

    def _figures(self, rel_paths: list[str]) -> dict:
        errors = [self.errors_ms[r] for r in rel_paths]
        return {
            "utterances": len(rel_paths),
            **accuracy(np.concatenate(errors) if errors else np.array([])),
            **OwnershipCounts.pooled(self.ownership[r] for r in rel_paths if r in self.ownership).figures(),
        }

    def by_language(self) -> dict[str, dict]:
        """Accuracy and frame ownership (pooled over frames and phones) per language, then overall under ``"all"``."""
        table = {}
        for language in sorted(set(self.languages.values())):
            table[language] = self._figures([r for r in self.errors_ms if self.languages[r] == language])
        table["all"] = self._figures(list(self.errors_ms))
        return table

    def word_accuracy(self) -> dict | None:
        """Accuracy at word boundaries (``aligner.evaluate.word_match``) of the utterances scored there, None
        when there are none."""
        if not self.word_errors_ms:
            return None
        return {"utterances": len(self.word_errors_ms), **accuracy(np.concatenate(list(self.word_errors_ms.values())))}

    def cmu_accuracy(self) -> dict | None:
        """Accuracy and frame ownership of the matched phones of ARPAbet references (``aligner.evaluate.cmu_match``),
        None when there are none."""
        if not self.cmu_errors_ms:
            return None
        return {
            "utterances": len(self.cmu_errors_ms),
            **accuracy(np.concatenate(list(self.cmu_errors_ms.values()))),
            **OwnershipCounts.pooled(self.cmu_ownership.values()).figures(),
        }

    def worst(self, n: int = 10) -> list[dict]:
        """The ``n`` utterances with the largest mean absolute boundary error, with their frame ownership."""
        rows = [
            {
                "rel_path": r,
                "language": self.languages[r],
                "mean_abs_ms": float(np.abs(e).mean()),
                "max_abs_ms": float(np.abs(e).max()),
                **(self.ownership[r].figures() if r in self.ownership else {}),
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
            "word_accuracy": self.word_accuracy(),
            "cmu_phone_accuracy": self.cmu_accuracy(),
            "worst": self.worst(),
        }


def evaluate(corpus: Corpus | Path, durations_dir: Path, frontend: TextFrontend | None = None) -> Evaluation:
    """Score every utterance of ``corpus`` (a folder, or an opened ``Corpus``: its mel grid decides the frame
    length) whose reference exists against the ``{rel_path}.pt`` files of ``durations_dir``; its tokens come
    from ``frontend`` (``aligner.tokens``; default: the installed Matcha's, as extraction's do)."""
    corpus = open_corpus(corpus)
    frontend = frontend or resolve_frontend()
    return score_tokens(corpus, tokenise(corpus.read(), frontend), durations_dir, frontend)


def score_tokens(
    corpus: Corpus,
    utterance_tokens: list[Tokens | TokenError],
    durations_dir: Path,
    frontend: TextFrontend | None = None,
) -> Evaluation:
    """``evaluate`` of the utterances ``utterance_tokens`` (``aligner.tokens.tokenise`` of ``corpus``'s, in its
    order, by ``frontend``) gives, so that several duration folders are scored on one tokenisation. An utterance
    whose reference phones are not its tokens' (another engine's phone set) is scored at its words where the
    reference has them."""
    frontend = frontend or resolve_frontend()
    seconds = corpus.frame_seconds
    result = Evaluation(str(durations_dir), utterances=len(utterance_tokens))
    for tokens in utterance_tokens:
        utterance, rel_path = tokens.utterance, tokens.utterance.rel_path
        if isinstance(tokens, TokenError):
            result.contract["text_not_phonemised"].append(rel_path)
            continue
        ipa = tokens.ipa
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
        try:
            if utterance_frames(corpus, utterance) != durations.sum():
                result.contract["sum_mismatch"].append(rel_path)
        except (OSError, AudioError):
            result.contract["mel_missing"].append(rel_path)
        reference_file = corpus.reference(rel_path)
        if not reference_file.exists():
            continue
        reference = json.loads(reference_file.read_text(encoding="utf-8"))
        try:
            errors = boundary_errors_ms(ipa, durations, reference["phones"], seconds)
            ownership = frame_ownership(ipa, durations, reference["phones"], seconds)
        except PhoneMismatch:
            try:
                result.word_errors_ms[rel_path] = word_boundary_errors_ms(
                    utterance.text, ipa, durations, reference.get("words") or [], seconds, frontend, utterance.language
                )
            except PhoneMismatch:
                result.disagreeing.append(rel_path)
                continue
            if is_cmu(reference["phones"]):
                matched = matched_phones(utterance.text, ipa, reference["words"], reference["phones"], frontend,
                                         utterance.language)  # fmt: skip
                spans = [span for span, _, _ in matched]
                edges = [(onset, offset) for _, onset, offset in matched]
                result.cmu_errors_ms[rel_path] = span_errors_ms(ipa, durations, spans, seconds, edges)
                result.cmu_ownership[rel_path] = span_ownership(ipa, durations, spans, seconds)
            continue
        result.errors_ms[rel_path] = errors
        result.ownership[rel_path] = ownership
        result.languages[rel_path] = utterance.language
    return result


def _examples(rel_paths: list[str], n: int = 10) -> str:
    return ", ".join(rel_paths[:n]) + (" ..." if len(rel_paths) > n else "")


def accuracy_header() -> str:
    """Column titles of :func:`accuracy_cells`."""
    thresholds = "".join(f"{'<=' + str(t) + 'ms':>9}" for t in THRESHOLDS_MS)
    return (
        f"{'utts':>6}{'bounds':>8}{thresholds}{'mean':>8}{'median':>8}{'>50ms':>8}{'bias':>8}"
        f"{'own':>8}{'blank':>8}{'ratio':>8}"
    )


def _cell(value: float | None, spec: str, suffix: str = "") -> str:
    width = 8 - len(suffix)
    return f"{value:>{width}{spec}}{suffix}" if value is not None else f"{'-':>8}"


def accuracy_cells(row: dict) -> str:
    """One row of :meth:`Evaluation.by_language` as fixed-width text under :func:`accuracy_header`."""
    if not row["boundaries"]:
        return f"{row['utterances']:>6}{0:>8}   (nothing scored)"
    cells = f"{row['utterances']:>6}{row['boundaries']:>8}"
    cells += "".join(f"{row[f'within_{t}ms']:>8.1f}%" for t in THRESHOLDS_MS)
    cells += f"{row['mean_abs_ms']:>8.1f}{row['median_abs_ms']:>8.1f}"
    cells += f"{row['gross_pct']:>7.1f}%{row['mean_signed_ms']:>+8.1f}"
    cells += _cell(row.get("ownership_pct"), ".1f", "%") + _cell(row.get("blank_share_pct"), ".1f", "%")
    return cells + _cell(row.get("median_duration_ratio"), ".2f")


def format_report(result: Evaluation) -> str:
    """The table the command prints."""
    lines = [
        f"durations: {result.durations_dir}  ({result.utterances} utterances)",
        f"{'language':<9}{accuracy_header()}",
    ]
    lines += [f"{language:<9}{accuracy_cells(row)}" for language, row in result.by_language().items()]
    lines.append("(errors in ms; bias = mean signed error, positive = boundaries late)")
    lines.append(
        "(own / blank: % of frames inside reference phones held by the phone's own tokens / by a blank between"
        " phones; ratio: median phone duration over its reference duration)"
    )
    checks = ", ".join(f"{check.replace('_', ' ')} {len(v)}" for check, v in result.contract.items())
    lines.append(f"contract: {checks}")
    for check, rel_paths in result.contract.items():
        if rel_paths:
            lines.append(f"  {check.replace('_', ' ')}: {_examples(rel_paths)}")
    words = result.word_accuracy()
    if words:
        lines.append(f"{'words':<9}{accuracy_cells(words)}  (word onsets and offsets of {words['utterances']} "
                     "utterances whose reference phones are another engine's)")  # fmt: skip
    cmu = result.cmu_accuracy()
    if cmu:
        lines.append(f"{'cmu':<9}{accuracy_cells(cmu)}  (phones inside words matched to the ARPAbet reference of "
                     f"{cmu['utterances']} utterances: aligner.evaluate.cmu_match)")  # fmt: skip
    if result.disagreeing:
        lines.append(
            f"left out, phones disagree with tokens: {len(result.disagreeing)} ({_examples(result.disagreeing)})"
        )
    worst = result.worst()
    if worst:
        lines.append("worst utterances (mean / max abs error, ms; own %, blank %, ratio):")
        lines += [
            f"  {w['rel_path']:<12} {w['language']:<6} {w['mean_abs_ms']:7.1f} {w['max_abs_ms']:7.1f}"
            + _cell(w.get("ownership_pct"), ".1f", "%")
            + _cell(w.get("blank_share_pct"), ".1f", "%")
            + _cell(w.get("median_duration_ratio"), ".2f")
            for w in worst
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_corpus_options(parser, "corpus with its filelists, wavs and reference/")
    parser.add_argument("--durations", type=Path, help="folder of {rel_path}.pt files (default: CORPUS/durations)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    args = parser.parse_args(argv)
    corpus = corpus_from_options(parser, args)
    result = evaluate(corpus, args.durations or corpus.durations_dir, resolve_frontend(args.text_frontend))
    print(format_report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return 0
