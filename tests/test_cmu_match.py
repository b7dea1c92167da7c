"""Phones of an ARPAbet truth (flite's) matched to the espeak-ng tokens inside words, and scored there."""

import numpy as np
import pytest

from aligner.durations import symbol_times
from aligner.evaluate.cmu_match import is_cmu, matched_phones, phone_class, token_phones
from aligner.evaluate.score import span_errors_ms
from aligner.text.frontend import TextFrontend

READINGS = {"the": "ðə", "waiter.": "wˈeɪɾɚ."}
FRONTEND = TextFrontend("test", lambda text, language: " ".join(READINGS[w] for w in text.split()))
IPA = "ðə wˈeɪɾɚ."


def test_a_token_word_is_cut_into_phones_with_stress_before_and_length_after():
    assert token_phones(IPA, [3, 4, 5, 6, 7, 8]) == [("w", 3, 3), ("ˈeɪ", 4, 6), ("ɾ", 7, 7), ("ɚ", 8, 8)]
    assert token_phones("bɹˈɔːt", [0, 1, 2, 3, 4, 5]) == [("b", 0, 0), ("ɹ", 1, 1), ("ˈɔː", 2, 4), ("t", 5, 5)]
    assert token_phones("tʃˈɜːtʃ", list(range(7))) == [("tʃ", 0, 1), ("ˈɜː", 2, 4), ("tʃ", 5, 6)]


def test_classes_absorb_what_the_engines_write_differently():
    assert phone_class("ɾ") == phone_class("t") == phone_class("d")
    assert phone_class("ˈɜː") == phone_class("ɚ") and phone_class("ɐ") == phone_class("ʌ") == phone_class("ə")
    assert phone_class("s") != phone_class("z")


def test_only_an_arpabet_truth_is_matched():
    assert is_cmu([{"label": ""}, {"label": "dh"}, {"label": "AX0"}])
    assert not is_cmu([{"label": "ð"}, {"label": "ə"}]) and not is_cmu([{"label": ""}])


def test_matched_phones_are_scored_inside_their_words_only():
    durations = np.ones(2 * len(IPA) + 1, dtype=np.int64)  # 10 ms per symbol and per blank
    starts, ends = symbol_times(durations, len(IPA), 0.01)
    late = 0.004
    phones = [
        {"label": "", "start": 0.0, "end": starts[0]},
        {"label": "dh", "start": starts[0], "end": ends[0]},
        {"label": "iy", "start": starts[1], "end": ends[1]},  # the tokens say ə: not matched
        {"label": "w", "start": starts[3], "end": ends[3]},
        {"label": "ey", "start": starts[4], "end": ends[6] + late},
        {"label": "t", "start": starts[7] + late, "end": ends[7]},  # the tokens' flap
        {"label": "er", "start": starts[8], "end": ends[8]},
    ]
    words = [
        {"label": "the", "start": starts[0], "end": ends[1]},
        {"label": "waiter", "start": starts[3], "end": ends[8]},
    ]
    matched = matched_phones("the waiter.", IPA, words, phones, FRONTEND, "en")
    assert [(span.label, span.first_char, span.last_char) for span, _, _ in matched] == [
        ("dh", 0, 0), ("w", 3, 3), ("ey", 4, 6), ("t", 7, 7), ("er", 8, 8)
    ]  # fmt: skip
    edges = [(onset, offset) for _, onset, offset in matched]
    assert edges == [(False, True), (False, True), (True, True), (True, True), (True, False)]
    errors = span_errors_ms(IPA, durations, [span for span, _, _ in matched], 0.01, edges)
    assert errors.tolist() == pytest.approx([0, 0, 0, -4, -4, 0, 0])
