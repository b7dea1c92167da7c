"""A picture of an alignment: the mel spectrogram with each system's phone boundaries drawn on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aligner.extract.textgrid import tiers

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple")


def plot_alignment(
    path: str | Path,
    mel: np.ndarray,
    ipa: str,
    systems: dict[str, np.ndarray],
    frame_seconds: float,
    reference: list[dict] | None = None,
    title: str = "",
    suspect: tuple[float, float, str] | None = None,
) -> None:
    """Save a PNG of ``mel`` [80, frames] with the phone boundaries of every system in ``systems``
    (name -> durations), if given the reference phones ({label, start, end}) as dotted black lines, and the
    transcript check's ``suspect`` (start s, end s, word) shaded."""
    seconds = mel.shape[1] * frame_seconds
    fig = Figure(figsize=(max(10.0, 4.0 * seconds), 4.5))
    ax = fig.subplots()
    ax.imshow(mel, origin="lower", aspect="auto", extent=(0, seconds, 0, mel.shape[0]), cmap="Greys")
    if reference:
        for phone in reference:
            ax.axvline(phone["start"], color="black", lw=0.8, ls=":")
            ax.text((phone["start"] + phone["end"]) / 2, 2, phone["label"], color="black", ha="center", fontsize=7)
    if suspect:
        ax.axvspan(suspect[0], suspect[1], color="tab:red", alpha=0.2, label=f"suspect {suspect[2]!r}")
    band = mel.shape[0] / 2 / max(len(systems), 1)  # each system draws in its own band of the upper half
    for index, (name, durations) in enumerate(systems.items()):
        colour = COLOURS[index % len(COLOURS)]
        low = mel.shape[0] / 2 + index * band
        phones = tiers(ipa, durations, frame_seconds)["phones"]
        ax.vlines([start for start, _, _ in phones], low, low + band, color=colour, lw=0.9)
        for start, end, label in phones:
            ax.text((start + end) / 2, low + band / 2, label, color=colour, ha="center", va="center", fontsize=7)
        ax.plot([], [], color=colour, label=name)
    if reference:
        ax.plot([], [], color="black", ls=":", label="reference")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel channel")
    ax.set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
