"""espeak-ng phonemisation (via phonemizer) with the library and data of ``espeakng-loader``.

Settings follow upstream Matcha's ``english_cleaners2``: punctuation preserved, stress marks kept,
language-switch flags removed, output stripped by phonemizer, brackets removed and whitespace
collapsed (a text that ends in punctuation and a space keeps a space at the end, as upstream). Input is
put in Unicode NFC first (an accent typed as a combining mark joins its letter) and lowercased for
every language. For English voices (``en*``) the input is also folded to ASCII with ``unidecode`` and
the upstream abbreviations are expanded, as upstream does; for other languages neither is applied
(ASCII folding would destroy their letters, the abbreviations are English). Every other English text
gives exactly upstream's phonemes.

Two kinds of text raise ``PhonemizationError`` instead of giving phonemes that do not match it:

- espeak-ng reads the text as several sentences (numbers with punctuation inside, such as
  "for 3.5 kg.", do this): phonemizer then returns several pieces for one text, and upstream keeps
  only the first, silently dropping the rest of the sentence;
- letters of a script the voice does not read (its language's usual script, from CLDR via
  ``langcodes``, or Latin): "hello \u0d28 world" would give the English voice a phantom "ˈɛn".
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable

import espeakng_loader
import langcodes
import regex
from phonemizer.backend import EspeakBackend
from phonemizer.backend.espeak.wrapper import EspeakWrapper
from unidecode import unidecode

EspeakWrapper.set_library(espeakng_loader.get_library_path())
EspeakWrapper.set_data_path(espeakng_loader.get_data_path())

_logger = logging.getLogger("aligner.text.espeak")
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
# A composite ISO 15924 script (what CLDR gives as a language's usual script) -> the scripts its letters carry.
COMPOSITE_SCRIPTS = {"Jpan": ("Hani", "Hira", "Kana"), "Kore": ("Hang", "Hani"), "Hans": ("Hani",), "Hant": ("Hani",)}
SCRIPT_OVERRIDES = {"grc": "Grek"}  # CLDR's likely script for Ancient Greek is Cypriot; espeak reads Greek
_backends: dict[str, EspeakBackend] = {}
_lock = threading.Lock()


class UnknownLanguageError(ValueError):
    """A language code that is neither an espeak-ng voice nor an alias of one."""


NOT_PHONEMISED = "text the front end cannot read"
OTHER_SCRIPT = "letters of another script"
SEVERAL_SENTENCES = "text espeak reads as several sentences"


class PhonemizationError(ValueError):
    """A text whose phonemes cannot be matched to it one to one (see the module doc); the message
    gives the cause and what to change in the text, ``cause`` names it in a few words (as
    alignment_summary.csv's cause column does)."""

    def __init__(self, message: str, cause: str = NOT_PHONEMISED) -> None:
        super().__init__(message)
        self.cause = cause


@functools.cache
def supported_languages() -> dict[str, str]:
    """espeak-ng voice codes accepted by ``to_phonemes`` -> voice names (aliases not included). Read once:
    phonemizer loads a new espeak library instance for every listing (about 1.3 MB each, never freed)."""
    return EspeakBackend.supported_languages()


def resolve_language(language: str) -> str:
    """Map a language code (case and ``_``/``-`` insensitive, aliases allowed) to an espeak voice."""
    code = language.strip().lower().replace("_", "-")
    code = LANGUAGE_ALIASES.get(code, code)
    if code not in supported_languages():
        raise UnknownLanguageError(
            f"unknown language {language!r}: not an espeak-ng voice nor one of the aliases "
            f"{sorted(LANGUAGE_ALIASES)}; see aligner.text.supported_languages()"
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


def voice_scripts(voice: str) -> tuple[str, ...] | None:
    """ISO 15924 codes of the scripts espeak voice ``voice`` reads: its language's usual script (CLDR's
    likely subtags, through ``langcodes``) and Latin (foreign words, which espeak reads in another
    voice); None when the code names no known language (then no text is checked)."""
    for code in (voice, voice.split("-")[0]):
        try:
            script = SCRIPT_OVERRIDES.get(code) or langcodes.Language.get(code).maximize().script
        except (LookupError, ValueError):
            continue
        if script:
            return tuple(sorted({"Latn", *COMPOSITE_SCRIPTS.get(script, (script,))}))
    return None


@functools.cache
def _foreign_letter_re(voice: str) -> regex.Pattern | None:
    scripts = voice_scripts(voice)
    if scripts is None:
        return None
    allowed = "".join(rf"\p{{sc={script}}}" for script in scripts)
    return regex.compile(rf"[\p{{L}}--[{allowed}]]", regex.V1)


def foreign_letters(text: str, voice: str) -> list[str]:
    """The distinct letters of ``text`` (in order) whose script voice ``voice`` does not read."""
    pattern = _foreign_letter_re(voice)
    return list(dict.fromkeys(pattern.findall(text))) if pattern else []


def _preprocess(text: str, code: str) -> str:
    if code.startswith("en"):
        text = unidecode(text)
    text = text.lower()
    if code.startswith("en"):
        for pattern, full in _ABBREVIATIONS:
            text = pattern.sub(full, text)
    return text


def _postprocess(phonemes: str) -> str:
    return _WHITESPACE_RE.sub(" ", _BRACKETS_RE.sub("", phonemes))


def to_phonemes(text: str, language: str) -> str:
    """Phonemise one text with espeak-ng (``english_cleaners2`` settings, any espeak language); "" for
    a text without words. ``PhonemizationError`` for a text of letters the voice does not read or one
    espeak splits into several sentences (module doc); ``UnknownLanguageError`` for an unknown language."""
    backend = get_backend(language)
    text = unicodedata.normalize("NFC", text)
    if foreign := foreign_letters(text, backend.language):
        names = ", ".join(f"{letter!r} ({unicodedata.name(letter, 'unnamed')})" for letter in foreign[:5])
        raise PhonemizationError(
            f"letters the {backend.language} voice does not read (it reads the scripts "
            f"{', '.join(voice_scripts(backend.language))} of ISO 15924): {names}; espeak would turn them "
            "into phones that are not in the audio. Transliterate or remove them, or give the utterance its own "
            "language",
            OTHER_SCRIPT,
        )
    pieces = sentence_pieces(text, language)
    if not pieces:
        return ""
    if len(pieces) != 1:
        hint = "write the numbers as words" if any(c.isdigit() for c in text) else "split or reword the sentence"
        raise PhonemizationError(
            f"espeak-ng read the text as {len(pieces)} sentences ({' | '.join(pieces)}), so its phonemes cannot be "
            f"matched to it one to one; {hint}",
            SEVERAL_SENTENCES,
        )
    return _postprocess(pieces[0])


def sentence_pieces(text: str, language: str) -> list[str]:
    """What espeak-ng gives for ``text`` with the built-in settings: one phoneme string per sentence it reads
    (numbers with punctuation inside can make several of one text), [] for a text without words.
    ``UnknownLanguageError`` for an unknown language."""
    backend = get_backend(language)
    prepared = _preprocess(unicodedata.normalize("NFC", text), backend.language)
    if not prepared.strip():  # phonemizer silently drops empty lines
        return []
    with _lock:  # one espeak instance per voice: serialise calls into it
        return backend.phonemize([prepared], strip=True, njobs=1)


def to_phonemes_batch(texts: list[str], language: str) -> list[str | PhonemizationError]:
    """``to_phonemes`` of every text, in order; a text that fails gives its ``PhonemizationError``
    in its place and the others go on. ``UnknownLanguageError`` for an unknown language."""
    result: list[str | PhonemizationError] = []
    for text in texts:
        try:
            result.append(to_phonemes(text, language))
        except PhonemizationError as error:
            result.append(error)
    return result


def to_phonemes_multilingual(texts: list[str], languages: list[str]) -> list[str | PhonemizationError]:
    """``to_phonemes_batch`` for texts of mixed languages; results in input order."""
    result: list[str | PhonemizationError] = [""] * len(texts)
    for language in sorted(set(languages)):
        indices = [i for i, lang in enumerate(languages) if lang == language]
        for i, phonemes in zip(indices, to_phonemes_batch([texts[i] for i in indices], language), strict=True):
            result[i] = phonemes
    return result
