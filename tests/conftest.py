"""Shared fixtures: a small demo corpus with its mels, built once per test session."""

from pathlib import Path

import pytest

from aligner.demo_corpus import build_corpus
from matcha.utils.precompute_corpus import precompute


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory) -> Path:
    """A 16-utterance demo corpus (all four languages) with wavs, reference/ and mels/. Read-only."""
    root = tmp_path_factory.mktemp("demo") / "corpus"
    build_corpus(root, n=16, seed=0, progress=False)
    written, _, failures = precompute(root)
    assert written == 16 and not failures
    return root
