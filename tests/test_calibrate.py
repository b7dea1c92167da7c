"""Frame-offset calibration as a measuring tool (it recovers a known shift and writes nothing into the
checkpoint), and the --device cuda fallback of extraction."""

import json

import pytest
import torch

from aligner.corpus import Corpus
from aligner.evaluate.calibrate import main, measure_offset, reference_utterances
from aligner.evaluate.reference_durations import reference_token_intervals
from aligner.search.mas import Alignment
from aligner.search.timing import durations_from_intervals, frame_seconds
from matcha.utils.extract_durations import main as extract

FRAME_MS = 256 / 24000 * 1000


class ShiftedTruth:
    """An aligner whose CTC frames are truly centred at ``true_offset_ms``: at offset ``offset_ms`` it lays
    every token on the mel grid at its reference interval moved by ``offset_ms - true_offset_ms`` (late
    when the offset is too large, as a real aligner's boundaries are)."""

    def __init__(self, corpus, items, true_offset_ms, offset_ms=12.5):
        self.offset_ms = offset_ms
        self.true_offset_ms = true_offset_ms
        self.truth = {utterance.wav: (tokens.ipa, reference) for utterance, tokens, reference in items}

    def read_audio(self, path):
        return path

    def align(self, audios, token_ids, n_frames, centred):
        shift = (self.offset_ms - self.true_offset_ms) / 1000
        results = []
        for path, frames in zip(audios, n_frames, strict=True):
            ipa, reference = self.truth[path]
            starts, ends = reference_token_intervals(ipa, reference["phones"], reference["duration"])
            durations = durations_from_intervals(starts + shift, ends + shift, frames, frame_seconds(256, 24000))
            results.append(Alignment(durations, 0.0, 0.0))
        return results


@pytest.mark.parametrize("true_offset_ms", [-20.0, 40.0])
def test_the_measurement_recovers_a_known_shift(demo_corpus, true_offset_ms):
    items = reference_utterances(Corpus.open(demo_corpus), limit=8)
    assert len(items) == 8
    aligner = ShiftedTruth(demo_corpus, items, true_offset_ms)
    result = measure_offset(aligner, Corpus.open(demo_corpus), items, batch_size=3, rounds=3)
    first, second, third = result["rounds"]
    shift_ms = 12.5 - true_offset_ms  # +32.5 ms (late) or -27.5 ms (early)
    assert result["start_offset_ms"] == first["offset_ms"] == 12.5
    assert first["bias_ms"] == pytest.approx(shift_ms, abs=FRAME_MS)
    assert second["offset_ms"] == pytest.approx(first["offset_ms"] - first["bias_ms"], abs=0.02)
    assert third["offset_ms"] == pytest.approx(second["offset_ms"] - second["bias_ms"], abs=0.02)
    assert abs(third["bias_ms"]) < FRAME_MS
    assert result["implied_offset_ms"] == pytest.approx(true_offset_ms, abs=FRAME_MS)
    assert result["implied_offset_ms"] == pytest.approx(third["offset_ms"] - third["bias_ms"], abs=0.02)
    assert aligner.offset_ms == 12.5  # left as found


def test_command_line_measures_and_writes_nothing_into_the_checkpoint(demo_corpus, checkpoint, tmp_path, capsys):
    before = {p.relative_to(checkpoint): p.read_bytes() for p in checkpoint.rglob("*") if p.is_file()}
    out_json = tmp_path / "figures" / "calibration.json"
    arguments = ["--checkpoint", str(checkpoint), "--corpus", str(demo_corpus), "--utterances", "4"]
    assert main([*arguments, "--offset-ms", "20", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert out.count("mean abs error") == 2 and "the truth implies a CTC frame offset of" in out
    after = {p.relative_to(checkpoint): p.read_bytes() for p in checkpoint.rglob("*") if p.is_file()}
    assert after == before, "calibration must not write into the checkpoint"
    figures = json.loads(out_json.read_text())
    assert figures["utterances"] == 4 and figures["start_offset_ms"] == 20.0
    first, second = figures["rounds"]
    assert first["offset_ms"] == 20.0
    assert second["offset_ms"] == pytest.approx(first["offset_ms"] - first["bias_ms"], abs=0.02)
    assert figures["implied_offset_ms"] == pytest.approx(second["offset_ms"] - second["bias_ms"], abs=0.02)


def test_cuda_requested_without_cuda_falls_back_to_the_cpu(corpus, checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: --device cuda runs on it (scripts/gpu_check.sh covers that)")
    arguments = ["--corpus", str(corpus), "--checkpoint", str(checkpoint), "--device", "cuda"]
    assert extract(arguments) == 0
    assert "CUDA is not available: running on the CPU" in capsys.readouterr().err
    assert len(list((corpus / "durations").rglob("*.pt"))) == 16
