"""Write the benchmark tables (markdown) from the JSON files of the benchmark scripts.

    python benchmarks/report.py [--results benchmarks/results] [--out docs/benchmark-results.md]

Reads every *.json in --results (each written by one benchmark script: train_tiny, extract_stages,
mas, memory, accuracy, gpu_check) and writes one table per benchmark, plus a table of where and when
each file was measured (date, CPU, cores, RAM, GPU, load, versions). Every extract_stages*.json is a
row of the extraction table (its --label names it: e.g. before / after a speed-up), and so is the
stage split of a gpu_check*.json copied here from a GPU machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import RESULTS, ROOT

BEFORE_AFTER = (
    "To show a speed-up, measure the old code and the new one on the same machine: "
    "`python benchmarks/extract_stages.py --label before --json benchmarks/results/extract_stages-before.json`, "
    "then the same with `--label after` (and `-after.json`); `python benchmarks/report.py` adds both rows. "
    "*vs first*: total time per second of audio of the first row divided by this row's."
)


def table(header: list[str], rows: list[list]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]


def pct(value: float | None, digits: int = 1) -> str:
    """``value`` (a fraction) as a percentage."""
    return "-" if value is None else f"{100 * value:.{digits}f} %"


def where(files: dict[str, dict]) -> list[str]:
    """Date, machine and versions of every result file."""
    rows = []
    for name, data in files.items():
        m, v = data["machine"], data["versions"]
        rows.append(
            [
                f"`{name}`", data["date"][:16].replace("T", " "), m["cpu"], f"{m['usable_cores']}/{m['cores']}",
                f"{m['ram_gib']} GiB", m["gpu"] or "-", m["load_average_1min"], v["python"], v["torch"],
                v["transformers"], v["numpy"],
            ]
        )  # fmt: skip
    header = ["file", "date", "CPU", "cores (usable/all)", "RAM", "GPU", "load", "python", "torch", "transformers"]
    return ["## Where and when", "", *table([*header, "numpy"], rows)]


def training(runs: list[dict]) -> list[str]:
    """Training time to reach held-out PERs."""
    targets = [point["per"] for point in runs[0]["time_to_per"]]
    rows = []
    for run in runs:
        reached = [f"{p['seconds'] / 60:.1f} min" if p["step"] else "-" for p in run["time_to_per"]]
        rows.append(
            [
                run["train_utterances"], run["processes"], run["steps"], f"{run['steps_per_second']:.2f}",
                f"{run['train_seconds'] / 60:.1f} min", *reached, pct(run["final_per"]), f"{run['peak_rss_mib']} MiB",
            ]
        )  # fmt: skip
    header = ["train utts", "processes", "steps", "steps/s", "training time"]
    header += [f"to PER ≤ {100 * t:.0f} %" for t in targets] + ["final PER", "peak RSS"]
    return [
        "## Training time to PER (configs/aligner/tiny.yaml, benchmarks/train_tiny.py)",
        "",
        *table(header, rows),
        "",
        "Training time excludes data preparation and evaluation; PER is measured every `eval_steps`.",
    ]


def extraction(runs: list[dict]) -> list[str]:
    """Extraction speed by stage, one row per run (label)."""
    first = runs[0]["total"]["rtf"]
    stage_names = list(runs[0]["stages"])
    rows = []
    for run in runs:
        stages = [f"{run['stages'][s]['seconds']:.2f} s ({pct(run['stages'][s]['share'], 0)})" for s in stage_names]
        rows.append(
            [
                run["label"], run["device"], run["utterances"], f"{run['audio_seconds'] / 60:.1f}", *stages,
                f"{run['total']['seconds']:.1f} s", run["total"]["utt_per_s"], f"{run['total']['rtf']:.4f}",
                f"{first / run['total']['rtf']:.2f}x", run["slowest_stage"],
            ]
        )  # fmt: skip
    header = ["run", "device", "utts", "audio min", *stage_names, "total", "utt/s", "RTF", "vs first", "slowest"]
    return [
        "## Extraction speed by stage (benchmarks/extract_stages.py)",
        "",
        "audio: wav to 16 kHz samples; forward: Wav2Vec2 log-posteriors; scores+MAS: score matrix, mel grid, "
        "MAS; write: contract check and atomic .pt write. RTF: seconds of work per second of audio.",
        "",
        *table(header, rows),
        "",
        BEFORE_AFTER,
    ]


def mas(runs: list[tuple[str, dict]]) -> list[str]:
    """MAS throughput per backend."""
    rows = []
    for name, run in runs:
        shape = f"{run['batches']}x{run['batch_size']}, ≤{run['max_tokens']}x{run['max_frames']}"
        for backend, row in run["backends"].items():
            rows.append(
                [
                    f"`{name}`", shape, backend, row["device"], row["matrices_per_s"], row["mcells_per_s"],
                    f"{row['speedup_vs_cython']:.2f}x", "yes" if row["agrees_with_cython"] else "**NO**",
                ]
            )  # fmt: skip
    notes = sorted({note for _, run in runs for note in run["notes"]})
    header = ["file", "batches, tokens x frames", "backend", "device", "matrices/s", "Mcells/s", "vs cython"]
    return [
        "## MAS throughput (benchmarks/mas.py)",
        "",
        *table([*header, "paths equal Cython"], rows),
        "",
        *[f"- {note}" for note in notes],
    ]


def memory(runs: list[dict]) -> list[str]:
    """Peak memory of the extraction CLI and its growth over the corpus, and of training's data preparation."""
    extraction = [run for run in runs if run.get("stage", "extraction") == "extraction"]
    preparation = [run for run in runs if run.get("stage") == "training-data"]
    rows = [
        [
            run["utterances"], run["batch_size"], f"{run['peak_rss_mib']} MiB",
            f"{run['peak_anonymous_mib']} MiB" if "peak_anonymous_mib" in run else "-",
            f"{run['rss_at_10pct_mib']} MiB",
            f"{run['rss_at_100pct_mib']} MiB", f"{run['growth_10_to_100pct_mib']:+.1f} MiB",
            f"{run['wall_seconds'] / 60:.1f} min", run["utt_per_s_wall"],
        ]
        for run in sorted(extraction, key=lambda r: r["utterances"])
    ]  # fmt: skip
    header = ["utts", "batch", "peak RSS", "peak anonymous", "RSS at 10 %", "RSS at 100 %", "growth 10→100 %", "wall",
              "utt/s (wall)"]  # fmt: skip
    lines = [
        "## Memory of the extraction CLI over a long corpus (benchmarks/memory.py)",
        "",
        *table(header, rows),
        "",
        "Utterances come longest first: growth from 10 % to 100 % of the corpus would be a leak. Anonymous: the "
        "process's own memory (RssAnon), without the pages of files it maps, which the kernel may drop.",
    ]
    if preparation:
        rows = [
            [run["utterances"], f"{run['data_report']['train_hours']:.1f} h", f"{run['peak_rss_mib']} MiB",
             f"{run['peak_anonymous_mib']} MiB", f"{run['wall_seconds']:.0f} s"]
            for run in sorted(preparation, key=lambda r: r["utterances"])
        ]  # fmt: skip
        lines += [
            "",
            "## Memory of training's data preparation (benchmarks/memory.py --stage training-data)",
            "",
            *table(["utts", "training audio", "peak RSS", "peak anonymous", "wall"], rows),
            "",
            "The run: `aligner/train.py configs/aligner/tiny.yaml --max_steps 0 --acoustic_rounds 0` with a fresh "
            "data cache (phonemes, decoded audio, filters, split; then one evaluation and the save). RSS counts "
            "the pages of the Arrow files it reads; the decoded audio is written to disk as it comes.",
        ]
    return lines


