"""Benchmark: the same demo corpus aligned at other sample rates and mel grids, in one table.

    python benchmarks/sample_rates.py [--corpus data/demo] [--checkpoint outputs/aligner/tiny] \
        [--work outputs/benchmarks/sample_rates] [--utterances N] [--json FILE]

For every variant (rate, hop) of ``VARIANTS`` it builds, once, a copy of the corpus at that rate under
``WORK/demo-RATE/`` (the 24 kHz wavs resampled with soxr VHQ and written as 16-bit PCM, or copied at 24 kHz;
the same metadata.csv, its first N lines with ``--utterances N``; reference/ linked; no mels/, so the frame
counts are floor(samples / hop), as upstream Matcha's loader computes its mels) and a Matcha data YAML
``WORK/demo-RATE-hopHOP.yaml`` (train_filelist_path, sample_rate, hop_length). Then, one variant at a time:

- extraction as a user runs it, in a subprocess (``python -m matcha.utils.extract_durations --data-config
  YAML --format pt --overwrite --device cpu``), with its wall time and the speed it reports (utt/s, real-time
  factor); its output goes to ``WORK/durations-RATE-hopHOP.log``;
- the overall figures of ``aligner.evaluate.score`` (as ``python -m aligner.evaluate`` prints them);
- the ceiling of that grid: durations built from the truth itself (``aligner.evaluate.reference_durations``),
  scored the same way.

The table ends with each row's difference to the 24000 Hz / hop 256 row within 10 and 20 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import yaml
from common import ROOT, WORK, write_json

from aligner.corpus import Corpus
from aligner.evaluate.reference_durations import reference_durations
from aligner.evaluate.score import accuracy_cells, accuracy_header, evaluate

SOURCE_RATE = 24000
# (sample rate, hop): the demo's own grid first (the row the others are compared with), upstream LJSpeech's
# 22.05 kHz grid, 16 kHz with the same hop and with a 10 ms hop, 44.1 kHz with the same hop and a doubled one
VARIANTS = [(24000, 256), (22050, 256), (16000, 256), (16000, 160), (44100, 256), (44100, 512)]
SPEED = re.compile(r"speed \(this process\): ([0-9.]+) utt/s, real-time factor ([0-9.]+)")
PCM16_MAX = 32767 / 32768


def build_corpus(source: Path, folder: Path, rate: int, lines: list[str]) -> dict:
    """``folder``: ``source`` at ``rate`` (wavs resampled or copied, the given filelist lines, reference/ linked,
    no mels); wavs already there are kept. Returns how many wavs were written and how many samples clipped."""
    marker = folder / "source.json"
    if marker.is_file():
        built_from = json.loads(marker.read_text(encoding="utf-8"))
        if built_from != {"source": str(source.resolve()), "rate": rate}:
            raise SystemExit(f"{folder} was built from {built_from}, not {source.resolve()} at {rate} Hz: remove it")
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"source": str(source.resolve()), "rate": rate}) + "\n", encoding="utf-8")
    reference = folder / "reference"
    if not reference.exists():
        reference.symlink_to((source / "reference").resolve(), target_is_directory=True)
    written, clipped = 0, 0
    for line in lines:
        rel_path = line.split("|", 1)[0]
        source_wav = next(source / name / f"{rel_path}.wav" for name in ("wavs", "wav") if (source / name).is_dir())
        target = folder / "wavs" / f"{rel_path}.wav"
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        if rate == SOURCE_RATE:
            shutil.copyfile(source_wav, partial)
        else:
            audio, source_rate = sf.read(source_wav, dtype="float64")
            if source_rate != SOURCE_RATE:
                raise SystemExit(f"{source_wav}: {source_rate} Hz, not {SOURCE_RATE}")
            resampled = soxr.resample(audio, SOURCE_RATE, rate, quality="VHQ")
            clipped += int(np.count_nonzero(np.abs(resampled) > PCM16_MAX))
            sf.write(partial, np.clip(resampled, -1.0, PCM16_MAX), rate, subtype="PCM_16", format="WAV")
        partial.replace(target)
        written += 1
    (folder / "metadata.csv").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return {"wavs_written": written, "samples_clipped": clipped}


def data_yaml(path: Path, corpus: Path, rate: int, hop: int) -> Path:
    """A Matcha data YAML of ``corpus`` on the grid (rate, hop)."""
    settings = {"train_filelist_path": str((corpus / "metadata.csv").resolve()), "sample_rate": rate, "hop_length": hop}
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def extract(config: Path, checkpoint: Path, out_dir: Path, log: Path) -> dict:
    """Run extraction as a user does; its exit status, wall time and the speed it reports."""
    command = [
        sys.executable,
        "-m",
        "matcha.utils.extract_durations",
        "--data-config",
        str(config),
        "--checkpoint",
        str(checkpoint),
        "--out-dir",
        str(out_dir),
        "--format",
        "pt",
        "--overwrite",
        "--device",
        "cpu",
    ]
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        done = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - start
    output = log.read_text(encoding="utf-8", errors="replace")
    speed = SPEED.findall(output)
    grid = [line.strip() for line in output.splitlines() if line.startswith("mel grid:")]
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-25:])
        print(f"  extraction exited {done.returncode} (full output in {log}); its last lines:\n{tail}", flush=True)
    return {
        "command": " ".join(command),
        "returncode": done.returncode,
        "wall_s": round(wall, 1),
        "utt_per_s": float(speed[-1][0]) if speed else None,
        "real_time_factor": float(speed[-1][1]) if speed else None,
        "grid_line": grid[0] if grid else None,
        "log": str(log),
    }


def scored(corpus: Corpus, durations: Path) -> dict:
    """aligner.evaluate.score's figures of ``durations``: overall, per language and its contract checks."""
    result = evaluate(corpus, durations)
    return {
        "overall": result.by_language()["all"],
        "by_language": result.by_language(),
        "contract": {check: len(rel_paths) for check, rel_paths in result.contract.items()},
        "contract_examples": {check: v[:5] for check, v in result.contract.items() if v},
        "phones_disagree": len(result.disagreeing),
    }


