"""Matcha mel front end: frame count formula and an independent numpy/torchaudio computation."""

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from aligner.audio import AudioError, load_wav, mel_spectrogram


def independent_mel(y: np.ndarray, rate: int = 24000) -> np.ndarray:
    """Upstream Matcha's mel written again with numpy framing, numpy FFT and torchaudio's Slaney filterbank."""
    n_fft, hop = 1024, 256
    pad = (n_fft - hop) // 2
    padded = np.pad(y.astype(np.float64), (pad, pad), mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([padded[i * hop : i * hop + n_fft] * window for i in range(n_frames)])
    spectrum = np.fft.rfft(frames, axis=1)
    magnitude = np.sqrt(spectrum.real**2 + spectrum.imag**2 + 1e-9)
    fbank = torchaudio.functional.melscale_fbanks(
        n_freqs=n_fft // 2 + 1, f_min=0.0, f_max=8000.0, n_mels=80, sample_rate=rate, norm="slaney", mel_scale="slaney"
    ).numpy()
    return np.log(np.maximum(magnitude @ fbank, 1e-5)).T


@pytest.mark.parametrize("n_samples", [385, 1000, 24000, 24000 + 255, 37 * 256])
def test_frame_count_is_floor_of_samples_over_hop(n_samples):
    y = torch.rand(n_samples) * 2 - 1
    mel = mel_spectrogram(y, 24000)
    assert mel.shape == (1, 80, n_samples // 256)


def test_too_short_audio_is_a_clear_error():
    with pytest.raises(AudioError, match="too short"):
        mel_spectrogram(torch.zeros(384), 24000)


@pytest.mark.parametrize("rate", [22050, 24000])
def test_mel_matches_independent_computation(rate):
    rng = np.random.default_rng(0)
    t = np.arange(rate * 2) / rate
    y = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    ours = mel_spectrogram(torch.from_numpy(y.astype(np.float32)), rate)[0].numpy()
    reference = independent_mel(y.astype(np.float32), rate)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 1e-3


def test_load_wav_refuses_other_rate_and_stereo(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(1600, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"a\.wav: sample rate 16000 Hz, but the corpus is at 24000 Hz"):
        load_wav(tmp_path / "a.wav", 24000)
    assert load_wav(tmp_path / "a.wav", 24000, resample=True).shape == (2400,)
    assert load_wav(tmp_path / "a.wav", 16000).shape == (1600,)
    sf.write(tmp_path / "b.wav", np.zeros((2400, 2), dtype=np.float32), 24000)
    with pytest.raises(AudioError, match=r"b\.wav.*2 channels"):
        load_wav(tmp_path / "b.wav", 24000)
    (tmp_path / "c.wav").write_bytes(b"RIFF\x00\x00")
    with pytest.raises(AudioError, match=r"c\.wav.*cannot read"):
        load_wav(tmp_path / "c.wav", 24000)
