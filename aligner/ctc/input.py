"""The CTC model's input: audio resampled to 16 kHz and normalised as its feature extractor does, and the
number of CTC frames its feature encoder gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr
from transformers import Wav2Vec2FeatureExtractor

from aligner.audio import load_wav
from aligner.ctc.vocab import SAMPLING_RATE


def output_frames(n_samples: int, conv_kernel: list[int], conv_stride: list[int]) -> int:
    """CTC frames the Wav2Vec2 feature encoder gives for ``n_samples`` (its length formula)."""
    for kernel, stride in zip(conv_kernel, conv_stride, strict=True):
        n_samples = max((n_samples - kernel) // stride + 1, 0)
    return n_samples


def load_audio(path: str | Path, feature_extractor: Wav2Vec2FeatureExtractor) -> np.ndarray:
    """Read a wav (any rate), resample it to 16 kHz and normalise it as ``feature_extractor`` does."""
    return model_input(load_wav(path, SAMPLING_RATE, resample=True), SAMPLING_RATE, feature_extractor)


def model_input(audio: np.ndarray, sample_rate: int, feature_extractor: Wav2Vec2FeatureExtractor) -> np.ndarray:
    """Audio at ``sample_rate`` resampled to 16 kHz (soxr, as ``load_wav``) and normalised as
    ``feature_extractor`` does: what the model was trained on."""
    if sample_rate != SAMPLING_RATE:
        audio = soxr.resample(audio, sample_rate, SAMPLING_RATE)
    if feature_extractor.do_normalize:
        audio = feature_extractor.zero_mean_unit_var_norm([audio], attention_mask=None)[0]
    return audio.astype(np.float32)