def accuracy(runs: list[dict]) -> list[str]:
    """Boundary accuracy of every aligner scored."""
    rows, notes = [], []
    for run in runs:
        notes += run["notes"]
        for name, result in run["aligners"].items():
            a = result["accuracy"]["all"]
            broken = sum(check["count"] for check in result["contract"].values())
            if not a["boundaries"]:
                rows.append([name, a["utterances"], 0, *["-"] * 8, broken])
                continue
            rows.append(
                [
                    name, a["utterances"], a["boundaries"], *[f"{a[f'within_{t}ms']:.1f} %" for t in (10, 20, 25, 50)],
                    f"{a['mean_abs_ms']:.1f}", f"{a['median_abs_ms']:.1f}", f"{a['gross_pct']:.1f} %",
                    f"{a['mean_signed_ms']:+.1f}", broken,
                ]
            )  # fmt: skip
    header = ["aligner", "utts", "boundaries", "≤10 ms", "≤20 ms", "≤25 ms", "≤50 ms", "mean ms", "median ms"]
    return [
        f"## Accuracy on the demo corpus (benchmarks/accuracy.py: {', '.join(r['corpus'] for r in runs)})",
        "",
        *table([*header, ">50 ms", "bias ms", "contract failures"], rows),
        "",
        *[f"- {note}" for note in notes],
    ]


