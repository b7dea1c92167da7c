"""Which words of an utterance's text each word of its tokens comes from, so a check can name the text's words.

A word of the tokens is a run of phone tokens between spaces and punctuation (``token_words``). Most texts give
one per word of the text, but a number ("1990") may give several, a dash none, and espeak-ng joins a clitic to
its neighbour ("of the" -> ``ʌvðə``), so counting is not enough: each text word is read through the same front
end on its own (the built-in one takes some 0.04 ms a word) and its phones are matched with the utterance's
(difflib's longest matching blocks, since a word read alone may differ a little from the word in its
sentence): a token word comes from the text words its matched phones came from.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from aligner.text import PhonemizationError, is_phone_symbol
from aligner.text.frontend import TextFrontend

PUNCTUATION = ".,;:!?\"'()[]«»“”‘’…"


def token_word_positions(tokens: str) -> list[list[int]]:
    """The character positions of each run of phone symbols in a token string (one token per character)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for position, symbol in enumerate(tokens):
        if is_phone_symbol(symbol):
            current.append(position)
        elif current:
            runs.append(current)
            current = []
    return runs + [current] if current else runs


def token_words(tokens: str) -> list[str]:
    """The runs of phone symbols in a token string (one token per character), in order."""
    return ["".join(tokens[k] for k in run) for run in token_word_positions(tokens)]


def text_words(text: str) -> list[str]:
    """The words of a text as written: split at whitespace, punctuation around each word left out (a word of
    punctuation alone, a dash, kept as it is)."""
    return [word.strip(PUNCTUATION) or word for word in text.split()]


def _phones_alone(word: str, frontend: TextFrontend, language: str) -> str:
    try:
        return "".join(filter(is_phone_symbol, frontend.tokens(word, language)))
    except PhonemizationError:
        return ""


def word_sources(text: str, tokens: str, frontend: TextFrontend, language: str) -> list[tuple[int, int]]:
    """For each of ``token_words(tokens)``, the first and last index of the words of ``text_words(text)`` it
    comes from (module doc); ``tokens``: ``frontend``'s tokens of ``text`` in ``language``. A token word none
    of whose phones match gets its neighbours' words (the one before it, else the one after)."""
    runs, written = token_words(tokens), text.split()
    said = "".join(runs)
    run_of = [k for k, run in enumerate(runs) for _ in run]
    alone = [_phones_alone(word, frontend, language) for word in written]
    owner = [k for k, phones in enumerate(alone) for _ in phones]
    matcher = SequenceMatcher(None, "".join(alone), said, autojunk=False)
    found: list[set[int]] = [set() for _ in runs]
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            found[run_of[block.b + offset]].add(owner[block.a + offset])
    sources: list[tuple[int, int] | None] = [(min(f), max(f)) if f else None for f in found]
    for k in range(len(sources)):  # unmatched: the word before
        if sources[k] is None and k > 0 and sources[k - 1] is not None:
            sources[k] = (sources[k - 1][1], sources[k - 1][1])
    following = (0, 0)
    for k in reversed(range(len(sources))):  # ... or, at the start, the one after
        sources[k] = sources[k] or following
        following = (sources[k][0], sources[k][0])
    return sources


def words_of(text: str, tokens: str, frontend: TextFrontend, language: str, index: int) -> str:
    """The text's words (``text_words``, space-joined) that token word ``index`` comes from; "" for index -1
    (before the first word)."""
    if index < 0:
        return ""
    first, last = word_sources(text, tokens, frontend, language)[index]
    return " ".join(text_words(text)[first : last + 1])
