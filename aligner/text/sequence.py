"""IPA string <-> symbol ids, and Matcha's ``add_blank`` interspersing."""

from __future__ import annotations

from aligner.text.symbols import BLANK_ID, symbol_to_id, symbols


class UnknownSymbolError(ValueError):
    """A character of an IPA string is not in ``aligner.text.symbols``."""


def phonemes_to_ids(ipa: str, text: str | None = None) -> list[int]:
    """Map each character of ``ipa`` to its id; ``text`` (the source text) only enriches errors."""
    try:
        return [symbol_to_id[c] for c in ipa]
    except KeyError:
        pos = next(i for i, c in enumerate(ipa) if c not in symbol_to_id)
        sym = ipa[pos]
        source = f" (text: {text!r})" if text is not None else ""
        raise UnknownSymbolError(
            f"unknown symbol {sym!r} (U+{ord(sym):04X}) at position {pos} of phonemes {ipa!r}{source}"
        ) from None


def intersperse(seq: list[int], item: int = BLANK_ID) -> list[int]:
    """``[item, s0, item, s1, ..., item]`` (length 2L+1), as Matcha's ``add_blank``."""
    out = [item] * (2 * len(seq) + 1)
    out[1::2] = seq
    return out


def sequence_to_text(ids: list[int]) -> str:
    """Ids back to the symbol string, skipping blanks (id 0)."""
    try:
        return "".join(symbols[i] for i in ids if i != BLANK_ID)
    except IndexError:
        bad = next(i for i in ids if not 0 <= i < len(symbols))
        raise ValueError(f"symbol id {bad} out of range [0, {len(symbols)})") from None
