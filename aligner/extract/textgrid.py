"""Praat TextGrids of extracted durations: a phones tier and a words tier (written with praatio).

Times come from ``aligner.evaluate.phone_match.symbol_times`` (an interspersed blank's frames split evenly
between its neighbours). The phones tier holds one interval per Matcha phone symbol (stress and
length marks are symbols of their own, as Matcha trains on them); the words tier one interval per
run of phone symbols between spaces and punctuation. Pauses are left as empty intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from praatio import textgrid
from praatio.utilities.constants import Interval

from aligner.durations import atomic_write, symbol_times
from aligner.text import is_phone_symbol
from aligner.words import token_word_positions


def tiers(ipa: str, durations: np.ndarray, frame_seconds: float) -> dict[str, list[tuple[float, float, str]]]:
    """Intervals (start, end, label) of the phones and words tiers."""
    starts, ends = symbol_times(durations, len(ipa), frame_seconds)
    phones = [(starts[i], ends[i], c) for i, c in enumerate(ipa) if is_phone_symbol(c)]
    words = [(starts[run[0]], ends[run[-1]], "".join(ipa[k] for k in run)) for run in token_word_positions(ipa)]
    return {"phones": phones, "words": words}


def write_textgrid(
    path: str | Path, ipa: str, durations: np.ndarray, frame_seconds: float, centred: bool = False
) -> None:
    """Write the TextGrid of one utterance atomically. On a ``centred`` mel grid (frame f centred at
    f * hop, not (f + 0.5) * hop) every time is half a frame earlier."""
    shift = frame_seconds / 2 if centred else 0.0
    total = float(np.sum(durations)) * frame_seconds - shift
    grid = textgrid.Textgrid()
    for name, intervals in tiers(ipa, durations, frame_seconds).items():
        shifted = [(max(s - shift, 0.0), max(e - shift, 0.0), label) for s, e, label in intervals]
        entries = [Interval(round(float(s), 6), round(float(e), 6), label) for s, e, label in shifted if e > s]
        grid.addTier(textgrid.IntervalTier(name, entries, 0.0, round(total, 6)))
    atomic_write(path, lambda tmp: grid.save(tmp, format="long_textgrid", includeBlankSpaces=True))
