"""Frame-offset calibration against the demo corpus's truth, and its use by extraction."""

import json
import shutil

import pytest
import torch

from aligner.align.backends import CALIBRATION_FILE, Wav2Vec2Aligner, calibrated_offset_ms
from aligner.align.scores import NOMINAL_OFFSET_SECONDS
from aligner.evaluate.calibrate import calibrate, main
from matcha.utils.extract_durations import main as extract


@pytest.fixture()
def own_checkpoint(checkpoint, tmp_path):
    """A private copy of the untrained aligner (calibration writes into it)."""
    return shutil.copytree(checkpoint, tmp_path / "aligner")


def test_offset_moves_by_the_measured_bias_and_extraction_uses_it(demo_corpus, own_checkpoint, capsys):
    assert calibrated_offset_ms(own_checkpoint) == NOMINAL_OFFSET_SECONDS * 1000
    result = calibrate(own_checkpoint, demo_corpus, limit=8)
    written = json.loads((own_checkpoint / CALIBRATION_FILE).read_text())
    assert written == result and result["utterances"] == 8 and len(result["rounds"]) == 2
    first, second = result["rounds"]  # each figure is rounded to 0.01 ms
    assert first["offset_ms"] == NOMINAL_OFFSET_SECONDS * 1000
    assert second["offset_ms"] == pytest.approx(first["offset_ms"] - first["bias_ms"], abs=0.02)
    assert result["offset_ms"] == pytest.approx(second["offset_ms"] - second["bias_ms"], abs=0.02)
    assert calibrated_offset_ms(own_checkpoint) == result["offset_ms"]
    assert Wav2Vec2Aligner(own_checkpoint, torch.device("cpu")).offset_ms == result["offset_ms"]
    assert Wav2Vec2Aligner(own_checkpoint, torch.device("cpu"), offset_ms=5.0).offset_ms == 5.0


def test_command_line_prints_each_round(demo_corpus, own_checkpoint, capsys):
    assert main(["--checkpoint", str(own_checkpoint), "--corpus", str(demo_corpus), "--utterances", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("mean abs error") == 2 and f"-> {own_checkpoint / CALIBRATION_FILE}" in out


def test_cuda_requested_without_cuda_falls_back_to_the_cpu(corpus, checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: --device cuda runs on it (scripts/gpu_check.sh covers that)")
    arguments = ["--corpus", str(corpus), "--checkpoint", str(checkpoint), "--device", "cuda"]
    assert extract(arguments) == 0
    assert "CUDA is not available: running on the CPU" in capsys.readouterr().err
    assert len(list((corpus / "durations").rglob("*.pt"))) == 16
