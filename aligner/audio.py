"""Matcha-TTS mel front end at any sample rate, and wav loading.

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

N_FFT = 1024
HOP_LENGTH = 256
WIN_LENGTH = 1024
N_MELS = 80
F_MIN = 0.0
F_MAX = 8000.0
# Hz: the fork's rate and StyleTTS2's; the demo corpora are written at it, the acoustic features and the
# ASRCNN baseline read every wav resampled to it
TTS_SAMPLE_RATE = 24000
SILENCE_PEAK = 1e-4  # a wav whose peak stays below this is silence
UNKNOWN_DATA_SIZE = 0xFFFFFFFF  # what streaming writers put in the data chunk header


UNUSABLE_AUDIO = "unusable audio"
SILENT_AUDIO = "silent audio"


class AudioError(ValueError):
    """A wav that cannot be used as it is (wrong rate, channels, unreadable, truncated, silent); ``cause``
    names it in a few words (alignment_summary.csv's cause column)."""

    def __init__(self, message: str, cause: str = UNUSABLE_AUDIO) -> None:
        super().__init__(message)
        self.cause = cause


@lru_cache(maxsize=8)
def mel_basis(sampling_rate: int, n_fft: int, num_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    """librosa's Slaney mel filterbank [num_mels, n_fft // 2 + 1] (float32), cached."""
    basis = librosa.filters.mel(sr=sampling_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis).float()


def mel_spectrogram(
    y: torch.Tensor,
    sampling_rate: int,
    n_fft: int = N_FFT,
    num_mels: int = N_MELS,
    hop_size: int = HOP_LENGTH,
    win_size: int = WIN_LENGTH,
    fmin: float = F_MIN,
    fmax: float = F_MAX,
) -> torch.Tensor:
    """Log-mel of ``y`` ([B, samples] or [samples], float in [-1, 1]) as [B, num_mels, floor(samples/hop)]."""
    if y.dim() == 1:
        y = y.unsqueeze(0)
    basis = mel_basis(sampling_rate, n_fft, num_mels, fmin, fmax).to(y.device)
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


def check_not_truncated(path: str | Path) -> None:
    """Raise ``AudioError`` when a RIFF/WAVE file holds fewer data bytes than its header declares.

    libsndfile reads such a file without complaint (it returns the samples that are there), so a
    wav cut short by a failed copy would otherwise pass for a shorter recording. Other formats pass.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(0)
        riff = handle.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return
        while len(header := handle.read(8)) == 8:
            declared = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                available = size - handle.tell()
                if declared != UNKNOWN_DATA_SIZE and available < declared:
                    raise AudioError(
                        f"{path}: truncated wav (its header declares {declared} data bytes, the file holds {available})"
                    )
                return
            handle.seek(declared + declared % 2, 1)


def wav_frames(path: str | Path, sample_rate: int, rate_source: str = "") -> int:
    """Sample count of a mono wav at ``sample_rate``, from its header; ``AudioError`` naming the file
    when it is unreadable, truncated, at another rate (naming both, and ``rate_source``: where the
    expected rate comes from) or not mono."""
    try:
        info = sf.info(str(path))
        check_not_truncated(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{path}: cannot read the wav ({error})") from error
    if info.channels != 1:
        raise AudioError(f"{path}: {info.channels} channels; a mono wav is expected")
    if info.samplerate != sample_rate:
        raise AudioError(rate_message(path, info.samplerate, sample_rate, rate_source))
    return int(info.frames)


def rate_message(path: str | Path, rate: int, expected: int, rate_source: str = "") -> str:
    """Why a wav at ``rate`` does not fit a corpus at ``expected`` Hz, naming the file and both rates."""
    source = f" ({rate_source})" if rate_source else ""
    return (
        f"{path}: sample rate {rate} Hz, but the corpus is at {expected} Hz{source}; resample it to {expected} Hz, "
        "as the Matcha reads it"
    )


def load_wav(path: str | Path, sample_rate: int, resample: bool = False) -> np.ndarray:
    """Read a mono wav as float32 in [-1, 1].

    A wav at another rate is an ``AudioError`` naming the file, unless ``resample`` is set
    (then it is resampled with soxr). Stereo, truncated and unreadable files are ``AudioError`` too.
    """
    path = Path(path)
    try:
        check_not_truncated(path)
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{path}: cannot read the wav ({error})") from error
    if audio.shape[1] != 1:
        raise AudioError(f"{path}: {audio.shape[1]} channels; a mono wav is expected")
    audio = audio[:, 0]
    if sr != sample_rate:
        if not resample:
            raise AudioError(rate_message(path, sr, sample_rate))
        import soxr

        audio = soxr.resample(audio, sr, sample_rate).astype(np.float32)
    return audio


def require_audible(audio: np.ndarray, path: str | Path, min_peak: float = SILENCE_PEAK) -> np.ndarray:
    """``audio`` itself, or an ``AudioError`` naming ``path`` when it is silent (peak below ``min_peak``)."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak < min_peak:
        raise AudioError(f"{path}: silent audio (peak amplitude {peak:.2g}, below {min_peak:g})", SILENT_AUDIO)
    return audio
