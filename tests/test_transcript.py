"""The transcript check (aligner.search.transcript) on posteriors that say a known text, and the naming of
the text's words (aligner.words)."""

import math
from pathlib import Path

import pytest
import torch

from aligner.extract.methods import align
from aligner.extract.plan import Job
from aligner.extract.run import summary_row
from aligner.search.mas import Alignment
from aligner.search.scores import CTC_FRAME_SECONDS
from aligner.search.transcript import SUSPECT_THRESHOLD, TranscriptCheck, check_transcript, phone_words
from aligner.text import BLANK_ID, SPACE_ID, intersperse, phonemes_to_ids, symbol_to_id, symbols
from aligner.text.frontend import TextFrontend, builtin_frontend
from aligner.words import text_words, token_words, word_sources, words_of

OFFSET = 0.0125
BUILTIN = builtin_frontend()


def spoken(heard: str, confidence: float = 10.0) -> torch.Tensor:
    """CTC log-posteriors [frames, symbols] of audio in which each character of ``heard`` is one frame's
    clear spike between two blank frames (a space: three blank frames, a pause)."""
    frames = [BLANK_ID, BLANK_ID]
    for symbol in heard:
        frames += [BLANK_ID] * 3 if symbol == " " else [symbol_to_id[symbol], BLANK_ID, BLANK_ID]
    logits = torch.zeros(len(frames), len(symbols))
    logits[torch.arange(len(frames)), torch.tensor(frames)] = confidence
    return logits.log_softmax(-1)


def test_phone_words_are_runs_of_phones_between_spaces_and_punctuation():
    ids = intersperse(phonemes_to_ids("ab, cd e", "ab, cd e"), BLANK_ID)
    words = phone_words(ids)
    assert [[symbols[ids[k]] for k in word] for word in words] == [["a", "b"], ["c", "d"], ["e"]]
    assert SPACE_ID not in [ids[k] for word in words for k in word]


def test_a_text_the_audio_says_costs_nothing():
    check = check_transcript(spoken("bat kid mon"), phonemes_to_ids("bat kid mon", ""), True, OFFSET, 2.0)
    assert check.score == pytest.approx(0.0, abs=1e-4)
    assert check.score < SUSPECT_THRESHOLD


def test_a_replaced_word_is_the_suspect_and_its_time_is_where_it_was_said():
    log_probs = spoken("bat kid mon")
    check = check_transcript(log_probs, phonemes_to_ids("bat fez mon", ""), True, OFFSET, 2.0)
    assert (check.word, check.gap) == (1, False)
    assert check.score > SUSPECT_THRESHOLD
    # "kid" is said in frames 14..22 (2 leading blanks, 3 per letter of "bat", 3 for the space)
    assert check.start <= OFFSET + 14 * CTC_FRAME_SECONDS and check.end >= OFFSET + 20 * CTC_FRAME_SECONDS


def test_speech_the_text_lacks_is_a_gap_after_the_word_before_it():
    check = check_transcript(spoken("bat kid mon"), phonemes_to_ids("bat mon", ""), True, OFFSET, 2.0)
    assert (check.word, check.gap) == (0, True)
    assert check.score > SUSPECT_THRESHOLD


def test_speech_before_the_first_word_is_a_gap_before_it():
    check = check_transcript(spoken("kid bat mon"), phonemes_to_ids("bat mon", ""), True, OFFSET, 2.0)
    assert (check.word, check.gap) == (-1, True)


def test_a_text_longer_than_its_audio_can_hold_is_infinitely_suspect():
    check = check_transcript(spoken("ba"), phonemes_to_ids("bat kid mon fez", ""), True, OFFSET, 0.2)
    assert math.isinf(check.score) and (check.start, check.end) == (0.0, 0.2)


def test_a_one_word_text_and_a_head_with_pause_targets_are_checked():
    assert check_transcript(spoken("bat"), phonemes_to_ids("bat", ""), False, OFFSET, 1.0).score < 1e-3
    check = check_transcript(spoken("bat kid"), phonemes_to_ids("bat, fez.", ""), False, OFFSET, 1.0)
    assert (check.word, check.gap) == (1, False)


READINGS = {"in": "ɪn", "1990": "naɪntiːn naɪnti", "it": "ɪt", "rained.": "ɹeɪnd.", "—": "", "of": "ʌv", "the": "ðə"}