def cell(value: float | None, spec: str, width: int) -> str:
    """``value`` formatted, or a dash."""
    return f"{value:>{width}{spec}}" if value is not None else f"{'-':>{width}}"


def table(rows: list[dict]) -> str:
    """The one table: every variant's accuracy, its grid's ceiling, speed and difference to the first row."""
    base = rows[0]["accuracy"]["overall"]
    lines = [
        f"{'variant':<24}{accuracy_header()}{'ceil10':>8}{'ceil20':>8}{'utt/s':>7}{'RTF':>8}{'wall s':>8}"
        f"{'d<=10':>7}{'d<=20':>7}"
    ]
    for row in rows:
        overall, ceiling, run = row["accuracy"]["overall"], row["ceiling"]["overall"], row["extraction"]
        name = f"{row['sample_rate']} Hz / {row['hop_length']} / {row['frame_ms']:.2f} ms"
        deltas = [
            overall.get(f"within_{t}ms", float("nan")) - base.get(f"within_{t}ms", float("nan")) for t in (10, 20)
        ]
        line = f"{name:<24}{accuracy_cells(overall)}"
        line += cell(ceiling.get("within_10ms"), ".1f", 7) + "%" + cell(ceiling.get("within_20ms"), ".1f", 7) + "%"
        line += cell(run["utt_per_s"], ".1f", 7) + cell(run["real_time_factor"], ".4f", 8) + f"{run['wall_s']:>8.0f}"
        line += "".join(f"{d:>+7.1f}" for d in deltas)
        if run["returncode"] != 0:
            line += f"  (extraction exit {run['returncode']})"
        lines.append(line)
    lines.append(
        "(variant: sample rate / hop / frame length; errors in ms; bias = mean signed error, positive = late; "
        "own / blank: % of frames inside true phones held by the phone's own tokens / by a blank between phones; "
        "ratio: median phone duration over its true duration; ceil10 / ceil20: the truth laid on that grid, % "
        "within 10 / 20 ms; utt/s, RTF: extraction's own speed line; wall s: the extraction subprocess's wall time; "
        f"d<=10 / d<=20: points within 10 / 20 ms against the {rows[0]['sample_rate']} Hz / "
        f"{rows[0]['hop_length']} row)"
    )
    return "\n".join(lines)


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "demo", help="24 kHz corpus with reference/")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "outputs" / "aligner" / "tiny")
    parser.add_argument("--work", type=Path, default=WORK / "sample_rates", help="where the copies and results go")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--utterances", type=int, default=0, help="the first N lines of metadata.csv (0: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lines = [line for line in (args.corpus / "metadata.csv").read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.utterances:
        lines = lines[: args.utterances]
    print(f"{len(lines)} utterances of {args.corpus}, checkpoint {args.checkpoint}, work folder {work}", flush=True)
    builds = {}
    for rate in dict.fromkeys(rate for rate, _ in VARIANTS):
        began = time.perf_counter()
        builds[rate] = build_corpus(args.corpus, work / f"demo-{rate}", rate, lines)
        builds[rate]["seconds"] = round(time.perf_counter() - began, 1)
        print(f"corpus at {rate} Hz: {work / f'demo-{rate}'} ({builds[rate]})", flush=True)
    rows = []
    for rate, hop in VARIANTS:
        name = f"{rate}-hop{hop}"
        config = data_yaml(work / f"demo-{name}.yaml", work / f"demo-{rate}", rate, hop)
        print(f"{name}: extracting", flush=True)
        durations = work / f"durations-{name}"
        run = extract(config, args.checkpoint.resolve(), durations, work / f"durations-{name}.log")
        print(f"{name}: {run['grid_line']}; exit {run['returncode']} in {run['wall_s']:.0f} s; scoring", flush=True)
        accuracy = scored(Corpus.open(None, config), durations)
        ceiling_dir = work / f"ceiling-{name}"
        written = reference_durations(Corpus.open(None, config), ceiling_dir)
        ceiling = scored(Corpus.open(None, config), ceiling_dir)
        row = {
            "sample_rate": rate,
            "hop_length": hop,
            "frame_ms": 1000 * hop / rate,
            "data_config": str(config),
            "durations": str(durations),
            "corpus_build": builds[rate],
            "extraction": run,
            "accuracy": accuracy,
            "ceiling": ceiling | {"files_written": written, "durations": str(ceiling_dir)},
        }
        for what, figures in (("durations", accuracy), ("ceiling", ceiling)):
            problems = {check: n for check, n in figures["contract"].items() if n}
            if problems or figures["phones_disagree"]:
                print(f"  {name} {what}: contract {problems}, phones disagree {figures['phones_disagree']}")
        print(f"{name}: {accuracy_cells(accuracy['overall'])}", flush=True)
        rows.append(row)
    total = time.perf_counter() - start
    print()
    print(table(rows))
    print(f"total wall time {total:.0f} s")
    if args.json:
        write_json(
            args.json,
            "sample_rates",
            {
                "corpus": str(args.corpus.resolve()),
                "checkpoint": str(args.checkpoint.resolve()),
                "utterances": len(lines),
                "variants": rows,
                "table": table(rows),
                "total_wall_s": round(total, 1),
            },
        )
    return 0 if all(row["extraction"]["returncode"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
