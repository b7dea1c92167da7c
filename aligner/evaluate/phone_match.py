"""How Matcha tokens meet the reference phones of a corpus: the rules of the scorer.

**Token times.** Entry k of a duration vector gives token k the mel frames [c(k-1), c(k)) where c is
the running sum; a frame is ``hop / sample_rate`` seconds (256 / 24000 = 10.67 ms), frame f covering
samples [f * hop, (f + 1) * hop).

**Blanks.** With ``add_blank`` (2L+1 entries) the interspersed blanks are not phones: the frames of
a blank between two symbols are split evenly between them, so its middle is their boundary (as
Matcha's own phoneme-duration export shares a blank between its neighbours). The leading blank
belongs to the silence before the first symbol and the trailing blank to the silence after the last.

**Symbols onto phones.** The characters of the IPA string that are phones (``is_phone_symbol``: not
space, not punctuation, so stress and length marks are phone characters) are grouped, in order, onto
the reference phones: a reference phone labelled ``ˈaʊ`` takes the next three phone characters.
Space and punctuation tokens are the pauses: they sit between phones, and whatever time they hold
lies between the offset of one phone and the onset of the next; reference silences (label ``""``)
are therefore matched to them implicitly, never to a phone.

**Zero-length reference phones** (espeak sometimes starts two phones at the same sample) are merged
with the phone that follows (the one before, at the end), so no boundary is scored at a phone that
has no extent.

**Disagreement.** An utterance whose phone characters differ from the concatenated reference labels
raises ``PhoneMismatch``; the scorer reports it and leaves it out.

**Boundaries scored.** The onset and the offset of every (merged) reference phone, as in MFA's
per-phone score, so a boundary between two adjacent phones counts once as an offset and once as an
onset.
"""

from __future__ import annotations

from dataclasses import dataclass

from aligner.text import is_phone_symbol


class PhoneMismatch(ValueError):
    """The token string does not spell the reference phones."""


@dataclass(frozen=True)
class PhoneSpan:
    """A reference phone and the IPA characters (first..last inclusive) that spell it."""

    label: str
    start: float
    end: float
    first_char: int
    last_char: int


def _merge_zero_length(phones: list[dict]) -> list[dict]:
    spoken = [dict(p) for p in phones if "".join(filter(is_phone_symbol, p["label"]))]
    merged: list[dict] = []
    carry: dict | None = None
    for phone in spoken:
        if carry is not None:
            phone = {"label": carry["label"] + phone["label"], "start": carry["start"], "end": phone["end"]}
            carry = None
        if phone["end"] <= phone["start"]:
            carry = phone
            continue
        merged.append(phone)
    if carry is not None:
        if not merged:
            return [carry]
        last = merged[-1]
        merged[-1] = {
            "label": last["label"] + carry["label"],
            "start": last["start"],
            "end": max(last["end"], carry["end"]),
        }
    return merged


def match_phones(ipa: str, phones: list[dict]) -> list[PhoneSpan]:
    """Group the phone characters of ``ipa`` onto reference ``phones`` ({label, start, end} dicts)."""
    positions = [i for i, c in enumerate(ipa) if is_phone_symbol(c)]
    spans: list[PhoneSpan] = []
    cursor = 0
    for phone in _merge_zero_length(phones):
        label = "".join(filter(is_phone_symbol, phone["label"]))
        spelled = "".join(ipa[i] for i in positions[cursor : cursor + len(label)])
        if spelled != label:
            raise PhoneMismatch(f"reference phone {label!r} meets {spelled!r} at phone character {cursor} of {ipa!r}")
        spans.append(
            PhoneSpan(label, phone["start"], phone["end"], positions[cursor], positions[cursor + len(label) - 1])
        )
        cursor += len(label)
    if cursor != len(positions):
        raise PhoneMismatch(f"{ipa!r} has {len(positions) - cursor} phone characters the reference does not speak")
    return spans
