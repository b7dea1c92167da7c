"""Benchmark of the layout: how the package's imports and one extraction run's calls follow the layers.

    python benchmarks/layers.py [--corpus C --checkpoint D [--limit 8]] [--json OUT]

Prints the modules and packages of ``aligner/`` and ``matcha/`` (units), the imports between units, how many
of those run to a higher layer (the layers of ``tests/test_layers.py``, which fails on any), and, with
``--corpus`` and ``--checkpoint``, how often one extraction run (``python -m matcha.utils.extract_durations``
on the first ``--limit`` utterances, into a temporary folder) calls from a module of one layer into a module
of a higher one: distinct (caller, callee) function pairs, traced with ``sys.setprofile``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

from common import ROOT, write_json

sys.path.insert(0, str(ROOT / "tests"))
from test_layers import LAYER, unit_imports, unit_of  # noqa: E402 - the layers are defined once, by their test


def import_figures() -> dict:
    """Units, imports between them and imports to a higher layer."""
    edges = unit_imports()
    units = {unit for edge in edges for unit in edge}
    upward = sorted(f"{a} -> {b}" for a, b in edges if LAYER[b] > LAYER[a])
    return {"units": len(units), "imports": len(edges), "upward_imports": upward}


def traced_extraction(corpus: Path, checkpoint: Path, limit: int) -> dict:
    """Distinct call pairs of one extraction run, and those that climb to a higher layer."""
    from aligner.extract.cli import main

    with tempfile.TemporaryDirectory() as work:
        subset = Path(work) / "corpus"
        subset.mkdir()
        for folder in ("wav", "wavs", "mels", "mel"):
            if (corpus / folder).exists():
                (subset / folder).symlink_to((corpus / folder).resolve())
        rows = list(csv.reader((corpus / "metadata.csv").open(encoding="utf-8"), delimiter="|"))[:limit]
        (subset / "metadata.csv").write_text("".join("|".join(r) + "\n" for r in rows), encoding="utf-8")
        pairs: set[tuple[str, str]] = set()

        def profile(frame, event, arg):  # noqa: ANN001 - sys.setprofile's signature
            if event != "call":
                return
            callee, caller = (
                frame.f_globals.get("__name__", ""),
                frame.f_back and frame.f_back.f_globals.get("__name__", ""),
            )
            if callee.startswith(("aligner.", "matcha.")) and caller and caller.startswith(("aligner.", "matcha.")):
                pairs.add((f"{caller}", f"{callee}.{frame.f_code.co_name}"))

        sys.setprofile(profile)
        try:
            status = main(["--corpus", str(subset), "--checkpoint", str(checkpoint), "--out-dir", f"{work}/out"])
        finally:
            sys.setprofile(None)
    climbs = sorted(
        f"{caller} -> {callee}"
        for caller, callee in pairs
        if LAYER[unit_of(callee.rsplit(".", 1)[0])] > LAYER[unit_of(caller)]
    )
    return {"exit_status": status, "call_pairs": len(pairs), "calls_climbing_back": climbs}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a corpus to trace one extraction run on")
    parser.add_argument("--checkpoint", type=Path, help="its trained aligner")
    parser.add_argument("--limit", type=int, default=8, help="utterances of the traced run (default: 8)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = import_figures()
    print(f"{figures['units']} units, {figures['imports']} imports between them, "
          f"{len(figures['upward_imports'])} to a higher layer {figures['upward_imports']}")  # fmt: skip
    if args.corpus and args.checkpoint:
        figures |= traced_extraction(args.corpus, args.checkpoint, args.limit)
        climbs = figures["calls_climbing_back"]
        print(f"extraction of {args.limit} utterances: {figures['call_pairs']} distinct calls between modules, "
              f"{len(climbs)} climbing to a higher layer {climbs}")  # fmt: skip
    if args.json:
        write_json(args.json, "layers", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
