"""Benchmark: how fast the review page's index loads in a real browser, at N synthetic rows.

    python benchmarks/review_load.py [--rows 20000] [--repeats 5] [--out outputs/benchmarks/review_load] [--json OUT]

Writes the page of ``aligner.review`` with an index of ``--rows`` synthetic utterances (10 speakers, the demo's
four languages and sentences, 3 % failed with a cause, 1 % missing a file, confidences drawn around -3; no
utterance views: the index alone is what loads) into ``--out``, opens it from file:// ``--repeats`` times in
headless Chromium (the system's, through Playwright: ``aligner.review.browser``), each time in a fresh page,
and prints the load time: from the start of navigation to the index sorted least confident first and painted
(``window.REVIEW_READY_MS``, which the page sets then); also the size of data/index.js and the time the page
takes to sort by text and to filter by a speaker. Needs Playwright and Chromium (as the tests do).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from common import WORK, write_json

from aligner.audio import SILENT_AUDIO
from aligner.corpus import MetadataError
from aligner.review.browser import chromium
from aligner.review.page import check_out, write_index
from aligner.search.mas import AlignmentError
from aligner.text.frontend import TABLE_LACKS
from aligner.text.phonemize import OTHER_SCRIPT, SEVERAL_SENTENCES
from aligner.tokens import NO_PHONEMES, UNKNOWN_LANGUAGE

LANGUAGES = ("en-us", "fr-fr", "de", "es")
SENTENCES = Path(__file__).resolve().parents[1] / "aligner" / "demo" / "sentences"


def synthetic_rows(n: int, seed: int = 0) -> list[list]:
    """``n`` index rows (``aligner.review.page.COLUMNS``) of made-up utterances (module doc)."""
    rng = np.random.default_rng(seed)
    texts = {lang: (SENTENCES / f"{lang}.txt").read_text(encoding="utf-8").split("\n") for lang in LANGUAGES}
    texts = {lang: [t for t in lines if t.strip()] for lang, lines in texts.items()}
    causes = [SEVERAL_SENTENCES, OTHER_SCRIPT, NO_PHONEMES, UNKNOWN_LANGUAGE, SILENT_AUDIO, AlignmentError.cause,
              MetadataError.cause, TABLE_LACKS]  # fmt: skip
    rows = []
    for i in range(n):
        speaker = int(rng.integers(10))
        language = LANGUAGES[int(rng.choice(4, p=[0.7, 0.1, 0.1, 0.1]))]
        text = texts[language][int(rng.integers(len(texts[language])))]
        draw = rng.random()
        status, cause, message = "ok", "", ""
        confidence: float | None = round(float(rng.normal(-3.0, 0.6)), 4)
        one_frame: float | None = round(float(rng.uniform(0.3, 0.7)), 4)
        longest: tuple[str | None, int | None] = ("ə", int(rng.integers(5, 40)))
        if draw < 0.03:
            status, cause = "failed", causes[int(rng.integers(len(causes)))]
            message, confidence, one_frame, longest = f"{cause} (synthetic)", None, None, (None, None)
        elif draw < 0.04:
            status, cause, message = "missing", "no wav", "wav not found (synthetic)"
        rows.append(
            [f"{speaker}/{i:06d}", str(speaker), language, text, status, cause, confidence, one_frame, *longest]
            + [message, i]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000, help="synthetic utterances (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="page loads to time (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=WORK / "review_load", help="where the page is written")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    check_out(args.out)
    write_index(args.out, f"{args.rows} synthetic utterances", ["synthetic"], synthetic_rows(args.rows))
    size = (args.out / "data" / "index.js").stat().st_size
    url = (args.out / "index.html").resolve().as_uri()
    loads, sorts, filters = [], [], []
    with chromium() as browser:
        version = f"Chromium {browser.version}"
        for _ in range(args.repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("html[data-ready=index]")
            loads.append(page.evaluate("window.REVIEW_READY_MS"))
            shown = page.locator("#counts").inner_text()
            sorts.append(page.evaluate(TIMED_CLICK, "th[data-key=text]"))
            filters.append(page.evaluate(TIMED_FILTER, "#filter-speaker"))
            page.close()
            if errors or f"of {args.rows} utterances" not in shown:
                print(f"error: the page did not load cleanly: {errors or shown}", file=sys.stderr)
                return 1
    figures = {
        "rows": args.rows,
        "index_js_bytes": size,
        "load_ms": [round(x, 1) for x in loads],
        "load_ms_median": round(statistics.median(loads), 1),
        "sort_by_text_ms_median": round(statistics.median(sorts), 1),
        "filter_by_speaker_ms_median": round(statistics.median(filters), 1),
        "chromium": version,
    }
    print(
        f"review index, {args.rows} rows (data/index.js {size / 2**20:.1f} MiB), {figures['chromium']}: loaded in "
        f"{figures['load_ms_median']:.0f} ms (median of {args.repeats}: {', '.join(f'{x:.0f}' for x in loads)} ms, "
        f"navigation start to the index painted); sort by text {figures['sort_by_text_ms_median']:.0f} ms, "
        f"filter by speaker {figures['filter_by_speaker_ms_median']:.0f} ms"
    )
    if args.json:
        write_json(args.json, "review_load", figures)
    return 0


TIMED_CLICK = """(selector) => {
  const t = performance.now();
  document.querySelector(selector).click();
  return performance.now() - t;
}"""
TIMED_FILTER = """(selector) => {
  const select = document.querySelector(selector);
  const t = performance.now();
  select.selectedIndex = 1;
  select.dispatchEvent(new Event("change"));
  return performance.now() - t;
}"""


if __name__ == "__main__":
    sys.exit(main())
