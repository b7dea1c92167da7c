"""Speed perturbation of the training audio, as in Kaldi's recipes (Ko et al. 2015, "Audio augmentation for
speech recognition"): an utterance resampled by a factor plays that much faster (shorter and higher) or
slower; its CTC targets stay. Each utterance's factor is drawn anew every epoch from a hash of
(seed, epoch, utterance) (blake2b: CRC32 is linear, so its low bits would flip for every utterance at once),
so a resumed run and any batching see the same audio. Resampling is soxr's.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import soxr

from aligner.ctc.input import output_frames
from aligner.ctc.vocab import SAMPLING_RATE
from aligner.search.forced_align import frames_needed

FACTOR_RANGE = (0.5, 2.0)  # speed factors accepted: beyond them speech is no longer speech


def check_factors(name: str, factors: object) -> None:
    """``ValueError`` naming ``name`` unless ``factors`` is a non-empty list of numbers within ``FACTOR_RANGE``."""
    low, high = FACTOR_RANGE
    numbers = isinstance(factors, list) and factors and all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and low <= f <= high
        for f in factors
    )  # fmt: skip
    if not numbers:
        raise ValueError(f"{name} must be a list of numbers from {low} to {high}, got {factors!r}")


@dataclass
class SpeedPerturbation:
    """Per-utterance speed factors for one training run.

    ``factors``: the choices (1.0 keeps the audio; each within ``FACTOR_RANGE``), drawn with equal chance;
    ``conv_kernel``/``conv_stride``: the model's feature encoder, so that an utterance sped up below the CTC
    frames its targets need keeps its own speed; ``normalise``: the feature extractor's ``do_normalize`` (the
    perturbed audio is normalised again only then). ``set_epoch`` selects the draw of an epoch.
    """

    factors: tuple[float, ...]
    seed: int
    conv_kernel: list[int]
    conv_stride: list[int]
    normalise: bool = True
    epoch: int = 0

    def __post_init__(self) -> None:
        check_factors("speed factors", list(self.factors))

    def set_epoch(self, epoch: int) -> None:
        """Draw the factors of epoch ``epoch``."""
        self.epoch = epoch

    def factor(self, key: str) -> float:
        """The factor of utterance ``key`` (its rel_path) in the current epoch."""
        digest = hashlib.blake2b(f"{self.seed}:{self.epoch}:{key}".encode(), digest_size=8).digest()
        return self.factors[int.from_bytes(digest, "little") % len(self.factors)]

    def __call__(self, audio: np.ndarray, key: str, labels: list[int]) -> np.ndarray:
        """``audio`` (16 kHz, as the feature extractor gives it) at the speed drawn for ``key`` (normalised to
        zero mean and unit variance again with ``normalise``); unchanged at factor 1 or where the result would
        give fewer CTC frames than ``labels`` need."""
        factor = self.factor(key)
        if factor == 1.0:
            return audio
        faster = soxr.resample(np.asarray(audio, np.float32), SAMPLING_RATE * factor, SAMPLING_RATE)
        if output_frames(len(faster), self.conv_kernel, self.conv_stride) < frames_needed(labels):
            return audio
        if not self.normalise:
            return faster
        faster = faster - faster.mean()
        return (faster / np.sqrt(faster.var() + 1e-7)).astype(np.float32)
