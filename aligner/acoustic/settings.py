"""What the acoustic fit writes beside a checkpoint (``alignment.json``: CTC frame offset, CTC weight, the
rate it was fitted at, the history of its rounds) and the checks extraction makes on it."""

from __future__ import annotations

import json
from pathlib import Path

from aligner.audio import F_MAX, TTS_SAMPLE_RATE
from aligner.ctc.posteriors import CheckpointError
from aligner.search.scores import NOMINAL_OFFSET_SECONDS

SETTINGS_FILE = "alignment.json"


FIT_HINT = "fit it with:  python -m aligner.acoustic.train --checkpoint {checkpoint} --corpus CORPUS"


def alignment_settings(checkpoint: str | Path) -> dict:
    """What ``aligner.acoustic.train`` wrote to CHECKPOINT/alignment.json (CTC frame offset, CTC weight),
    or the nominal offset alone when it has not run there."""
    path = Path(checkpoint) / SETTINGS_FILE
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"offset_ms": NOMINAL_OFFSET_SECONDS * 1000}


def feature_band(sample_rate: int) -> float:
    """The highest frequency (Hz) the acoustic features hold of audio at ``sample_rate``: 8 kHz, or less
    where the audio's Nyquist frequency is lower."""
    return min(sample_rate / 2, F_MAX)


def check_fitted_rate(checkpoint: str | Path, settings: dict, sample_rate: int) -> None:
    """``CheckpointError`` when the acoustic stage was fitted on audio whose band differs from this corpus's
    (a stage fitted at 24 kHz has learnt 4-8 kHz, which 8 kHz audio lacks, and the other way round); any
    rates of 16 kHz and above hold the features' full 0-8 kHz band and share a stage. A stage fitted before
    the rate was recorded was fitted at 24 kHz."""
    fitted = int(settings.get("sample_rate", TTS_SAMPLE_RATE))
    if feature_band(fitted) != feature_band(sample_rate):
        raise CheckpointError(
            f"{checkpoint}: its acoustic stage was fitted on {fitted} Hz audio (features up to "
            f"{feature_band(fitted):.0f} Hz), this corpus is at {sample_rate} Hz (up to {feature_band(sample_rate):.0f}"
            f" Hz): they differ in band; {FIT_HINT.format(checkpoint=checkpoint)} (this corpus), or use --method mel"
        )
