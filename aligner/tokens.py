"""Corpus -> tokens: the one step every tool takes from an utterance's text to its Matcha tokens.

Extraction, the acoustic fit, CTC training, the ASRCNN baseline, evaluation, the corpus report and the review
page all read an utterance's tokens here, so they agree on them and on why an utterance has none:

1. its language must be one espeak-ng reads, for the built-in front end (``UNKNOWN_LANGUAGE``; a Matcha's own
   front end decides for itself);
2. the front end (``aligner.text.frontend``: the installed Matcha's by default) gives its token string, one
   token per character, or a ``PhonemizationError`` whose ``cause`` names why not;
3. every token must be a symbol of ``aligner.text.symbols`` (``UNKNOWN_SYMBOL``) and one at least a phone
   (``NO_PHONEMES``: a text of punctuation alone).

The ids carry no interspersed blanks: each tool adds them as its model or Matcha wants (``intersperse``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aligner.corpus import Utterance
from aligner.text import PhonemizationError, UnknownSymbolError, is_phone_symbol, phonemes_to_ids
from aligner.text.frontend import BUILTIN, TextFrontend
from aligner.text.phonemize import unknown_languages

UNKNOWN_LANGUAGE = "unknown language"
UNKNOWN_SYMBOL = "symbol the aligner lacks"
NO_PHONEMES = "text without phonemes"


@dataclass(frozen=True)
class Tokens:
    """An utterance's tokens: ``ipa``, the front end's string (one token per character), and ``ids``, their
    symbol ids (no interspersed blanks)."""

    utterance: Utterance
    ipa: str
    ids: list[int]


class TokenError(ValueError):
    """Why an utterance has no tokens: the message says it and what to change, ``cause`` names it in a few
    words (alignment_summary.csv's cause column), ``utterance`` is the one it is about."""

    def __init__(self, utterance: Utterance, message: str, cause: str) -> None:
        super().__init__(message)
        self.utterance = utterance
        self.cause = cause


def language_errors(utterances: list[Utterance], frontend: TextFrontend) -> dict[str, TokenError]:
    """The utterances (by rel_path) whose language the built-in front end cannot read, each with its
    ``UNKNOWN_LANGUAGE`` error; none for another front end, which reads languages its own way."""
    if frontend.name != BUILTIN:
        return {}
    unknown = unknown_languages(u.language for u in utterances)
    return {
        u.rel_path: TokenError(u, unknown[u.language], UNKNOWN_LANGUAGE) for u in utterances if u.language in unknown
    }


def tokenise(utterances: list[Utterance], frontend: TextFrontend) -> list[Tokens | TokenError]:
    """The tokens of every utterance in order (module doc), a ``TokenError`` in the place of one that has
    none. An unknown symbol's message says where to add it."""
    failed = language_errors(utterances, frontend)
    known = [u for u in utterances if u.rel_path not in failed]
    ipas = frontend.tokens_batch([u.text for u in known], [u.language for u in known])
    by_path = dict(zip((u.rel_path for u in known), ipas, strict=True))
    return [failed.get(u.rel_path) or _tokens(u, by_path[u.rel_path]) for u in utterances]


def _tokens(utterance: Utterance, ipa: str | PhonemizationError) -> Tokens | TokenError:
    if isinstance(ipa, PhonemizationError):
        return TokenError(utterance, f"text {utterance.text!r}: {ipa}", ipa.cause)
    try:
        ids = phonemes_to_ids(ipa, utterance.text)
    except UnknownSymbolError as error:
        return TokenError(utterance, f"{error}; add it to aligner/text/symbols.py and retrain", UNKNOWN_SYMBOL)
    if not any(is_phone_symbol(symbol) for symbol in ipa):
        return TokenError(utterance, f"text {utterance.text!r} gives no phonemes (tokens {ipa!r})", NO_PHONEMES)
    return Tokens(utterance, ipa, ids)
