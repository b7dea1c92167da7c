"""Precompute the mels of a corpus (stand-in of the fork's own script; this file must never be overwritten).

Corpus layout (``data/corpus-small-24k/``)::

    train.csv, validate.csv   no header, one line per utterance: rel_path|spk|language|text
                              e.g. 0/0001|0|en-us|I think so.  (rel_path = <speaker-id>/<file-name>)
    wav/{rel_path}.wav        24 kHz mono audio
    mels/{rel_path}.npy       float32 [100, T] normalised log mels, T = samples // 256 + 1
    mels128/{rel_path}.npy    the same at hop 128 (the fork's double-resolution mels for MAS), T = samples // 128 + 1

Mels: audio cut to a multiple of the hop, torchaudio ``MelSpectrogram`` (n_fft 1024, hop 256 or 128,
win 1024, 100 bands, htk scale, no norm, power 1, centred, 0-12 kHz), natural log of max(x, 1e-7),
then ``(mel - MEL_MEAN) / MEL_STD``.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 24000
HOP_LENGTH = 256
N_FFT = 1024
N_MELS = 100
MEL_MEAN = -1.5
MEL_STD = 2.0

_mel_transforms: dict[int, torchaudio.transforms.MelSpectrogram] = {}


def _transform(hop: int) -> torchaudio.transforms.MelSpectrogram:
    if hop not in _mel_transforms:
        _mel_transforms[hop] = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=N_FFT,
            hop_length=hop,
            win_length=N_FFT,
            n_mels=N_MELS,
            center=True,
            power=1,
            mel_scale="htk",
            norm=None,
            f_min=0,
            f_max=12000,
        )
    return _mel_transforms[hop]


def fork_mel(audio: np.ndarray, hop: int = HOP_LENGTH) -> np.ndarray:
    """The fork's normalised log mel of mono float ``audio`` at 24 kHz: float32 ``[100, samples // hop + 1]``.

    Audio shorter than 513 samples (``n_fft // 2 + 1``) after the cut raises ``ValueError``: the centred
    STFT's reflect padding needs more.
    """
    audio = np.asarray(audio, dtype=np.float32)
    audio = audio[: len(audio) // hop * hop]
    if len(audio) <= N_FFT // 2:
        raise ValueError(
            f"audio too short for the fork's mel: {len(audio)} samples after the cut to a multiple of {hop}"
        )
    with torch.no_grad():
        mel = _transform(hop)(torch.from_numpy(audio.copy()))
    mel = torch.log(torch.clamp(mel, min=1e-7))
    return ((mel - MEL_MEAN) / MEL_STD).numpy().astype(np.float32)
