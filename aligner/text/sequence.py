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


def check_token_ids(token_ids: list[int], n_rows: int, model: str) -> None:
    """``UnknownSymbolError`` naming the first token that ``model`` (a CTC head, an ASRCNN checkpoint), whose
    rows are the first ``n_rows`` symbols of ``aligner.text.symbols``, has no row for."""
    bad = next((i for i in token_ids if not 0 <= i < n_rows), None)
    if bad is not None:
        name = f"{symbols[bad]!r} (U+{ord(symbols[bad][0]):04X})" if 0 <= bad < len(symbols) else f"id {bad}"
        raise UnknownSymbolError(
            f"symbol {name} has no row in {model}, which knows the first {n_rows} symbols of aligner.text.symbols: "
            "train it on a corpus whose texts use the symbol (docs/training.md)"
        )


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
