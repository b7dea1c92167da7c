"""Matcha-TTS mel front end at 24 kHz, and wav loading.

Same computation as upstream ``matcha/utils/audio.py``: Slaney mel filterbank from librosa,
Hann window, reflect padding of (n_fft - hop) / 2 samples on each side, ``center=False``,
magnitude (not power) spectrum, natural log clamped at 1e-5. The frame count is therefore
``floor(samples / hop)``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch

SAMPLE_RATE = 24000
N_FFT = 1024
HOP_LENGTH = 256
WIN_LENGTH = 1024
N_MELS = 80
F_MIN = 0.0
F_MAX = 8000.0


class AudioError(ValueError):
    """A wav that cannot be used as it is (wrong rate, channels, unreadable)."""


@lru_cache(maxsize=8)
def _mel_basis(sampling_rate: int, n_fft: int, num_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    basis = librosa.filters.mel(sr=sampling_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis).float()


def mel_spectrogram(
    y: torch.Tensor,
    n_fft: int = N_FFT,
    num_mels: int = N_MELS,
    sampling_rate: int = SAMPLE_RATE,
    hop_size: int = HOP_LENGTH,
    win_size: int = WIN_LENGTH,
    fmin: float = F_MIN,
    fmax: float = F_MAX,
) -> torch.Tensor:
    """Log-mel of ``y`` ([B, samples] or [samples], float in [-1, 1]) as [B, num_mels, floor(samples/hop)]."""
    if y.dim() == 1:
        y = y.unsqueeze(0)
    basis = _mel_basis(sampling_rate, n_fft, num_mels, fmin, fmax).to(y.device)
    window = torch.hann_window(win_size, device=y.device)
    pad = (n_fft - hop_size) // 2
    if y.shape[-1] <= pad:
        raise AudioError(f"{y.shape[-1]} samples is too short for a mel (reflect padding needs more than {pad})")
    y = torch.nn.functional.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(
        y,
        n_fft,
        hop_length=hop_size,
        win_length=win_size,
        window=window,
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    magnitude = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
    return torch.log(torch.clamp(basis @ magnitude, min=1e-5))


def n_mel_frames(n_samples: int, hop_size: int = HOP_LENGTH) -> int:
    """Number of frames ``mel_spectrogram`` gives for ``n_samples`` samples."""
    return n_samples // hop_size


def load_wav(path: str | Path, sample_rate: int = SAMPLE_RATE, resample: bool = False) -> np.ndarray:
    """Read a mono wav as float32 in [-1, 1].

    A wav at another rate is an ``AudioError`` naming the file, unless ``resample`` is set
    (then it is resampled with soxr). Stereo and unreadable files are ``AudioError`` too.
    """
    path = Path(path)
    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: cannot read the wav ({error})") from error
    if audio.shape[1] != 1:
        raise AudioError(f"{path}: {audio.shape[1]} channels; a mono wav is expected")
    audio = audio[:, 0]
    if sr != sample_rate:
        if not resample:
            raise AudioError(f"{path}: sample rate {sr} Hz, expected {sample_rate} Hz (use --resample)")
        import soxr

        audio = soxr.resample(audio, sr, sample_rate).astype(np.float32)
    return audio
