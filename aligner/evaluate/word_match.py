"""How Matcha tokens meet the reference words of a corpus whose phones are not the tokens' (flite's CMU phones).

A word of the tokens (a run of phone characters, ``aligner.words.token_words``) starts where its first phone
character starts and ends where its last one ends (``aligner.durations.symbol_times``: a blank between two
symbols split evenly). ``aligner.words.word_sources`` tells which words of the text each came from; token words
and text words that overlap there make one unit (a number read as two token words; "of the", which espeak-ng
joins into one), scored at its onset and offset against the reference words it spans, as phones are.

Where the truth has no silence between two words (flite's words abut), the tokens between them (a space, its
blanks) cannot hold nothing: each holds a frame at least. There the boundary of both words is the middle of
what lies between their phones, as a blank between two phones is split between them.
"""

from __future__ import annotations

import numpy as np

from aligner.durations import symbol_times
from aligner.evaluate.phone_match import PhoneMismatch
from aligner.text.frontend import TextFrontend
from aligner.words import text_words, token_word_positions, word_sources


def word_units(sources: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Token words and text words grouped where they overlap: (first token word, last, first text word, last),
    from ``word_sources``'s (first, last) text words of each token word, in order."""
    units: list[list[int]] = []
    for k, (first, last) in enumerate(sources):
        if units and first <= units[-1][3]:
            units[-1][1], units[-1][3] = k, max(units[-1][3], last)
        else:
            units.append([k, k, first, last])
    return [(a, b, c, d) for a, b, c, d in units]


def word_boundary_errors_ms(
    text: str, ipa: str, durations: np.ndarray, words: list[dict], seconds: float, frontend: TextFrontend, language: str
) -> np.ndarray:
    """Signed error (ms, positive = late) of every word unit's onset and offset (module doc). ``words``: the
    reference words ({label, start, end}), one per word of ``text_words(text)``, else ``PhoneMismatch``."""
    written = text_words(text)
    if [w["label"] for w in words] != written:
        raise PhoneMismatch(f"reference words {[w['label'] for w in words]} are not the text's {written}")
    starts, ends = symbol_times(durations, len(ipa), seconds)
    runs = token_word_positions(ipa)
    predicted, truth = [], []
    for first_run, last_run, first_word, last_word in word_units(word_sources(text, ipa, frontend, language)):
        predicted.append([starts[runs[first_run][0]], ends[runs[last_run][-1]]])
        truth.append((words[first_word]["start"], words[last_word]["end"]))
    for k in range(1, len(truth)):
        if truth[k - 1][1] == truth[k][0]:  # abutting words: the middle of the tokens between them
            middle = (predicted[k - 1][1] + predicted[k][0]) / 2
            predicted[k - 1][1] = predicted[k][0] = middle
    return (np.array(predicted) - np.array(truth)).ravel() * 1000.0
