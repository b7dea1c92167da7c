"""The fork's text front end: espeak-ng phonemes with case kept, and ids through the fork's own table.

Unlike upstream Matcha's ``english_cleaners2`` there is no lowercasing, no ASCII folding and no
abbreviation list; a light cleanup turns em dashes into commas, drops double quotes and forces a final
``"."``, then phonemizer's espeak backend reads the text as written.
"""

from __future__ import annotations

import re

from .symbols import symbol_to_id, symbols

__all__ = ["clean", "symbols", "to_phoneme_ids", "to_phonemes"]

_backends: dict[str, object] = {}


def _backend(language: str):
    """One cached phonemizer ``EspeakBackend`` per language, on espeakng-loader's library."""
    if language not in _backends:
        import espeakng_loader
        from phonemizer.backend import EspeakBackend
        from phonemizer.backend.espeak.wrapper import EspeakWrapper

        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        _backends[language] = EspeakBackend(
            language, preserve_punctuation=True, with_stress=True, language_switch="remove-flags"
        )
    return _backends[language]


def clean(text: str) -> str:
    """The fork's cleanup: "—" -> ",", double quotes removed, a final "." unless the text ends in . ? !"""
    text = re.sub(r"\s*—\s*", ", ", text)
    text = text.replace('"', "").replace("“", "").replace("”", "")
    text = re.sub(r"\s+", " ", text).strip()
    if not text.endswith((".", "?", "!")):
        text += "."
    return text


def to_phonemes(text: str, language: str) -> str:
    """IPA of ``text`` in ``language`` (an espeak code such as ``"en-us"``), case kept."""
    return _backend(language).phonemize([clean(text)], strip=True, njobs=1)[0]


def to_phoneme_ids(phonemes: str) -> list[int]:
    """One id per character of ``phonemes``; an unknown character raises ``KeyError``."""
    return [symbol_to_id[c] for c in phonemes]
