"""The text front end: which code turns a text into the tokens Matcha trains on.

The installed Matcha decides, because its dataset asserts that a duration file has one entry per token
it makes (2L + 1 with ``add_blank``):

- a Matcha fork with ``matcha.text.to_phonemes(text, language)`` and a ``symbols`` table (such as
  faltiska/Matcha-TTS-24k): its phonemes, one token per id of its ``to_phoneme_ids`` (one per character);
- upstream Matcha-TTS (``matcha.text.text_to_sequence(text, ["english_cleaners2"])``): its cleaned text,
  one token per character; upstream reads every text as English, whatever its language;
- no importable ``matcha.text``: the built-in front end, ``aligner.text.to_phonemes`` (upstream's settings
  in the utterance's own language);
- ``--text-frontend module:function``: any function of (text, language) -> phoneme string, one token per
  character, for a fork whose front end has another shape.

A token the Matcha's own symbol table lacks fails that utterance (the Matcha itself could not read it).
Every token is then mapped by its symbol, not by the Matcha's id, onto ``aligner.text.symbols``, the rows
of the aligner's CTC head.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aligner.text.phonemize import SEVERAL_SENTENCES, PhonemizationError, UnknownLanguageError, sentence_pieces
from aligner.text.phonemize import to_phonemes as builtin_to_phonemes
from aligner.text.symbols import is_phone_symbol

BUILTIN = "builtin"
UPSTREAM_CLEANERS = ["english_cleaners2"]
TABLE_LACKS = "symbol the Matcha's table lacks"  # the cause of a token the Matcha's own table has no id for
FRONTEND_HELP = (
    "module:function or 'builtin', as given to the extraction (default: the installed Matcha's matcha.text, else "
    "builtin)"
)
KEPT_SHARE = 0.8  # tokens holding fewer of espeak's phones than this have lost words of the text


class FrontendError(ValueError):
    """A ``--text-frontend`` that cannot be used."""


@dataclass(frozen=True)
class TextFrontend:
    """A text front end: ``name`` says which (printed by every run, recorded in checkpoints);
    ``phonemize(text, language)`` gives its token string; ``table`` is the Matcha's symbol -> id map
    (None: any symbol); ``source``: the folder of its Python code (None: the built-in one)."""

    name: str
    phonemize: Callable[[str, str], str]
    table: dict[str, int] | None = None
    source: Path | None = None

    def source_digest(self) -> str:
        """A hash of the front end's Python files (prepared training data depends on them); "" for the
        built-in one, whose versions the caller records."""
        if self.source is None:
            return ""
        digest = hashlib.sha256()
        for path in sorted(self.source.rglob("*.py")):
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def tokens(self, text: str, language: str) -> str:
        """The token string of ``text`` (one token per character). ``PhonemizationError`` naming the cause
        when the front end fails on it or gives a symbol its own table lacks."""
        try:
            tokens = self.phonemize(text, language)
        except PhonemizationError:
            raise
        except Exception as error:  # noqa: BLE001 - a Matcha's front end may raise anything: it fails this text
            raise PhonemizationError(f"the {self.name} front end failed: {error!r}") from error
        if not isinstance(tokens, str):
            raise PhonemizationError(f"the {self.name} front end gave {type(tokens).__name__}, not a string")
        if self.name != BUILTIN and (cut := cut_short(tokens, text, language)):
            raise PhonemizationError(f"the {self.name} front end gives {tokens!r}: {cut}", SEVERAL_SENTENCES)
        if self.table is not None and (unknown := [c for c in dict.fromkeys(tokens) if c not in self.table]):
            names = ", ".join(f"{c!r} ({unicodedata.name(c, f'U+{ord(c):04X}')})" for c in unknown)
            raise PhonemizationError(
                f"the {self.name} front end gives {tokens!r}, whose {names} its own symbol table lacks: "
                "that Matcha cannot read this text either; reword it or add the symbol to its table",
                TABLE_LACKS,
            )
        return tokens

    def tokens_batch(self, texts: list[str], languages: list[str]) -> list[str | PhonemizationError]:
        """``tokens`` of every text in order, a ``PhonemizationError`` in the place of one that fails."""
        result: list[str | PhonemizationError] = []
        for text, language in zip(texts, languages, strict=True):
            try:
                result.append(self.tokens(text, language))
            except PhonemizationError as error:
                result.append(error)
        return result


def cut_short(tokens: str, text: str, language: str) -> str | None:
    """Why ``tokens`` miss part of ``text``, or None: espeak-ng reads the text as several sentences (a number
    with punctuation inside, "3.5 kg.") and the tokens hold fewer than ``KEPT_SHARE`` of their phones, as when a
    front end keeps only the first of phonemizer's pieces; the audio then speaks words no token stands for.
    None too for a language espeak does not know (nothing to compare with)."""
    try:
        pieces = sentence_pieces(text, language)
    except (UnknownLanguageError, RuntimeError):
        return None
    if len(pieces) < 2:
        return None
    spoken = sum(is_phone_symbol(c) for piece in pieces for c in piece)
    if sum(is_phone_symbol(c) for c in tokens) >= KEPT_SHARE * spoken:
        return None
    hint = "write the numbers as words" if any(c.isdigit() for c in text) else "split or reword the sentence"
    return (
        f"espeak-ng reads the text as {len(pieces)} sentences ({' | '.join(pieces)}) and these tokens keep only "
        f"part of them: the audio would speak words no token stands for; {hint}"
    )


def builtin_frontend() -> TextFrontend:
    """The built-in front end (``aligner.text.to_phonemes``)."""
    return TextFrontend(BUILTIN, builtin_to_phonemes)


def custom_frontend(spec: str) -> TextFrontend:
    """The front end ``module:function`` names; ``FrontendError`` when it cannot be imported."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise FrontendError(f"--text-frontend {spec!r}: expected module:function, e.g. mytts.text:to_phonemes")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise FrontendError(f"--text-frontend {spec!r}: cannot import it ({error})") from error
    return TextFrontend(spec, function, source=Path(inspect.getfile(function)).parent)


