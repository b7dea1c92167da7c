"""Speed perturbation of the training audio, as in Kaldi's recipes (Ko et al. 2015, "Audio augmentation for
speech recognition"): an utterance resampled by a factor plays that much faster (shorter and higher) or
slower; its CTC targets stay. Each utterance's factor is drawn anew every epoch from a hash of
(seed, epoch, utterance), so a resumed run and any batching see the same audio. Resampling is soxr's.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import soxr

from aligner.ctc.input import output_frames
from aligner.ctc.vocab import SAMPLING_RATE
from aligner.search.forced_align import frames_needed


@dataclass
class SpeedPerturbation:
    """Per-utterance speed factors for one training run.

    ``factors``: the choices (1.0 keeps the audio), drawn with equal chance; ``conv_kernel``/``conv_stride``:
    the model's feature encoder, so that an utterance sped up below the CTC frames its targets need keeps its
    own speed. ``set_epoch`` selects the draw of an epoch.
    """

    factors: tuple[float, ...]
    seed: int
    conv_kernel: list[int]
    conv_stride: list[int]
    epoch: int = 0

    def __post_init__(self) -> None:
        if not self.factors or any(f <= 0 for f in self.factors):
            raise ValueError(f"speed factors must be positive, got {list(self.factors)}")

    def set_epoch(self, epoch: int) -> None:
        """Draw the factors of epoch ``epoch``."""
        self.epoch = epoch

    def factor(self, key: str) -> float:
        """The factor of utterance ``key`` (its rel_path) in the current epoch."""
        draw = zlib.crc32(f"{self.seed}:{self.epoch}:{key}".encode())
        return self.factors[draw % len(self.factors)]

    def __call__(self, audio: np.ndarray, key: str, labels: list[int]) -> np.ndarray:
        """``audio`` (16 kHz, normalised to zero mean and unit variance) at the speed drawn for ``key``,
        normalised again; unchanged at factor 1 or where the result would give fewer CTC frames than
        ``labels`` need."""
        factor = self.factor(key)
        if factor == 1.0:
            return audio
        faster = soxr.resample(np.asarray(audio, np.float32), SAMPLING_RATE * factor, SAMPLING_RATE)
        if output_frames(len(faster), self.conv_kernel, self.conv_stride) < frames_needed(labels):
            return audio
        faster = faster - faster.mean()
        return (faster / np.sqrt(faster.var() + 1e-7)).astype(np.float32)
