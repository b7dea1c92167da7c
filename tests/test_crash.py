"""A kill -9 in the middle of an extraction: rerunning the same command gives the files and the summary of
an uninterrupted run, and leaves no temporary file behind."""

import csv
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from test_extract import REPO

from aligner.corpus import read_metadata
from aligner.durations import atomic_write, load_durations, remove_temporaries

KILL_AFTER = 3  # output files written before the kill (the run has 16 to write, one per model call)


def start(corpus: Path, checkpoint: Path, log: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "matcha.utils.extract_durations", "--corpus", str(corpus),
        "--checkpoint", str(checkpoint), "--device", "cpu", "--batch-size", "1", *extra,
    ]  # fmt: skip
    with open(log, "w") as handle:
        return subprocess.Popen(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, log: Path) -> str:
    assert process.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def outputs(out_dir: Path) -> list[Path]:
    return sorted(p.relative_to(out_dir) for p in out_dir.rglob("*.pt"))


def kill_when_written(process: subprocess.Popen, out_dir: Path, log: Path, count: int) -> None:
    """SIGKILL ``process`` as soon as ``count`` output files exist."""
    deadline = time.monotonic() + 600
    while not out_dir.exists() or len(outputs(out_dir)) < count:
        assert process.poll() is None, f"the run ended before it could be killed:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "no output within 10 minutes"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def summary(out_dir: Path) -> list[dict]:
    with open(out_dir / "alignment_summary.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_killed_run_resumes_to_the_files_of_an_uninterrupted_one(corpus, checkpoint, tmp_path):
    total = len(read_metadata(corpus))
    reference, log = tmp_path / "reference", tmp_path / "reference.log"
    finish(start(corpus, checkpoint, log, "--out-dir", str(reference)), log)

    out_dir = corpus / "durations"
    log = tmp_path / "killed.log"
    kill_when_written(start(corpus, checkpoint, log), out_dir, log, KILL_AFTER)
    survivors = len(outputs(out_dir))
    assert KILL_AFTER <= survivors < total, "the kill must land in the middle of the run"
    assert (out_dir / ".alignment_summary.csv.part0").exists(), "the killed run's journal is on disk"
    folder = (out_dir / outputs(out_dir)[0]).parent
    _, stale = tempfile.mkstemp(prefix=".0001.pt.", suffix=".tmp", dir=folder)  # what a kill mid-write leaves

    log = tmp_path / "resumed.log"
    text = finish(start(corpus, checkpoint, log), log)
    assert f"{total - survivors} written, {survivors} already there, 0 failed" in text
    assert "temporary file(s) removed" in text and not Path(stale).exists()
    assert outputs(out_dir) == outputs(reference) and len(outputs(out_dir)) == total
    for rel in outputs(out_dir):
        assert torch.equal(load_durations(out_dir / rel), load_durations(reference / rel)), rel
    rows = summary(out_dir)
    assert sorted(row["rel_path"] for row in rows) == sorted(u.rel_path for u in read_metadata(corpus))
    assert rows == summary(reference), "the summary is the one of the uninterrupted run"
    leftovers = [p for p in out_dir.rglob("*") if p.is_file() and p.suffix != ".pt"]
    assert leftovers == [out_dir / "alignment_summary.csv"], leftovers


def test_only_temporaries_of_a_killed_atomic_write_are_removed(tmp_path):
    target = tmp_path / "deep" / "0001.pt"
    code = (
        "import os, signal, sys\n"
        "from aligner.durations import atomic_write\n"
        "def write(tmp):\n"
        "    open(tmp, 'wb').write(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomic_write(sys.argv[1], write)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(target)], cwd=REPO, timeout=120)
    assert result.returncode == -signal.SIGKILL
    (stale,) = target.parent.iterdir()
    assert stale.name.startswith(".0001.pt.") and stale.suffix == ".tmp" and not target.exists()
    keep = [tmp_path / "notes.tmp", tmp_path / ".hidden", tmp_path / "deep" / ".0002.pt", tmp_path / ".x.tmp"]
    for path in keep:
        path.write_text("mine")
    atomic_write(tmp_path / "done.pt", lambda tmp: Path(tmp).write_text("whole"))
    assert remove_temporaries(tmp_path) == [stale]
    assert all(path.exists() for path in keep) and (tmp_path / "done.pt").read_text() == "whole"
