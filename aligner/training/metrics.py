"""Greedy CTC decoding and phone error rate."""

from __future__ import annotations

import torch

from aligner.text import BLANK_ID


def greedy_decode(logits: torch.Tensor, lengths: torch.Tensor, blank: int = BLANK_ID) -> list[list[int]]:
    """Best path of each utterance of a batch [B, T, V]: argmax, repeats merged, blanks removed."""
    best = logits.argmax(dim=-1).cpu()
    decoded = []
    for path, length in zip(best, lengths.tolist(), strict=True):
        path = torch.unique_consecutive(path[:length])
        decoded.append(path[path != blank].tolist())
    return decoded


def edit_distance(hypothesis: list[int], reference: list[int]) -> int:
    """Levenshtein distance (substitutions, insertions and deletions all cost 1)."""
    previous = list(range(len(reference) + 1))
    for i, h in enumerate(hypothesis, start=1):
        current = [i]
        for j, r in enumerate(reference, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (h != r)))
        previous = current
    return previous[-1]


def phone_error_rate(hypotheses: list[list[int]], references: list[list[int]]) -> float:
    """Total edit distance over total reference length."""
    errors = sum(edit_distance(h, r) for h, r in zip(hypotheses, references, strict=True))
    return errors / max(sum(len(r) for r in references), 1)
