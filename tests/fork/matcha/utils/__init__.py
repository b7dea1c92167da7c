"""Small helpers of the fork."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def intersperse(lst: list[T], item: T) -> list[T]:
    """``[item, x0, item, x1, ..., item]``: length ``2 * len(lst) + 1``."""
    result = [item] * (len(lst) * 2 + 1)
    result[1::2] = lst
    return result
