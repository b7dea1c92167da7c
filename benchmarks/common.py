"""Shared pieces of the benchmark scripts: where a figure was measured (date, machine, versions),
demo corpora with their mels, an untrained tiny.yaml aligner, resident memory and result files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy
import psutil
import torch
import transformers
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "outputs" / "benchmarks"


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU model, logical cores (all, and usable by this process), RAM, load and GPU, if any."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = None
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        gpu = f"{properties.name} ({properties.total_memory / 2**30:.0f} GiB) x{torch.cuda.device_count()}"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "gpu": gpu,
        "os": platform.platform(),
    }


def versions() -> dict:
    """Versions of python, torch (and its CUDA), transformers and numpy."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "numpy": numpy.__version__,
    }


def write_json(path: Path, benchmark: str, figures: dict) -> None:
    """Write ``figures`` to ``path`` under a header saying when, where and with what they were measured."""
    header = {
        "benchmark": benchmark,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "versions": versions(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(header | figures, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {path}")


def demo_corpus(n: int, speakers: int, folder: Path | None = None) -> Path:
    """A demo corpus of ``n`` utterances with its mels (default folder ``outputs/benchmarks/demo-n{N}-s{S}``),
    built on the first call (about 10 s per 1000 utterances, plus the mels)."""
    from aligner.demo.corpus import build_corpus
    from aligner.mels import precompute

    folder = folder or WORK / f"demo-n{n}-s{speakers}"
    if not (folder / "metadata.csv").exists():
        print(f"building the demo corpus ({n} utterances, {speakers} speakers) in {folder}", flush=True)
        build_corpus(folder, n=n, speakers=speakers, progress=False)
    *_, failures = precompute(folder)
    if failures:
        raise RuntimeError(f"{folder}: {len(failures)} mels failed, e.g. {failures[0]}")
    return folder


def tiny_checkpoint(corpus: Path, folder: Path = WORK / "tiny-untrained") -> Path:
    """configs/aligner/tiny.yaml's model, untrained (seed 0), saved where extraction loads it, with an
    acoustic stage fitted on ``corpus`` (one round, 200 utterances): its speed and memory are those of
    the trained model."""
    from aligner.acoustic.model import MODEL_FILE
    from aligner.acoustic.train import fit_acoustic_stage
    from aligner.ctc.model import ModelArguments, build_model
    from aligner.ctc.vocab import build_processor

    if (folder / MODEL_FILE).is_file():
        return folder
    config = yaml.safe_load((ROOT / "configs" / "aligner" / "tiny.yaml").read_text(encoding="utf-8"))
    torch.manual_seed(0)
    model = build_model(ModelArguments(model_config=config["model_config"]))
    model.config.ctc_targets = config["ctc_targets"]
    model.save_pretrained(folder)
    build_processor().save_pretrained(folder)
    fit_acoustic_stage(folder, corpus, rounds=1, utterances=200)
    return folder


def anonymous_memory(process: psutil.Process) -> int:
    """Anonymous resident memory in bytes of ``process`` (Linux's RssAnon: its heap and stacks, without the
    pages of files it maps, such as Arrow datasets, which the kernel may drop); its RSS where /proc lacks it."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
        return process.memory_info().rss
    except (OSError, psutil.Error):
        return 0


def tree_anonymous(process: psutil.Process) -> int:
    """``anonymous_memory`` of ``process`` and all its children (0 once it has exited)."""
    try:
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    return sum(anonymous_memory(member) for member in tree)


def tree_rss(process: psutil.Process) -> int:
    """Resident memory in bytes of ``process`` and all its children (0 once it has exited)."""
    try:
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in tree:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total
