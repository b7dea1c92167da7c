"""Rules by which tokens meet reference phones, and the grid conversion."""

import numpy as np
import pytest

from aligner.durations import symbol_times
from aligner.evaluate.phone_match import PhoneMismatch, is_phone_symbol, match_phones
from aligner.search.timing import durations_from_intervals


def phone(label, start, end):
    return {"label": label, "start": start, "end": end}


def test_phone_characters_group_onto_reference_phones_and_pauses_are_skipped():
    ipa = "ðə bˈeɪ."
    phones = [phone("", 0, 0.1), phone("ð", 0.1, 0.2), phone("ə", 0.2, 0.3), phone("b", 0.3, 0.4),
              phone("ˈeɪ", 0.4, 0.6), phone("", 0.6, 0.8)]  # fmt: skip
    spans = match_phones(ipa, phones)
    assert [(s.label, s.first_char, s.last_char) for s in spans] == [
        ("ð", 0, 0), ("ə", 1, 1), ("b", 3, 3), ("ˈeɪ", 4, 6)
    ]  # fmt: skip
    assert not is_phone_symbol(" ") and not is_phone_symbol(".") and is_phone_symbol("ˈ") and is_phone_symbol("ː")


def test_zero_length_phone_merges_with_the_next_and_mismatch_is_an_error():
    spans = match_phones("ɛlz", [phone("ɛ", 0.0, 0.1), phone("l", 0.1, 0.1), phone("z", 0.1, 0.2)])
    assert [(s.label, s.start, s.end) for s in spans] == [("ɛ", 0.0, 0.1), ("lz", 0.1, 0.2)]
    with pytest.raises(PhoneMismatch):
        match_phones("ɛlz", [phone("ɛ", 0, 0.1), phone("z", 0.1, 0.2)])
    with pytest.raises(PhoneMismatch):
        match_phones("ɛlz", [phone("ɛ", 0, 0.1), phone("l", 0.1, 0.15)])


def test_symbol_times_split_blanks_evenly_and_leave_edge_blanks_to_silence():
    # blank, a, blank, b, blank with 3, 2, 2, 2, 4 frames of 1 s
    starts, ends = symbol_times(np.array([3, 2, 2, 2, 4]), 2, 1.0)
    assert starts.tolist() == [3.0, 6.0] and ends.tolist() == [6.0, 9.0]
    starts, ends = symbol_times(np.array([2, 3]), 2, 0.5)  # no blanks
    assert starts.tolist() == [0.0, 1.0] and ends.tolist() == [1.0, 2.5]
    with pytest.raises(ValueError, match="4 durations for 2 symbols"):
        symbol_times(np.array([1, 1, 1, 1]), 2, 1.0)


def test_durations_from_intervals_round_to_nearest_frame_and_keep_every_token():
    durations = durations_from_intervals(np.array([0.0, 0.26, 0.5]), np.array([0.26, 0.5, 1.0]), 10, 0.1)
    assert durations.tolist() == [3, 2, 5]
    squeezed = durations_from_intervals(np.array([0.0, 0.5, 0.5, 0.5]), np.array([0.5, 0.5, 0.5, 1.0]), 10, 0.1)
    assert squeezed.min() >= 1 and squeezed.sum() == 10