def installed_matcha_frontend() -> TextFrontend | None:
    """The front end of the ``matcha.text`` Python imports here (a fork's or upstream's), None without one."""
    try:
        text = importlib.import_module("matcha.text")
    except ImportError:
        return None
    symbols = getattr(text, "symbols", None)
    if symbols is None:
        symbols = getattr(importlib.import_module("matcha.text.symbols"), "symbols", None)
    table = {s: i for i, s in enumerate(symbols)} if symbols is not None else None
    origin = getattr(text, "__file__", None) or "matcha.text"
    source = Path(origin).parent if origin != "matcha.text" else None
    if hasattr(text, "to_phonemes"):
        to_ids = getattr(text, "to_phoneme_ids", None)

        def fork_tokens(sentence: str, language: str) -> str:
            phonemes = text.to_phonemes(sentence, language)
            if to_ids is None or symbols is None:
                return phonemes
            try:  # its ids, back to symbols: exactly its tokens
                tokens = [symbols[i] for i in to_ids(phonemes)]
            except KeyError as error:
                raise PhonemizationError(
                    f"the Matcha front end ({origin}) gives {phonemes!r}, whose {error} its own symbol table "
                    "lacks: that Matcha cannot read this text either",
                    TABLE_LACKS,
                ) from None
            if longer := [token for token in tokens if len(token) != 1]:
                raise PhonemizationError(
                    f"the Matcha front end ({origin}) gives tokens of several characters ({longer[:3]}); the "
                    "aligner maps one character per token"
                )
            return "".join(tokens)

        return TextFrontend(f"matcha.text.to_phonemes ({origin})", fork_tokens, table, source)
    if hasattr(text, "text_to_sequence"):

        def upstream_tokens(sentence: str, language: str) -> str:
            return text.text_to_sequence(sentence, UPSTREAM_CLEANERS)[1]

        return TextFrontend(
            f"matcha.text.text_to_sequence english_cleaners2 ({origin})", upstream_tokens, table, source
        )
    return None


def resolve_frontend(spec: str | None = None) -> TextFrontend:
    """The front end to use: ``spec`` = ``module:function``, ``builtin``, or None for the installed
    Matcha's when there is one (module doc), else the built-in one."""
    if spec == BUILTIN:
        return builtin_frontend()
    if spec:
        return custom_frontend(spec)
    return installed_matcha_frontend() or builtin_frontend()
