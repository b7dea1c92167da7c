"""espeak-ng phonemisation (via phonemizer) with the library and data of ``espeakng-loader``.

Settings follow upstream Matcha's ``english_cleaners2``: punctuation preserved, stress marks kept,
language-switch flags removed, output stripped, brackets removed and whitespace collapsed. Input is
lowercased for every language. For English voices (``en*``) the input is also folded to ASCII with
``unidecode`` and the upstream abbreviations are expanded, as upstream does; for other languages
neither is applied (ASCII folding would destroy their letters, the abbreviations are English).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import espeakng_loader
from phonemizer.backend import EspeakBackend
from phonemizer.backend.espeak.wrapper import EspeakWrapper
from unidecode import unidecode

EspeakWrapper.set_library(espeakng_loader.get_library_path())
EspeakWrapper.set_data_path(espeakng_loader.get_data_path())

_logger = logging.getLogger("matcha.text.espeak")
_logger.setLevel(logging.CRITICAL)  # as upstream: silence phonemizer's word-count warnings

# Common codes that are not espeak-ng voice names -> the voice used for them.
LANGUAGE_ALIASES: dict[str, str] = {
    "en": "en-us",
    "en-uk": "en-gb",
    "fr": "fr-fr",
    "de-de": "de",
    "es-es": "es",
}

_WHITESPACE_RE = re.compile(r"\s+")
_BRACKETS_RE = re.compile(r"[\[\](){}]")
_ABBREVIATIONS = [
    (re.compile(rf"\b{abbr}\.", re.IGNORECASE), full)
    for abbr, full in [
        ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"),
        ("jr", "junior"), ("maj", "major"), ("gen", "general"), ("drs", "doctors"),
        ("rev", "reverend"), ("lt", "lieutenant"), ("hon", "honorable"), ("sgt", "sergeant"),
        ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"), ("col", "colonel"), ("ft", "fort"),
    ]
]  # fmt: skip
_backends: dict[str, EspeakBackend] = {}
_lock = threading.Lock()


class UnknownLanguageError(ValueError):
    """A language code that is neither an espeak-ng voice nor an alias of one."""


def supported_languages() -> dict[str, str]:
    """espeak-ng voice codes accepted by ``to_phonemes`` -> voice names (aliases not included)."""
    return EspeakBackend.supported_languages()


def resolve_language(language: str) -> str:
    """Map a language code (case and ``_``/``-`` insensitive, aliases allowed) to an espeak voice."""
    code = language.strip().lower().replace("_", "-")
    code = LANGUAGE_ALIASES.get(code, code)
    if code not in supported_languages():
        raise UnknownLanguageError(
            f"unknown language {language!r}: not an espeak-ng voice nor one of the aliases "
            f"{sorted(LANGUAGE_ALIASES)}; see matcha.text.supported_languages()"
        )
    return code


def get_backend(language: str) -> EspeakBackend:
    """The cached EspeakBackend for ``language`` (created once per espeak voice, then reused)."""
    code = resolve_language(language)
    with _lock:
        backend = _backends.get(code)
        if backend is None:
            backend = EspeakBackend(
                language=code,
                preserve_punctuation=True,
                with_stress=True,
                language_switch="remove-flags",
                logger=_logger,
            )
            _backends[code] = backend
    return backend


def unknown_languages(languages: Iterable[str]) -> dict[str, str]:
    """The codes among ``languages`` that espeak-ng cannot phonemise, each with the reason.

    Each distinct code is checked once, by loading its espeak voice (kept for later calls).
    """
    unknown = {}
    for language in sorted(set(languages)):
        try:
            get_backend(language)
        except (UnknownLanguageError, RuntimeError) as error:
            unknown[language] = str(error)
    return unknown


def _preprocess(text: str, code: str) -> str:
    if code.startswith("en"):
        text = unidecode(text)
    text = text.lower()
    if code.startswith("en"):
        for regex, full in _ABBREVIATIONS:
            text = regex.sub(full, text)
    return _WHITESPACE_RE.sub(" ", text).strip()


def _postprocess(phonemes: str) -> str:
    return _WHITESPACE_RE.sub(" ", _BRACKETS_RE.sub("", phonemes)).strip()


def to_phonemes_batch(texts: list[str], language: str) -> list[str]:
    """Phonemise ``texts`` in one espeak call; returns one IPA string per text, in order."""
    backend = get_backend(language)
    prepared = [_preprocess(t, backend.language) for t in texts]
    todo = [i for i, t in enumerate(prepared) if t]  # phonemizer silently drops empty lines
    with _lock:  # one espeak instance per voice: serialise calls into it
        out = backend.phonemize([prepared[i] for i in todo], strip=True, njobs=1)
    result = [""] * len(texts)
    for i, phonemes in zip(todo, out, strict=True):
        result[i] = _postprocess(phonemes)
    return result


def to_phonemes(text: str, language: str) -> str:
    """Phonemise one text with espeak-ng (``english_cleaners2`` settings, any espeak language)."""
    return to_phonemes_batch([text], language)[0]


def to_phonemes_multilingual(texts: list[str], languages: list[str]) -> list[str]:
    """Phonemise texts of mixed languages, one batch call per language; results in input order."""
    result = [""] * len(texts)
    for language in sorted(set(languages)):
        indices = [i for i, lang in enumerate(languages) if lang == language]
        for i, phonemes in zip(indices, to_phonemes_batch([texts[i] for i in indices], language), strict=True):
            result[i] = phonemes
    return result
