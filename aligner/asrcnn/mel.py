"""StyleTTS2's ASR mel front end (``meldataset.py``), the only input its ASRCNN was trained on.

24 kHz audio; ``torchaudio.transforms.MelSpectrogram(n_mels=80, n_fft=2048, win_length=1200,
hop_length=300)`` with every other argument at torchaudio's default — so the filterbank is built for
**16 kHz** (HTK mel scale, 0-8000 Hz nominal, no norm), power spectrum, ``center=True`` with reflect
padding; then ``(log(1e-5 + mel) + 4) / 4``; the frame count ``1 + samples // 300`` is trimmed to even.
Mel frame t is centred on sample 300 t, so encoder frame j (after the stride-2 input conv) is centred
on ``j * ASR_FRAME_SECONDS`` (25 ms). These mels are computed on the fly and never written to Matcha's
``mels/``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torchaudio

from aligner.audio import TTS_SAMPLE_RATE

N_FFT = 2048
WIN_LENGTH = 1200
HOP_LENGTH = 300
N_MELS = 80
MEL_MEAN = -4.0
MEL_STD = 4.0
ASR_FRAME_SECONDS = 2 * HOP_LENGTH / TTS_SAMPLE_RATE
MIN_SAMPLES = N_FFT // 2 + 1  # reflect padding needs more samples than it pads


@lru_cache(maxsize=4)
def _transform(device: str) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        n_mels=N_MELS, n_fft=N_FFT, win_length=WIN_LENGTH, hop_length=HOP_LENGTH
    ).to(device)


def asr_mel(audio: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """Normalised log-mel [80, T] (T even) of mono 24 kHz float audio."""
    wave = torch.as_tensor(np.asarray(audio, dtype=np.float32) if isinstance(audio, np.ndarray) else audio)
    if wave.dim() != 1 or wave.numel() < MIN_SAMPLES:
        raise ValueError(f"expected mono audio of at least {MIN_SAMPLES} samples, got shape {tuple(wave.shape)}")
    mel = _transform(str(torch.device(device)))(wave.float().to(device))
    mel = (torch.log(1e-5 + mel) - MEL_MEAN) / MEL_STD
    return mel[:, : mel.shape[1] // 2 * 2]


def encoder_frames(n_samples: int) -> int:
    """Frames of the ASRCNN encoder (25 ms each) for ``n_samples`` of audio: half the even mel frame count."""
    return (1 + n_samples // HOP_LENGTH) // 2


def pad_mels(mels: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mels [80, T_i] zero-padded into a batch [B, 80, T_max]; and their lengths."""
    lengths = torch.tensor([mel.shape[1] for mel in mels], device=mels[0].device)
    batch = mels[0].new_zeros(len(mels), N_MELS, int(lengths.max()))
    for row, mel in enumerate(mels):
        batch[row, :, : mel.shape[1]] = mel
    return batch, lengths
