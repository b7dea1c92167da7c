"""Text front end: espeak-ng phonemes, the Matcha-compatible symbol table and id sequences."""

from __future__ import annotations

from aligner.text.phonemize import (
    LANGUAGE_ALIASES,
    PhonemizationError,
    get_backend,
    resolve_language,
    supported_languages,
    to_phonemes,
    to_phonemes_batch,
    to_phonemes_multilingual,
)
from aligner.text.sequence import (
    UnknownSymbolError,
    check_token_ids,
    intersperse,
    phonemes_to_ids,
    sequence_to_text,
)
from aligner.text.symbols import (
    BLANK_ID,
    N_UPSTREAM_SYMBOLS,
    NON_PHONE_IDS,
    SPACE_ID,
    is_phone_symbol,
    symbol_to_id,
    symbols,
)


def text_to_sequence(text: str, language: str, add_blank: bool = True) -> tuple[list[int], str]:
    """Phonemise ``text`` and map it to ids (blank-interspersed if ``add_blank``); returns (ids, ipa)."""
    ipa = to_phonemes(text, language)
    ids = phonemes_to_ids(ipa, text)
    return (intersperse(ids, BLANK_ID) if add_blank else ids), ipa


__all__ = [
    "BLANK_ID",
    "LANGUAGE_ALIASES",
    "NON_PHONE_IDS",
    "PhonemizationError",
    "N_UPSTREAM_SYMBOLS",
    "SPACE_ID",
    "UnknownSymbolError",
    "check_token_ids",
    "get_backend",
    "intersperse",
    "is_phone_symbol",
    "phonemes_to_ids",
    "resolve_language",
    "sequence_to_text",
    "supported_languages",
    "symbol_to_id",
    "symbols",
    "text_to_sequence",
    "to_phonemes",
    "to_phonemes_batch",
    "to_phonemes_multilingual",
]
