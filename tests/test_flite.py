"""The second synthesiser (aligner.demo.flite_synth): flite's segments as truth, words placed by their phones."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from test_transcript import FRONTEND

from aligner.corpus import read_metadata
from aligner.demo.corpus import build_corpus
from aligner.demo.flite_synth import parse_segments, phone_owners, reference_phones, reference_words
from aligner.durations import symbol_times
from aligner.evaluate.phone_match import PhoneMismatch
from aligner.evaluate.reference_durations import main as reference_durations_main
from aligner.evaluate.word_match import word_boundary_errors_ms


def test_flites_segment_line_is_read_as_labels_and_end_times():
    assert parse_segments("pau:0.164 hh:0.255 ax:0.304\n") == [("pau", 0.164), ("hh", 0.255), ("ax", 0.304)]


def test_phones_cover_the_audio_and_pauses_are_silence():
    segments = [("pau", 0.2), ("hh", 0.3), ("ay", 0.5), ("pau", 0.6), ("pau", 0.7)]
    assert reference_phones(segments, 0.75) == [
        {"label": "", "start": 0.0, "end": 0.2},
        {"label": "hh", "start": 0.2, "end": 0.3},
        {"label": "ay", "start": 0.3, "end": 0.5},
        {"label": "", "start": 0.5, "end": 0.75},
    ]


def test_a_word_read_otherwise_in_its_sentence_keeps_its_phones():
    # "the orchestra": alone "dh ax", before a vowel "dh iy"; an extra phone joins the word before it
    alone = [["dh", "ax"], ["ao", "r", "k", "ax", "s", "t", "r", "ax"]]
    spoken = ["dh", "iy", "ao", "r", "k", "ax", "s", "t", "r", "ax", "z"]
    assert phone_owners(spoken, alone) == [0, 0] + [1] * 9
    phones = [{"label": label, "start": k / 10, "end": (k + 1) / 10} for k, label in enumerate(spoken)]
    words = reference_words(phones, ["the", "orchestra"], phone_owners(spoken, alone))
    assert words == [{"label": "the", "start": 0.0, "end": 0.2}, {"label": "orchestra", "start": 0.2, "end": 1.1}]


@pytest.fixture(scope="module")
def flite_corpus(tmp_path_factory):
    """Three utterances of the three flite voices; fails (not skips) without flite: make test installs it."""
    if shutil.which("flite") is None:
        pytest.fail("flite is not installed (make test installs Debian's flite)")
    root = tmp_path_factory.mktemp("flite") / "corpus"
    summary = build_corpus(root, n=3, seed=0, languages=["en-us"], speakers=3, progress=False, engine="flite")
    return root, summary


def test_a_flite_corpus_has_the_demo_layout_and_truth_for_every_word(flite_corpus):
    root, summary = flite_corpus
    assert summary["engine"] == "flite" and summary["speaker_settings"] == {"0": "awb", "1": "rms", "2": "slt"}
    for utterance in read_metadata(root):
        reference = json.loads((root / "reference" / f"{utterance.rel_path}.json").read_text())
        info = sf.info(str(utterance.wav))
        assert info.samplerate == 24000 and reference["duration"] == pytest.approx(info.frames / 24000, abs=1e-6)
        phones = reference["phones"]
        assert phones[0]["start"] == 0 and phones[-1]["end"] == reference["duration"]
        assert all(a["end"] == b["start"] for a, b in zip(phones, phones[1:], strict=False))
        words = [w["label"] for w in reference["words"]]
        assert words == [w.strip(".,;:!?") for w in utterance.text.split()]
        assert all(a["end"] <= b["start"] for a, b in zip(reference["words"], reference["words"][1:], strict=False))
        assert reference["flite"]["voice"] == ("awb", "rms", "slt")[utterance.spk_id]


def test_flite_speaks_english_only(tmp_path):
    with pytest.raises(ValueError, match="English only"):
        build_corpus(tmp_path / "c", n=2, languages=["fr-fr"], engine="flite", progress=False)


def test_words_are_scored_at_their_onsets_and_offsets_with_joined_words_as_one():
    text = "in 1990 of the rained."
    ipa = "ɪn naɪntiːn naɪnti ʌvðə ɹeɪnd."
    # one frame (10 ms) per symbol, blanks included: symbol k spans frames 2k + 1; a blank's frame is split
    durations = np.ones(2 * len(ipa) + 1, dtype=np.int64)
    starts, ends = symbol_times(durations, len(ipa), 0.01)
    truth_onsets = [starts[0], starts[3], starts[19], starts[24]]  # in | 1990 | of the | rained
    truth_offsets = [ends[1], ends[17], ends[22], ends[28]]
    late = 0.004
    words = [
        {"label": "in", "start": truth_onsets[0] + late, "end": truth_offsets[0]},
        {"label": "1990", "start": truth_onsets[1], "end": truth_offsets[1]},
        {"label": "of", "start": truth_onsets[2], "end": truth_onsets[2] + 0.02},
        {"label": "the", "start": truth_onsets[2] + 0.02, "end": truth_offsets[2] - late},
        {"label": "rained", "start": truth_onsets[3], "end": truth_offsets[3]},
    ]
    errors = word_boundary_errors_ms(text, ipa, durations, words, 0.01, FRONTEND, "en")
    assert errors.tolist() == pytest.approx([-4, 0, 0, 0, 0, 4, 0, 0])
    with pytest.raises(PhoneMismatch, match="not the text's"):
        word_boundary_errors_ms(text, ipa, durations, words[:-1], 0.01, FRONTEND, "en")


def test_words_that_abut_in_the_truth_meet_in_the_middle_of_the_space_between_them():
    ipa = "ɪn ɪt"
    durations = np.array([1, 2, 1, 2, 1, 3, 1, 2, 1, 2, 1])  # the space (token 5) holds 3 frames
    starts, ends = symbol_times(durations, len(ipa), 0.01)
    middle = (ends[1] + starts[3]) / 2
    words = [{"label": "in", "start": starts[0], "end": middle}, {"label": "it", "start": middle, "end": ends[4]}]
    errors = word_boundary_errors_ms("in it", ipa, durations, words, 0.01, FRONTEND, "en")
    assert errors.tolist() == pytest.approx([0, 0, 0, 0])
    words[1]["start"] += 0.005  # a pause of 5 ms in the truth: each word keeps its own phones' boundary
    words[0]["end"] -= 0.005
    errors = word_boundary_errors_ms("in it", ipa, durations, words, 0.01, FRONTEND, "en")
    assert errors.tolist() == pytest.approx(
        [0, 1000 * (ends[1] - middle + 0.005), 1000 * (starts[3] - middle - 0.005), 0]
    )


def test_reference_durations_refuse_a_flite_truth_naming_the_file(flite_corpus, tmp_path, capsys):
    root, _ = flite_corpus
    assert reference_durations_main(["--corpus", str(root), "--out-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "flite's phones" in error and str(root / "reference") in error and not (tmp_path / "out").exists()
