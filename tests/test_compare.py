"""aligner.evaluate.compare: a report with per-system tables, pairwise differences and pictures."""

import json
import shutil

from aligner.durations import load_durations, save_durations
from aligner.evaluate.compare import main
from aligner.evaluate.reference_durations import reference_durations


def test_report_measures_a_known_shift_and_draws_pictures(demo_corpus, tmp_path, capsys):
    truth = tmp_path / "truth"
    reference_durations(demo_corpus, truth)
    shifted = tmp_path / "shifted"
    shutil.copytree(truth, shifted)
    for path in shifted.rglob("*.pt"):  # symbols 3 frames (32 ms) later, up to the last token that can give 3
        durations = load_durations(path)
        last = max(k for k in range(len(durations)) if durations[k] > 3)
        durations[0] += 3
        durations[last] -= 3
        save_durations(path, durations)
    report = tmp_path / "report"
    names = ["truth", "shifted"]
    assert main(["--corpus", str(demo_corpus), "--durations", str(truth), str(shifted), "--names", *names,
                 "--report", str(report)]) == 0  # fmt: skip
    data = json.loads((report / "report.json").read_text())
    pair = data["pairs"]["truth - shifted"]
    assert pair["median_ms"] < -30 and pair["within_20ms"] < 50
    assert (
        data["systems"]["truth"]["accuracy"]["all"]["within_20ms"]
        > data["systems"]["shifted"]["accuracy"]["all"]["within_20ms"]
    )
    assert (report / "differences.png").stat().st_size > 1000 and data["pictures"]
    assert all((report / name).stat().st_size > 1000 for name in data["pictures"])
    assert "| truth - shifted |" in capsys.readouterr().out
    summary = (report / "report.md").read_text().splitlines()
    within = data["systems"]["truth"]["accuracy"]["all"]["within_20ms"]
    assert summary[4].startswith(f"| truth | {truth} | {within:.1f}% |")  # the summary table names each folder
