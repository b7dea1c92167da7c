"""Test helpers for the Matcha-TTS fork fixture in ``tests/fork``: copy it, and build its small 24 kHz corpus.

The fork's corpus (``data/corpus-small-24k/`` under the fork's root) is laid out as the fork expects it::

    train.csv, validate.csv   no header, ``rel_path|spk|language|text`` (rel_path like ``0/0001``)
    wav/{rel_path}.wav        24 kHz mono PCM_16
    mels/{rel_path}.npy       the fork's mel (``fork_mel``): float32 [100, samples // 256 + 1]
    mels128/{rel_path}.npy    its double-resolution mel for MAS: [100, samples // 128 + 1]

Speech comes from the project's espeak-ng demo synthesiser (:mod:`aligner.demo`).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from aligner.audio import TTS_SAMPLE_RATE
from aligner.demo.corpus import plan_corpus, resample_pcm, speaker_setting
from aligner.demo.espeak_synth import EspeakSynth

FORK = Path(__file__).parent / "fork"
CORPUS_NAME = "corpus-small-24k"
LANGUAGE = "en-us"
SPEAKERS = 2

#: Texts that exercise the fork's text front end: the pronoun "I" (case kept), an em dash (a comma),
#: an abbreviation (no abbreviation list) and no final punctuation (a "." is added).
SPECIAL_TEXTS: tuple[str, ...] = (
    "I think so.",
    "Wait — the train left without us.",
    "Dr. Smith opened the window.",
    "We walked home along the river",
)


def copy_fork(dest: Path) -> Path:
    """Copy the fork fixture (``tests/fork``, without ``__pycache__``) to ``dest``; return the fork's root."""
    shutil.copytree(FORK, dest, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return Path(dest)


def load_fork_mel() -> Callable[[np.ndarray], np.ndarray]:
    """The fixture's ``fork_mel``, imported by file path (so no other ``matcha`` is involved or shadowed)."""
    path = FORK / "matcha" / "utils" / "precompute_corpus.py"
    spec = importlib.util.spec_from_file_location("_fork_fixture_precompute_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fork_mel


def fork_texts(n: int) -> list[str]:
    """``n`` English texts: :data:`SPECIAL_TEXTS` first, then demo sentences (deterministic)."""
    special = list(SPECIAL_TEXTS[:n])
    rest = plan_corpus(n - len(special), 0, [LANGUAGE], 1) if n > len(special) else []
    return special + [item.text for item in rest]


def make_fork_corpus(root: Path, n: int = 12) -> Path:
    """Build ``root/data/corpus-small-24k/`` in the fork's layout with ``n`` utterances; return that folder.

    Utterance ``i`` (1-based) is ``{spk}/{i:04d}`` with ``spk = (i - 1) % 2``, spoken by the demo
    synthesiser's setting for that speaker; every fifth utterance goes to ``validate.csv`` (the special
    texts, first, stay in ``train.csv``). Texts are spoken as written (case kept, as the fork reads them).
    Existing files of the same names are overwritten.
    """
    if n < 1:
        raise ValueError("need n >= 1")
    corpus = Path(root) / "data" / CORPUS_NAME
    fork_mel = load_fork_mel()
    synth = EspeakSynth()
    train: list[str] = []
    validate: list[str] = []
    for i, text in enumerate(fork_texts(n), start=1):
        spk = (i - 1) % SPEAKERS
        rel = f"{spk}/{i:04d}"
        setting = speaker_setting(spk)
        synth.set_voice(LANGUAGE, setting.variant)
        synth.set_prosody(setting.rate, setting.pitch, setting.range)
        result = synth.synth(text)
        pcm = resample_pcm(result.samples, result.sample_rate, TTS_SAMPLE_RATE)
        if not len(pcm):
            raise RuntimeError(f"espeak produced no audio for {text!r}")
        wav = corpus / "wav" / f"{rel}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, pcm, TTS_SAMPLE_RATE, subtype="PCM_16", format="WAV")
        for folder, hop in (("mels", 256), ("mels128", 128)):
            mel = corpus / folder / f"{rel}.npy"
            mel.parent.mkdir(parents=True, exist_ok=True)
            np.save(mel, fork_mel(pcm.astype(np.float32) / 32768.0, hop))
        (validate if i % 5 == 0 else train).append(f"{rel}|{spk}|{LANGUAGE}|{text}\n")
    (corpus / "train.csv").write_text("".join(train), encoding="utf-8")
    (corpus / "validate.csv").write_text("".join(validate), encoding="utf-8")
    return corpus
