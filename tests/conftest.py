"""Shared fixtures: a small demo corpus with its mels, built once per test session, private copies of
it, an untrained aligner with tiny.yaml's architecture and an untrained ASRCNN with demo.yml's."""

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from aligner.acoustic.train import fit_acoustic_stage
from aligner.ctc.model import ModelArguments, build_model
from aligner.ctc.vocab import build_processor
from aligner.demo.corpus import build_corpus
from aligner.mels import precompute

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory) -> Path:
    """A 16-utterance demo corpus (all four languages) with wavs, reference/ and mels/. Read-only."""
    root = tmp_path_factory.mktemp("demo") / "corpus"
    build_corpus(root, n=16, seed=0, progress=False)
    _, written, _, failures = precompute(root)
    assert written == 16 and not failures
    return root


@pytest.fixture()
def corpus(demo_corpus, tmp_path) -> Path:
    """A private copy of the demo corpus (runs write into it)."""
    target = tmp_path / "corpus"
    shutil.copytree(demo_corpus, target)
    return target


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, demo_corpus) -> Path:
    """tiny.yaml's architecture, untrained, saved as extraction loads it, with an acoustic stage
    Viterbi-trained on the demo corpus (what aligner/train.py leaves)."""
    config = yaml.safe_load((REPO / "configs/aligner/tiny.yaml").read_text())
    torch.manual_seed(0)
    model = build_model(ModelArguments(model_config=config["model_config"]))
    model.config.ctc_targets = "phones"
    folder = tmp_path_factory.mktemp("aligner")
    model.save_pretrained(folder)
    build_processor().save_pretrained(folder)
    fit_acoustic_stage(folder, demo_corpus, rounds=2)
    return folder


@pytest.fixture(scope="session")
def asr_checkpoint(tmp_path_factory) -> Path:
    """aligner/asrcnn/demo.yml's ASRCNN, untrained, saved in StyleTTS2's checkpoint format."""
    from aligner.asrcnn.checkpoint import build_asrcnn, read_config, save_checkpoint

    torch.manual_seed(0)
    model = build_asrcnn(read_config(REPO / "aligner/asrcnn/demo.yml"))
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=2)
    path = tmp_path_factory.mktemp("asrcnn") / "epoch_00001.pth"
    save_checkpoint(path, model, optimizer, scheduler, steps=0, epochs=1)
    return path
