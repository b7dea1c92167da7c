"""Annotation marks hold the minimum: stress, length and tie marks get one frame, their phone the rest.

espeak-ng writes a stress mark before the vowel it stresses (``pɹˈɛs``) and a length mark after the vowel
it lengthens (``ɡˈɑːɹd``); Matcha makes each a token of its own, which needs at least one frame. The marks
are not sounds: frames on them are "unfounded" (as the owner of a Matcha fork puts it) and take time from
the phone they mark. So, by default, a mark and the blanks between it and its phone form one group with
that phone: every row of the group is scored as the phone (the acoustic and CTC scores of the phone's row),
MAS places the group as a whole, and the group's frames are then dealt so that each mark and each blank
inside the group holds one frame and the phone all the others (``settle``). The group keeps its place
in time: a stress mark holds the first frame of its vowel, a length mark the last.

``scored`` (``--annotation-marks scored``) keeps the earlier behaviour: marks are scored as their own
symbols and MAS gives them what it finds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aligner.text import BLANK_ID, is_phone_symbol, symbols

MARKS_BEFORE = "ˈˌ"  # stress marks: they mark the phone that follows
MARKS_AFTER = "ːˑ\u0361"  # length marks and the tie bar: they mark the phone before
MODES = ("one-frame", "scored")


@dataclass(frozen=True)
class MarkGroup:
    """Tokens ``first..last`` (inclusive) that are one phone (token ``phone``) and its marks."""

    first: int
    last: int
    phone: int


def is_mark_symbol(symbol: str) -> bool:
    """Whether an IPA character is an annotation mark (stress, length, tie)."""
    return symbol in MARKS_BEFORE + MARKS_AFTER


def is_mark(token_id: int) -> bool:
    """Whether a token is an annotation mark (stress, length, tie)."""
    return token_id != BLANK_ID and is_mark_symbol(symbols[token_id])


def _marked_phone(token_ids: list[int], k: int) -> int | None:
    """The token the mark at ``k`` marks: the next (stress) or previous (length, tie) phone token,
    skipping blanks and other marks; None when a pause or the end comes first."""
    step = 1 if symbols[token_ids[k]] in MARKS_BEFORE else -1
    j = k + step
    while 0 <= j < len(token_ids):
        token = token_ids[j]
        if token != BLANK_ID and not is_mark(token):
            return j if is_phone_symbol(symbols[token]) else None
        j += step
    return None


def mark_groups(token_ids: list[int]) -> list[MarkGroup]:
    """The groups of ``token_ids`` (Matcha tokens, blanks included): one per phone that carries marks,
    spanning the phone, its marks and the blanks between them. Marks with no phone to mark are left alone."""
    spans: dict[int, list[int]] = {}
    for k, token in enumerate(token_ids):
        if is_mark(token) and (phone := _marked_phone(token_ids, k)) is not None:
            spans.setdefault(phone, [phone, phone])
            spans[phone][0] = min(spans[phone][0], k)
            spans[phone][1] = max(spans[phone][1], k)
    return [MarkGroup(first, last, phone) for phone, (first, last) in sorted(spans.items())]


def share_rows(scores: torch.Tensor, groups: list[MarkGroup], row_token: torch.Tensor | None = None) -> torch.Tensor:
    """Scores [rows, frames] in which every row of a group is scored as its phone (a copy; input unchanged).
    ``row_token`` [rows]: the token of each row when a phone has several (``aligner.search.states``; default:
    one row per token); a mark or blank before the phone takes the phone's first row, one after it the last."""
    if not groups:
        return scores
    tokens = (torch.arange(scores.shape[0]) if row_token is None else row_token).tolist()
    first_row: dict[int, int] = {}
    last_row: dict[int, int] = {}
    for row, token in enumerate(tokens):
        first_row.setdefault(token, row)
        last_row[token] = row
    scores = scores.clone()
    for group in groups:
        for token in range(group.first, group.last + 1):
            if token != group.phone:
                source = first_row[group.phone] if token < group.phone else last_row[group.phone]
                scores[first_row[token]] = scores[source]
    return scores


def settle(durations: torch.Tensor, groups: list[MarkGroup]) -> torch.Tensor:
    """Durations [tokens] in which each group's marks and inner blanks hold one frame and its phone the rest
    of the group's frames (the group's total and place unchanged; a copy)."""
    durations = durations.clone()
    for group in groups:
        total = int(durations[group.first : group.last + 1].sum())
        durations[group.first : group.last + 1] = 1
        durations[group.phone] = total - (group.last - group.first)
    return durations


def annotation_groups(token_ids: list[list[int]], marks: str) -> list[list[MarkGroup]] | None:
    """The mark groups of every utterance under ``marks`` (``aligner.search.marks.MODES``), None for ``scored``."""
    if marks not in MODES:
        raise ValueError(f"marks must be one of {MODES}, got {marks!r}")
    return [mark_groups(ids) for ids in token_ids] if marks == "one-frame" else None
