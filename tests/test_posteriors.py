"""Chunked CTC posteriors of long utterances: same frames as one pass, in input order."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aligner.ctc.model import ModelArguments, build_model
from aligner.ctc.posteriors import chunk_windows, frame_geometry, log_posteriors
from aligner.ctc.vocab import build_feature_extractor

REPO = Path(__file__).resolve().parents[1]
RATE = 16000

# No transformer layer: the output at a frame depends only on samples near it (layer-norm convolutions,
# a 16-frame positional convolution), so chunks with enough context must give the unchunked output.
LOCAL_CONFIG = {
    "conv_dim": [16] * 7,
    "feat_extract_norm": "layer",
    "hidden_size": 32,
    "num_hidden_layers": 0,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
}


def eval_model(model_config: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelArguments(model_config=model_config)).eval()


@pytest.fixture(scope="module")
def local_model():
    return eval_model(LOCAL_CONFIG)


@pytest.fixture(scope="module")
def extractor():
    return build_feature_extractor()


def noise(seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32)


def n_frames(model, audio: np.ndarray) -> int:
    return int(model._get_feat_extract_output_lengths(torch.tensor(len(audio))))


def test_frame_geometry_is_read_from_the_conv_config(local_model):
    assert frame_geometry(local_model) == (320, 400)


def test_windows_cover_every_frame_once_with_context_inside_the_audio():
    windows = chunk_windows(364, chunk=50, context=25)
    kept = [frame for _, first, end in windows for frame in range(first, end)]
    assert kept == list(range(364))
    for start, first, end in windows:
        assert 0 <= start and start + 100 <= 364, "every window is whole and inside the audio"
        left, right = first - start, start + 100 - end
        assert left >= min(25, first) and right >= min(25, 364 - end), "context on both sides where there is audio"


def test_chunks_with_context_give_the_unchunked_posteriors_of_a_local_model(local_model, extractor):
    audio = noise(7.3, seed=1)
    whole = log_posteriors(local_model, extractor, [audio], chunk_seconds=100.0)[0]
    chunked = log_posteriors(local_model, extractor, [audio], chunk_seconds=1.0, context_seconds=0.5)[0]
    assert chunked.shape == whole.shape == (n_frames(local_model, audio), local_model.config.vocab_size)
    torch.testing.assert_close(chunked, whole)
    many = log_posteriors(local_model, extractor, [audio], chunk_seconds=0.3, context_seconds=0.5)[0]
    torch.testing.assert_close(many, whole, msg="25 windows: more than one forward pass of WINDOWS_PER_PASS")
    no_context = log_posteriors(local_model, extractor, [audio], chunk_seconds=1.0, context_seconds=0.0)[0]
    assert not torch.allclose(no_context, whole, atol=1e-4), "the chunk edges need their context"


def test_chunked_output_of_the_tiny_architecture_is_log_probabilities(extractor):
    config = yaml.safe_load((REPO / "configs/aligner/tiny.yaml").read_text())["model_config"]
    model = eval_model(config)
    audio = noise(6.47, seed=2)
    (log_probs,) = log_posteriors(model, extractor, [audio], chunk_seconds=1.0, context_seconds=0.5)
    assert log_probs.shape == (n_frames(model, audio), model.config.vocab_size)
    assert log_probs.dtype == torch.float32 and torch.isfinite(log_probs).all()
    torch.testing.assert_close(log_probs.logsumexp(-1), torch.zeros(len(log_probs)))


def test_a_batch_of_short_and_long_audios_keeps_input_order(local_model, extractor):
    audios = [noise(seconds, seed) for seed, seconds in enumerate([4.1, 0.7, 2.45, 1.3, 5.02])]
    results = log_posteriors(local_model, extractor, audios, chunk_seconds=1.0, context_seconds=0.4)
    assert [len(r) for r in results] == [n_frames(local_model, a) for a in audios]
    for audio, result in zip(audios, results, strict=True):
        torch.testing.assert_close(result, log_posteriors(local_model, extractor, [audio], chunk_seconds=100.0)[0])
