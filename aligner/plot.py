"""A picture of an alignment: the mel spectrogram with each system's phone boundaries drawn on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aligner.textgrid import tiers

COLOURS = ("tab:red", "tab:cyan", "tab:orange", "tab:green")


def plot_alignment(
    path: str | Path,
    mel: np.ndarray,
    ipa: str,
    systems: dict[str, np.ndarray],
    frame_seconds: float,
    reference: list[dict] | None = None,
    title: str = "",
) -> None:
    """Save a PNG of ``mel`` [80, frames] with the phone boundaries of every system in ``systems``
    (name -> durations) and, if given, the reference phones ({label, start, end}) in white."""
    seconds = mel.shape[1] * frame_seconds
    fig = Figure(figsize=(max(10.0, 4.0 * seconds), 4.5))
    ax = fig.subplots()
    ax.imshow(mel, origin="lower", aspect="auto", extent=(0, seconds, 0, mel.shape[0]), cmap="magma")
    if reference:
        for phone in reference:
            ax.axvline(phone["start"], color="white", lw=0.8, ls=":")
            ax.text((phone["start"] + phone["end"]) / 2, 2, phone["label"], color="white", ha="center", fontsize=7)
    for index, (name, durations) in enumerate(systems.items()):
        colour = COLOURS[index % len(COLOURS)]
        phones = tiers(ipa, durations, frame_seconds)["phones"]
        height = mel.shape[0] - 6 - 8 * index
        for start, end, label in phones:
            ax.axvline(start, ymin=0.5, color=colour, lw=0.8)
            ax.text((start + end) / 2, height, label, color=colour, ha="center", fontsize=7)
        ax.plot([], [], color=colour, label=name)
    if reference:
        ax.plot([], [], color="white", ls=":", label="reference")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel channel")
    ax.set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