def transcripts(runs: list[dict]) -> list[str]:
    """Per corpus, how many corrupted transcripts the transcript check ranks on top and names."""
    kinds = ("swap", "replace", "delete", "insert", "number")
    rows = []
    for run in runs:
        k = run["kinds"]
        one_word = [k[kind] for kind in kinds[1:]]
        named = sum(c["named"] for c in one_word), sum(c["of"] for c in one_word)
        rows.append(
            [
                run["corpus"], run["utterances"], f"{pct(run['recall_at_top'], 0)} of {run['corrupted']}",
                *[f"{k[kind]['flagged']}/{k[kind]['of']}" for kind in kinds], f"{named[0]}/{named[1]}",
                f"{run['corrupted_above_threshold']} / {run['clean_above_threshold']}",
                f"{100 * run['check_seconds'] / max(run['extraction_seconds'] - run['check_seconds'], 1e-9):.1f} %",
            ]
        )  # fmt: skip
    header = ["corpus", "utts", "in the top 5 %", *kinds, "one-word faults named", "above threshold: wrong / right"]
    return [
        "## Wrong transcripts (benchmarks/transcript_check.py)",
        "",
        *table([*header, "time added"], rows),
        "",
        "5 % of the transcripts made wrong, in equal numbers of each kind; flagged: among the top 5 % by "
        "transcript_score (docs/transcripts.md).",
    ]


def small_corpora(runs: list[dict]) -> list[str]:
    """Test and held-out PER of tiny.yaml variants per training corpus."""
    rows = [
        [Path(r["corpus"]).name, r["variant"], f"{pct(r['test_per'])} ({r['test_utterances']})", pct(r["held_out_per"]),
         r["best_step"]]
        for run in runs
        for r in run["runs"]
    ]  # fmt: skip
    return [
        "## Small corpora (benchmarks/small_corpus.py)",
        "",
        *table(["corpus", "variant", "test PER (utterances)", "held-out PER", "best step"], rows),
        "",
        "Test PER: greedy CTC on a test corpus's sentences the training corpus lacks (docs/training.md).",
    ]


def gpu_checks(runs: list[tuple[str, dict]]) -> list[str]:
    """Training precisions, CLI speed and failed checks of the GPU checks."""
    lines = ["## GPU check (scripts/gpu_check.sh)", ""]
    for name, run in runs:
        trained = [
            f"{r['logged']} {r['steps_per_second']} steps/s"
            for key, r in run.items()
            if key.startswith("training_") and "steps_per_second" in r
        ]
        failed = ", ".join(run["failed_checks"]) or "none"
        lines.append(
            f"- `{name}` on {run['machine']['gpu'] or run['device']}: training {'; '.join(trained) or '-'}; "
            f"extraction CLI {run['extraction']['cli_speed'] or '-'}; failed checks: {failed}"
        )
    return lines


def render(results: Path) -> str:
    """The whole markdown page from the JSON files in ``results``."""
    files = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(results.glob("*.json"))}
    by_kind: dict[str, list[tuple[str, dict]]] = {}
    for name, data in sorted(files.items(), key=lambda item: item[1]["date"]):
        by_kind.setdefault(data["benchmark"], []).append((name, data))
    gpu = by_kind.get("gpu_check", [])
    sections = [
        (training, [d for _, d in by_kind.get("train_tiny", [])]),
        (extraction, [d for _, d in by_kind.get("extract_stages", [])] + [d["extraction_stages"] for _, d in gpu]),
        (mas, by_kind.get("mas", []) + [(name, d["mas"]) for name, d in gpu]),
        (memory, [d for _, d in by_kind.get("memory", [])]),
        (accuracy, [d for _, d in by_kind.get("accuracy", [])]),
        (transcripts, [d for _, d in by_kind.get("transcript_check", [])]),
        (small_corpora, [d for _, d in by_kind.get("small_corpus", [])]),
        (gpu_checks, gpu),
    ]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python benchmarks/report.py`) from the JSON files in benchmarks/results; rerun a "
        "script of `benchmarks/` to refresh its table. Timings depend on the machine and on what else ran on "
        "it: the last table gives each file's date, machine, load (1-minute load average) and versions.",
        "",
    ]
    for render_section, runs in sections:
        if runs:
            lines += [*render_section(runs), ""]
    if files:
        lines += where(files)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the JSON files (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="markdown file to write (default: docs/benchmark-results.md)")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "docs" / "benchmark-results.md"
    out.write_text(render(args.results), encoding="utf-8")
    print(f"tables written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