def read(text: str, language: str) -> str:
    """A front end that knows the words of READINGS (its tokens of a text: theirs, space-joined; "of the"
    joined into one word, as espeak-ng does)."""
    return " ".join(filter(None, (READINGS[word] for word in text.split()))).replace("ʌv ðə", "ʌvðə")


FRONTEND = TextFrontend("test", read)


def test_token_words_and_text_words():
    assert token_words("ɪn naɪntiːn, naɪnti.") == ["ɪn", "naɪntiːn", "naɪnti"]
    assert text_words('"Well," she said — twice.') == ["Well", "she", "said", "—", "twice"]


def test_a_number_read_as_two_words_is_named_as_written():
    text = "in 1990 it rained."
    tokens = read(text, "en")
    assert word_sources(text, tokens, FRONTEND, "en") == [(0, 0), (1, 1), (1, 1), (2, 2), (3, 3)]
    assert words_of(text, tokens, FRONTEND, "en", 2) == "1990"
    assert words_of(text, tokens, FRONTEND, "en", 4) == "rained"
    assert words_of(text, tokens, FRONTEND, "en", -1) == ""


def test_words_joined_by_the_front_end_are_named_together():
    text = "in 1990 of the rained."
    tokens = read(text, "en")
    assert token_words(tokens)[3] == "ʌvðə"
    assert words_of(text, tokens, FRONTEND, "en", 3) == "of the"
    assert words_of(text, tokens, FRONTEND, "en", 4) == "rained"


def test_a_dash_gives_no_token_word():
    text = "in — it rained."
    assert word_sources(text, read(text, "en"), FRONTEND, "en") == [(0, 0), (2, 2), (3, 3)]


def test_a_token_word_matching_no_word_read_alone_gets_its_neighbours():
    def differently_alone(text: str, language: str) -> str:
        return "ab cd xy" if " " in text else {"one": "ab", "two": "", "three": "xy"}[text]

    frontend = TextFrontend("test", differently_alone)
    assert word_sources("one two three four", "ab cd xy", frontend, "en") == [(0, 0), (0, 0), (2, 2)]


@pytest.mark.parametrize("method", ["mel", "ctc", "forced_align"])
def test_every_method_checks_each_utterance_of_a_batch_on_its_own(method):
    heard = spoken("bat kid mon")
    texts = ["bat kid mon", "bat fez mon"]
    ids = [intersperse(phonemes_to_ids(text, text), BLANK_ID) for text in texts]
    n_mel = round(heard.shape[0] * CTC_FRAME_SECONDS / (256 / 24000))
    both = align([heard, heard], ids, [n_mel, n_mel], 256 / 24000, method)
    alone = align([heard], ids[1:], [n_mel], 256 / 24000, method)
    assert both[0].transcript.score < SUSPECT_THRESHOLD < both[1].transcript.score
    assert (both[1].transcript.word, both[1].transcript.gap) == (1, False)
    assert both[1].transcript == alone[0].transcript


def test_the_summary_names_the_suspect_as_the_text_writes_it():
    text = "Bat fez, mon."
    ipa = BUILTIN.tokens(text, "en-us")
    ids = phonemes_to_ids(ipa, text)
    job = Job("0/0001", text, "en-us", ipa, ids, 100, False, Path("0001.wav"), Path("0001.pt"))
    durations = torch.ones(len(ids), dtype=torch.long)
    alignment = Alignment(durations, -0.5, 0.0, TranscriptCheck(42.0, 1, False, 0.5, 0.9))
    row = summary_row(job, alignment, BUILTIN)
    assert (row["transcript_score"], row["suspect_word"], row["suspect_start"], row["suspect_end"]) == (
        "42.00",
        "fez",
        "0.500",
        "0.900",
    )
    gap = Alignment(durations, -0.5, 0.0, TranscriptCheck(12.0, 0, True, 0.2, 0.4))
    assert summary_row(job, gap, BUILTIN)["suspect_word"] == "+Bat"
    before = Alignment(durations, -0.5, 0.0, TranscriptCheck(12.0, -1, True, 0.0, 0.1))
    assert summary_row(job, before, BUILTIN)["suspect_word"] == "+"
