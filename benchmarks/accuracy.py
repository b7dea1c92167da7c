"""Benchmark: phone boundary accuracy of every aligner on the demo corpus (reads ``make demo``'s outputs).

    python benchmarks/accuracy.py [--corpus data/demo] [--aligner NAME=DIR ...] [--json OUT]

Scores each durations folder against the corpus's true boundaries with aligner.evaluate.score (the figures
of ``python -m aligner.evaluate --corpus C --durations DIR --json OUT``, overall and per language: boundary
accuracy and frame ownership, ``own``/``blank``/``ratio``, defined in aligner.evaluate.score).
The default folders are the ones ``make demo`` writes: wav2vec2 = data/demo/durations, forced_align =
outputs/demo/forced_align, asrcnn = outputs/demo/asrcnn. A folder that is missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import RESULTS, ROOT, write_json

from aligner.evaluate.score import accuracy_cells, accuracy_header, evaluate

DEFAULT_ALIGNERS = (
    f"wav2vec2={ROOT / 'data/demo/durations'}",
    f"forced_align={ROOT / 'outputs/demo/forced_align'}",
    f"asrcnn={ROOT / 'outputs/demo/asrcnn'}",
)


def named_folder(text: str) -> tuple[str, Path]:
    """``NAME=DIR`` as (name, folder)."""
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, Path(folder)


def score(corpus: Path, aligners: list[tuple[str, Path]]) -> dict:
    """aligner.evaluate.score's figures for every folder that exists, and notes on the ones skipped."""
    results, notes = {}, []
    for name, folder in aligners:
        if not folder.is_dir():
            notes.append(f"{name} skipped: {folder} is missing (make demo writes it)")
            continue
        results[name] = evaluate(corpus, folder).to_json()
    return {"corpus": str(corpus), "aligners": results, "notes": notes}


def format_figures(figures: dict) -> str:
    """Overall accuracy, one line per aligner."""
    lines = [f"corpus {figures['corpus']}", f"{'aligner':<14}{accuracy_header()}{'contract':>10}"]
    for name, result in figures["aligners"].items():
        broken = sum(check["count"] for check in result["contract"].values())
        lines.append(f"{name:<14}{accuracy_cells(result['accuracy']['all'])}{broken:>10}")
    lines.append("(errors in ms; bias: mean signed error, positive = late; contract: files breaking the contract)")
    lines.append(
        "(own / blank: % of frames inside reference phones held by the phone's own tokens / by a blank between"
        " phones; ratio: median phone duration over its reference duration)"
    )
    return "\n".join(lines + figures["notes"])


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "demo", help="corpus with reference/")
    parser.add_argument(
        "--aligner",
        type=named_folder,
        action="append",
        help="NAME=DIR, repeatable (default: make demo's wav2vec2, forced_align and asrcnn folders)",
    )
    parser.add_argument("--json", type=Path, help=f"write the figures here (e.g. {RESULTS}/accuracy.json)")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        print(f"no corpus at {args.corpus} (make demo builds data/demo): nothing scored", file=sys.stderr)
        figures = {"corpus": str(args.corpus), "aligners": {}, "notes": [f"no corpus at {args.corpus}"]}
    else:
        figures = score(args.corpus, args.aligner or [named_folder(a) for a in DEFAULT_ALIGNERS])
        print(format_figures(figures))
    if args.json:
        write_json(args.json, "accuracy", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
