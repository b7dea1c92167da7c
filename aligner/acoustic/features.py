"""Acoustic features on the Matcha mel grid (module doc of ``aligner.acoustic.model``): two log-mels with
deltas from the wav resampled to 24 kHz, and the LDA projection of spliced frames."""

from __future__ import annotations

import numpy as np
import soxr
import torch
from torchaudio.functional import compute_deltas

from aligner.audio import F_MAX, F_MIN, N_FFT, N_MELS, TTS_SAMPLE_RATE, WIN_LENGTH, mel_basis

SHORT_WINDOW = 384  # samples at 24 kHz: 16 ms


SHORT_N_FFT = 512


SHORT_N_MELS = 40


STATIC_DIMS = N_MELS + SHORT_N_MELS  # the log-mel part of the features, before the deltas


SPLICE = 4  # frames on each side spliced for the LDA


LDA_DIMS = 40


def frame_centres(n_frames: int, frame_seconds: float, centred: bool) -> np.ndarray:
    """Centres [n_frames] in seconds of a Matcha mel's frames: (f + 0.5) * frame_seconds for upstream's
    center=False mels (floor(samples / hop) frames), f * frame_seconds for center=True ones."""
    return (np.arange(n_frames) + (0.0 if centred else 0.5)) * frame_seconds


def framed_log_mel(audio: torch.Tensor, centres: np.ndarray, n_fft: int, win_length: int, n_mels: int) -> torch.Tensor:
    """Log-mel [n_mels, frames] of ``audio`` (float32 at ``TTS_SAMPLE_RATE``) in windows centred at ``centres``
    (seconds): upstream Matcha's mel (Hann window centred in the ``n_fft`` frame, magnitude, Slaney
    filterbank 0-8 kHz, log clamped at 1e-5) at arbitrary frame centres. Written here because torch.stft
    frames only at whole hops from sample 0, while the Matcha grid of a 22.05 kHz corpus falls between the
    samples of the analysis rate: each frame starts at the nearest sample (within 0.02 ms). Samples past
    either end are reflected, as upstream's padding reflects them (so at 24 kHz and hop 256 the frames are
    exactly upstream's)."""
    starts = torch.from_numpy(np.round(centres * TTS_SAMPLE_RATE - n_fft / 2).astype(np.int64))
    index = (starts[:, None] + torch.arange(n_fft)[None]).abs()
    last = len(audio) - 1
    index = torch.where(index > last, 2 * last - index, index).clamp(0, last)
    window = torch.zeros(n_fft)
    left = (n_fft - win_length) // 2
    window[left : left + win_length] = torch.hann_window(win_length)
    spectrum = torch.fft.rfft(audio[index] * window, n=n_fft)
    magnitude = torch.sqrt(spectrum.real.pow(2) + spectrum.imag.pow(2) + 1e-9)
    basis = mel_basis(TTS_SAMPLE_RATE, n_fft, n_mels, F_MIN, F_MAX)
    return torch.log(torch.clamp(basis @ magnitude.T, min=1e-5))


def acoustic_features(
    wav: np.ndarray, sample_rate: int, n_frames: int, frame_seconds: float, centred: bool = False
) -> torch.Tensor:
    """Features [n_frames, 360] (float32) of a mono wav (float in [-1, 1] at ``sample_rate``), one row per
    frame of a Matcha mel grid of ``frame_seconds`` (``frame_centres``; ``centred``: a center=True mel,
    samples // hop + 1 frames), normalised per utterance (module doc). ``ValueError`` when the wav is
    shorter than one frame."""
    if len(wav) < frame_seconds * sample_rate or n_frames < 1:
        raise ValueError(f"{len(wav)} samples give no mel frame")
    if sample_rate != TTS_SAMPLE_RATE:
        wav = soxr.resample(wav, sample_rate, TTS_SAMPLE_RATE)
    audio = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    centres = frame_centres(n_frames, frame_seconds, centred)
    spectra = torch.cat([
        framed_log_mel(audio, centres, N_FFT, WIN_LENGTH, N_MELS),
        framed_log_mel(audio, centres, SHORT_N_FFT, SHORT_WINDOW, SHORT_N_MELS),
    ])  # fmt: skip
    first = compute_deltas(spectra[None], win_length=5)[0]
    second = compute_deltas(first[None], win_length=5)[0]
    features = torch.cat([spectra, first, second]).T
    return (features - features.mean(0)) / (features.std(0, unbiased=False) + 1e-5)


def spliced(features: torch.Tensor) -> torch.Tensor:
    """The static log-mel part of ``features`` [frames, 360] with ``SPLICE`` frames on each side (edges
    repeated): [frames, 120 * (2 * SPLICE + 1)]."""
    n = features.shape[0]
    window = (torch.arange(n)[:, None] + torch.arange(-SPLICE, SPLICE + 1)[None]).clamp(0, n - 1)
    return features[:, :STATIC_DIMS][window].reshape(n, -1)


def project(features: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """LDA features [frames, LDA_DIMS] of an utterance's ``features`` [frames, 360]: its spliced frames times
    ``projection`` [spliced dims, LDA_DIMS], normalised per utterance (zero mean, unit variance)."""
    projected = spliced(features) @ projection.to(features)
    return (projected - projected.mean(0)) / (projected.std(0, unbiased=False) + 1e-5)
