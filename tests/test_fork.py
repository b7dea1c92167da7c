"""A Matcha fork of our own making (tests/fork: its own matcha.text with another symbol table and front end,
its own matcha/utils/precompute_corpus.py, 100-band center=True mels), used as its owner would, from its root:
the README's "Your Matcha fork" commands, then its own loader's checks on every duration file."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fork_corpus import CORPUS_NAME, copy_fork, make_fork_corpus

REPO = Path(__file__).resolve().parents[1]
DATA_CONFIG = f"configs/data/{CORPUS_NAME}.yaml"
HOP128_CONFIG = f"configs/data/{CORPUS_NAME}-hop128.yaml"  # its double-resolution mels: hop 128, mels128/
# What the fork's own TextMelDataset computes for each line: intersperse(to_phoneme_ids(to_phonemes(text, lang)))
FORK_IDS = """
import json, sys
from matcha.text import to_phoneme_ids, to_phonemes
from matcha.utils import intersperse
lines = [line.split("|", 3) for path in sys.argv[1:] for line in open(path, encoding="utf-8").read().splitlines()]
print(json.dumps({rel: intersperse(to_phoneme_ids(to_phonemes(text, lang)), 0) for rel, _, lang, text in lines}))
"""


def run(fork: Path, *command: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ACCELERATE_USE_CPU="1")
    result = subprocess.run([sys.executable, *command], cwd=fork, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def fork_run(tmp_path_factory):
    """The fork with its corpus, after: the entry command, training (few steps), extraction (.pt and npy)."""
    fork = copy_fork(tmp_path_factory.mktemp("fork") / "Matcha-TTS-24k")
    corpus = make_fork_corpus(fork, n=12)
    before = digests(fork)
    checkpoint = tmp_path_factory.mktemp("aligner")
    added = run(fork, "-m", "aligner.matcha_fork")
    # 6 steps without the small_corpus settings: regularised, the two grids' alignments of so weak a model drift apart
    train = run(fork, "-m", "aligner.train", str(REPO / "configs/aligner/tiny.yaml"),
                "--corpus", f"data/{CORPUS_NAME}", "--output_dir", str(checkpoint), "--max_steps", "6",
                "--eval_steps", "6", "--save_steps", "0", "--warmup_steps", "2", "--report_to", "none",
                "--per_device_train_batch_size", "4", "--acoustic_rounds", "1",
                "--small_corpus_hours", "0")  # fmt: skip
    pt = run(fork, "-m", "matcha.utils.extract_durations", "--corpus", f"data/{CORPUS_NAME}",
             "--checkpoint", str(checkpoint), "--device", "cpu")  # fmt: skip
    npy = run(fork, "-m", "matcha.utils.extract_durations", "--data-config", DATA_CONFIG,
              "--checkpoint", str(checkpoint), "--device", "cpu", "--format", "npy")  # fmt: skip
    hop128 = tmp_path_factory.mktemp("durations128")
    npy128 = run(fork, "-m", "matcha.utils.extract_durations", "--data-config", HOP128_CONFIG,
                 "--checkpoint", str(checkpoint), "--device", "cpu", "--format", "npy",
                 "--out-dir", str(hop128))  # fmt: skip
    ids = json.loads(run(fork, "-c", FORK_IDS, str(corpus / "train.csv"), str(corpus / "validate.csv")).stdout)
    return {
        "fork": fork, "corpus": corpus, "before": before, "checkpoint": checkpoint, "ids": ids, "hop128": hop128,
        "logs": {"added": added, "train": train, "pt": pt, "npy": npy, "npy128": npy128},
    }  # fmt: skip


def test_every_file_has_the_forks_token_count_and_its_mels_frame_count(fork_run):
    corpus, ids = fork_run["corpus"], fork_run["ids"]
    assert len(ids) == 12
    for rel_path, token_ids in ids.items():
        mel = np.load(corpus / "mels" / f"{rel_path}.npy")
        durations = torch.load(corpus / "durations" / f"{rel_path}.pt", weights_only=True)
        as_read = np.load(corpus / "durations" / f"{rel_path}.npy").astype(int)  # as the fork's loader reads it
        for name, vector in (("pt", durations.numpy()), ("npy", as_read)):
            assert len(vector) == len(token_ids), (rel_path, name)
            assert vector.sum() == mel.shape[1] and vector.min() >= 1, (rel_path, name)
        assert as_read.tolist() == durations.tolist()


def test_hop_128_from_the_data_yaml_gives_files_on_the_double_resolution_grid(fork_run):
    """The hop-128 YAML's mels128/ decide T (samples // 128 + 1), and the boundaries lie where the hop-256 files
    put them (a grid read at the wrong hop would put them hundreds of ms off: twice or half as late)."""
    corpus, ids, hop128 = fork_run["corpus"], fork_run["ids"], fork_run["hop128"]
    assert "hop 128 = 5.33 ms a frame" in fork_run["logs"]["npy128"].stderr
    gaps_ms = []
    for rel_path, token_ids in ids.items():
        fine = np.load(hop128 / f"{rel_path}.npy").astype(int)
        coarse = np.load(corpus / "durations" / f"{rel_path}.npy").astype(int)
        mel = np.load(corpus / "mels128" / f"{rel_path}.npy")
        assert len(fine) == len(token_ids) and fine.min() >= 1 and fine.sum() == mel.shape[1], rel_path
        gaps_ms.append(np.abs(np.cumsum(fine) * 128 - np.cumsum(coarse) * 256) / 24)  # samples -> ms at 24 kHz
    assert float(np.median(np.concatenate(gaps_ms))) < 25


def test_the_runs_say_which_front_end_and_the_checkpoint_records_it(fork_run):
    fork, logs = fork_run["fork"], fork_run["logs"]
    for log in (logs["pt"], logs["npy"]):
        assert f"text front end: matcha.text.to_phonemes ({fork / 'matcha' / 'text' / '__init__.py'})" in log.stderr
        assert "12 written, 0 already there, 0 failed" in log.stdout
    config = json.loads((fork_run["checkpoint"] / "config.json").read_text())
    assert config["text_frontend"].startswith("matcha.text.to_phonemes")
    assert "warning: the checkpoint learnt" not in logs["pt"].stderr


def test_the_fork_gains_only_its_entry_file_and_the_durations(fork_run):
    fork, before = fork_run["fork"], fork_run["before"]
    after = digests(fork)
    assert {k: v for k, v in after.items() if k in before} == before, "a file of the fork changed"
    new = sorted(set(after) - set(before))
    entry = "matcha/utils/extract_durations.py"
    assert entry in new and (fork / entry).read_bytes() == (REPO / entry).read_bytes()
    others = [p for p in new if p != entry and not p.startswith(f"data/{CORPUS_NAME}/")]
    assert others == [], others
    in_corpus = {p.split("/")[2] for p in new if p.startswith(f"data/{CORPUS_NAME}/")}
    assert in_corpus <= {"durations", ".cache"}, in_corpus


def test_the_entry_command_refuses_to_replace_another_file(fork_run, tmp_path):
    fork = copy_fork(tmp_path / "fork")
    (fork / "matcha/utils/extract_durations.py").write_text("# the fork's own\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "aligner.matcha_fork"], cwd=fork, capture_output=True, text=True)
    assert result.returncode == 2 and "not replaced" in result.stderr
    assert (fork / "matcha/utils/extract_durations.py").read_text() == "# the fork's own\n"


def test_the_corpus_report_reads_the_forks_tokens(fork_run, tmp_path):
    report = tmp_path / "report"
    run(fork_run["fork"], "-m", "aligner.evaluate.corpus_report", "--corpus", f"data/{CORPUS_NAME}",
        "--out", str(report), "--pictures", "1")  # fmt: skip
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "12 utterances aligned, 0 skipped" in text


def test_the_review_page_reads_the_npy_files_a_fork_loads(fork_run, tmp_path):
    npy_only = tmp_path / "durations"
    for path in (fork_run["corpus"] / "durations").rglob("*.npy"):
        target = npy_only / path.relative_to(fork_run["corpus"] / "durations")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    page = tmp_path / "page"
    run(fork_run["fork"], "-m", "aligner.review", "--corpus", f"data/{CORPUS_NAME}", "--durations", str(npy_only),
        "--out", str(page), "--quiet")  # fmt: skip
    index = (page / "data" / "index.js").read_text(encoding="utf-8")
    rows = json.loads(index[index.index("{") : index.rindex("}") + 1])["rows"]
    assert len(rows) == 12 and {row[4] for row in rows} == {"ok"}, [row[4:6] for row in rows]
