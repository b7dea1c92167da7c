"""Pictures of an utterance's sound for the review page: its mel as a PNG, its waveform as peaks.

The spectrogram is the corpus's own mel (the one Matcha trains on and the durations count frames of), one
pixel column per mel frame and one row per band, lowest band at the bottom, quantised to 256 levels between
the utterance's 1st and 99.9th percentile and written as an 8-bit palette PNG (magma): a few kilobytes a
second, drawn by the browser without any script (wavesurfer.js's spectrogram plugin would decode the audio
with ``fetch``, which a page opened from file:// may not do).
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

LOW_PERCENTILE = 1.0
HIGH_PERCENTILE = 99.9
PEAKS_PER_SECOND = 200


@lru_cache(maxsize=1)
def palette() -> list[int]:
    """matplotlib's magma colour map as a flat PIL palette [r0, g0, b0, r1, ...] of 256 colours."""
    from matplotlib import colormaps

    colours = colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3]
    return [int(round(v * 255)) for v in colours.reshape(-1)]


def spectrogram_png(mel: np.ndarray) -> bytes:
    """The PNG of a mel [bands, frames] (any normalisation): ``frames`` pixels wide, ``bands`` high, low bands
    at the bottom. ``ValueError`` for an array that is not 2-D with at least one frame, or not finite."""
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[1] == 0 or mel.shape[0] == 0:
        raise ValueError(f"a mel is bands x frames; got shape {mel.shape}")
    if not np.isfinite(mel).all():
        raise ValueError("the mel holds NaN or infinite values")
    low, high = np.percentile(mel, [LOW_PERCENTILE, HIGH_PERCENTILE])
    scaled = (mel - low) / max(float(high - low), 1e-6)
    levels = np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)[::-1]
    image = Image.frombytes("P", (levels.shape[1], levels.shape[0]), np.ascontiguousarray(levels).tobytes())
    image.putpalette(palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def waveform_peaks(audio: np.ndarray, sample_rate: int, per_second: int = PEAKS_PER_SECOND) -> list[float]:
    """The largest absolute sample of each 1 / ``per_second`` s of ``audio`` (float, -1..1), rounded to
    3 decimals: what wavesurfer.js draws the waveform from without decoding the audio itself."""
    audio = np.abs(np.asarray(audio, dtype=np.float32))
    step = max(sample_rate // per_second, 1)
    n = -(-len(audio) // step)
    padded = np.zeros(n * step, dtype=np.float32)
    padded[: len(audio)] = audio
    return [round(float(v), 3) for v in padded.reshape(n, step).max(axis=1)] if n else []
