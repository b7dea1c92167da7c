"""A second synthesiser with its own truth: Debian's ``flite`` (CMU's voices awb, rms and slt; English only).

``flite -psdur`` prints every segment it spoke with its end time (``pau:0.164 hh:0.255 ax:0.304 ...``, CMU's
phone set, ``pau`` a pause), so the truth of a flite utterance is exact, as espeak-ng's is, but from another
engine with other voices, rhythms and phone conventions: a gain that holds on both is not a fit to one.

Words: flite reports no word events. Each word of the text is spoken alone (``flite -ps``) to learn its phones,
and the sentence's phones are matched with the words' in order (difflib's opcodes: a word read otherwise in its
sentence, "the" as ``dh iy`` before a vowel, keeps its place); a word spans its phones. The phones are CMU's, not
the Matcha tokens' IPA, so they are scored at word boundaries (``aligner.evaluate``), not phone by phone.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import soundfile as sf

from aligner.words import text_words

FLITE_VOICES = ("awb", "rms", "slt")
PAUSE = "pau"
SILENCE = ""  # the reference label of a pause, as in the espeak-ng corpus


class FliteError(RuntimeError):
    """flite is missing or failed on a text."""


@dataclass(frozen=True)
class FliteSynthesis:
    """One utterance from flite: 16-bit ``samples`` at ``sample_rate`` and its segments as (label, end s)."""

    samples: np.ndarray
    sample_rate: int
    segments: list[tuple[str, float]]


def flite_binary() -> str:
    """The path of ``flite``; ``FliteError`` saying how to install it when it is missing."""
    path = shutil.which("flite")
    if path is None:
        raise FliteError("flite is not installed: apt-get install flite (Debian's package, voices awb, rms, slt)")
    return path


def parse_segments(printed: str) -> list[tuple[str, float]]:
    """``flite -psdur``'s line (``pau:0.164 hh:0.255 ...``) as (label, end time in seconds) pairs."""
    segments = []
    for field in printed.split():
        label, _, end = field.rpartition(":")
        segments.append((label, float(end)))
    return segments


def synthesise(text: str, voice: str) -> FliteSynthesis:
    """Speak ``text`` with flite's ``voice``; ``FliteError`` naming the text when flite fails."""
    if voice not in FLITE_VOICES:
        raise FliteError(f"unknown flite voice {voice!r}: one of {', '.join(FLITE_VOICES)}")
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "out.wav"
        done = subprocess.run(
            [flite_binary(), "-voice", voice, "-psdur", "-t", text, "-o", str(wav)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not wav.is_file():
            raise FliteError(f"flite failed on {text!r}: {done.stderr.strip() or done.returncode}")
        samples, rate = sf.read(wav, dtype="int16")
    return FliteSynthesis(samples, rate, parse_segments(done.stdout))


@functools.cache  # a corpus says the same words again and again; each is a flite process
def word_phones(word: str, voice: str) -> tuple[str, ...]:
    """The phones flite speaks for ``word`` alone (pauses left out)."""
    done = subprocess.run(
        [flite_binary(), "-voice", voice, "-ps", "-t", word, "-o", "none"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise FliteError(f"flite failed on the word {word!r}: {done.stderr.strip()}")
    return tuple(label for label in done.stdout.split() if label != PAUSE)


def phone_owners(spoken: list[str], alone: Sequence[Sequence[str]]) -> list[int]:
    """For each phone of the sentence (``spoken``, pauses left out), the index of the word it belongs to, from
    the phones of each word said alone: equal stretches map one to one, a stretch said otherwise is shared out
    in order among the words it replaces, an extra phone joins the word before it."""
    owner_alone = [k for k, phones in enumerate(alone) for _ in phones]
    flat = [phone for phones in alone for phone in phones]
    owners = [0] * len(spoken)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, flat, spoken, autojunk=False).get_opcodes():
        for j in range(j1, j2):
            if tag == "insert" or i1 == i2:
                owners[j] = owners[j - 1] if j > 0 else (owner_alone[i1] if i1 < len(flat) else 0)
            else:
                owners[j] = owner_alone[i1 + (j - j1) * (i2 - i1) // (j2 - j1)]
    return owners


def reference_phones(segments: list[tuple[str, float]], duration: float) -> list[dict]:
    """The segments as contiguous phones from 0 to ``duration`` (a pause labelled ``SILENCE``; adjacent
    pauses merged, zero-length ones dropped), each {label, start, end} in seconds."""
    phones: list[dict] = []
    start = 0.0
    for label, end in segments:
        end = min(end, duration)
        label = SILENCE if label == PAUSE else label
        if end > start:
            if label == SILENCE and phones and phones[-1]["label"] == SILENCE:
                phones[-1]["end"] = end
            else:
                phones.append({"label": label, "start": start, "end": end})
        start = max(start, end)
    if start < duration:
        if phones and phones[-1]["label"] == SILENCE:
            phones[-1]["end"] = duration
        else:
            phones.append({"label": SILENCE, "start": start, "end": duration})
    return phones


def reference_words(phones: list[dict], words: list[str], owners: list[int]) -> list[dict]:
    """Each word's span, from its first phone's start to its last phone's end ({label, start, end}); ``owners``:
    ``phone_owners`` of the non-silent ``phones``. A word that owns no phone is left out."""
    spoken = [p for p in phones if p["label"] != SILENCE]
    spans: dict[int, list[float]] = {}
    for phone, owner in zip(spoken, owners, strict=True):
        span = spans.setdefault(owner, [phone["start"], phone["end"]])
        span[1] = phone["end"]
    return [{"label": words[k], "start": s, "end": e} for k, (s, e) in sorted(spans.items())]


def flite_reference(
    rel_path: str, speaker: int, text: str, voice: str, synthesis: FliteSynthesis, sample_rate: int, duration: float
) -> dict:
    """The truth of one flite utterance, in the espeak-ng corpus's schema (``aligner.demo.corpus``) where it
    applies: ``phones`` (CMU labels, ``""`` for silence) and ``words`` (``text_words`` of the text) from 0 to
    ``duration`` seconds of the corpus's wav at ``sample_rate``, the engine and voice; ``words_agree``: whether
    each word said alone gave the phones the sentence has (when not, a word read otherwise in its sentence was
    placed by ``phone_owners``)."""
    phones = reference_phones(synthesis.segments, duration)
    words = text_words(text)
    spoken = [p["label"] for p in phones if p["label"] != SILENCE]
    alone = [word_phones(word, voice) for word in words]
    timed = reference_words(phones, words, phone_owners(spoken, alone))

    def rounded(items: list[dict]) -> list[dict]:
        return [{"label": i["label"], "start": round(i["start"], 6), "end": round(i["end"], 6)} for i in items]

    return {
        "rel_path": rel_path,
        "speaker": speaker,
        "language": "en-us",
        "text": text,
        "sample_rate": sample_rate,
        "duration": duration,
        "phones": rounded(phones),
        "words": rounded(timed),
        "engine": "flite",
        "flite": {"voice": voice, "sample_rate": synthesis.sample_rate},
        "words_agree": [p for phones in alone for p in phones] == spoken,
    }
