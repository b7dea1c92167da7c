"""The demo corpus and its espeak-ng binding: the truth every accuracy figure is measured against."""

import filecmp
import json
import re

import numpy as np
import pytest
import soundfile as sf
import soxr

from aligner.demo import corpus as dc
from aligner.demo import espeak_synth as es
from aligner.demo.espeak_synth import EVENT_PHONEME, EVENT_WORD, EspeakError, EspeakSynth, Event

LANGUAGES = {"en-us", "fr-fr", "de", "es"}


@pytest.fixture(scope="module")
def synth() -> EspeakSynth:
    return EspeakSynth()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "corpus"
    summary = dc.build_corpus(root, n=16, seed=3, progress=False)
    return root, summary


def tokens(text: str) -> list[str]:
    return [t for t in (dc._strip_punctuation(t) for t in text.split()) if t]


def phone_events(*pairs) -> list[Event]:
    return [Event(EVENT_PHONEME, sample, name=name) for name, sample in pairs]


# --- return codes ------------------------------------------------------------------------------


def test_a_bad_voice_raises_and_the_previous_voice_would_silently_stay(synth):
    synth.set_voice("de")
    with pytest.raises(EspeakError, match="xx-yy"):
        synth.set_voice("xx-yy")
    assert synth.current_voice()[1] == "de" and synth.language == "de"  # what an unchecked call would keep
    # "fr-fr" is a language code, not a voice name: espeak refuses it, hence the mapping.
    assert synth._lib.espeak_SetVoiceByName(b"fr-fr") != es.EE_OK
    synth.set_voice("fr-fr")
    assert synth.current_voice()[1] == "fr-fr"


def test_a_voice_that_does_not_take_effect_is_caught(synth, monkeypatch):
    monkeypatch.setitem(es.VOICE_LANGUAGES, "de", "nl")
    with pytest.raises(EspeakError, match="did not take effect"):
        synth.set_voice("de")


def test_a_failing_parameter_call_raises(synth):
    with pytest.raises(EspeakError):
        synth.set_parameter(99, 1)


def test_an_error_inside_the_audio_callback_is_raised_not_swallowed(synth, monkeypatch):
    synth.set_voice("en-us")
    monkeypatch.setattr(es, "_convert_event", lambda ev: 1 / 0)
    with pytest.raises(EspeakError, match="callback"):
        synth.synth("hello there")
    monkeypatch.undo()
    assert len(synth.synth("hello there").samples) > 0


# --- positions ---------------------------------------------------------------------------------


def test_word_positions_are_characters_not_bytes(synth):
    text = "él está aquí, señor; mañana comeremos paella."
    synth.set_voice("es")
    result = synth.synth(text)
    words = [text[e.text_position - 1 : e.text_position - 1 + e.length] for e in result.of_kind(EVENT_WORD)]
    assert words == ["él", "está", "aquí", "señor", "mañana", "comeremos", "paella"]
    phones = dc.phone_segments(result.events, result.samples, result.sample_rate)
    assert [w.label for w in dc.word_segments(phones, text)] == tokens(text)


def test_words_espeak_speaks_as_one_keep_all_their_tokens(synth):
    text = "the pie cooled on the windowsill."
    synth.set_voice("en-us")
    result = synth.synth(text)
    phones = dc.phone_segments(result.events, result.samples, result.sample_rate)
    labels = [w.label for w in dc.word_segments(phones, text)]
    assert " ".join(labels) == " ".join(tokens(text))
    assert "on the" in labels  # espeak gives "the" no word event of its own here


# --- segments ----------------------------------------------------------------------------------


def test_two_events_at_one_sample_give_a_zero_length_phone_and_pauses_merge():
    events = phone_events(("k", 100), ("ʁ", 300), ("w", 500), ("ˈa", 500), ("", 900), ("_:", 950), ("(en)", 990))
    samples = np.ones(1000, np.int16)
    segs = dc.phone_segments(events, samples, 22050)
    assert [(s.label, s.start, s.end) for s in segs] == [
        ("", 0, 100),
        ("k", 100, 300),
        ("ʁ", 300, 500),
        ("w", 500, 500),
        ("ˈa", 500, 900),
        ("", 900, 1000),
    ]
    assert all(a.end == b.start for a, b in zip(segs, segs[1:], strict=False))


def test_phone_events_going_back_in_time_fail_the_build():
    with pytest.raises(RuntimeError, match="back in time"):
        dc.event_segments(phone_events(("a", 500), ("b", 400)), 1000)


def test_silence_before_a_stop_is_its_closure_elsewhere_a_pause_or_a_release_gap():
    samples = np.ones(1000, np.int16)
    samples[200:300] = 0  # end of "ə", before the stop "t"
    samples[400:450] = 0  # end of "t", inside the word, before "ɪ": release gap
    samples[600:700] = 0  # end of "ɪ", before "s" of the next word: pause
    events = [
        Event(EVENT_WORD, 0, 1, 1),
        *phone_events(("ə", 0), ("t", 300), ("ɪ", 450)),
        Event(EVENT_WORD, 700, 3, 1),
        *phone_events(("s", 700)),
    ]
    segs = dc.attach_silent_gaps(dc.event_segments(events, 1000), samples, min_gap=10)
    assert [(s.label, s.start, s.end) for s in segs] == [
        ("ə", 0, 200),
        ("t", 200, 450),
        ("ɪ", 450, 600),
        ("", 600, 700),
        ("s", 700, 1000),
    ]


def test_real_stop_closures_belong_to_the_stop(synth):
    synth.set_voice("en-us")
    result = synth.synth("the pie is hot.")
    event = next(e for e in result.of_kind(EVENT_PHONEME) if e.name == "p")
    phones = dc.phone_segments(result.events, result.samples, result.sample_rate)
    p = next(s for s in phones if s.label == "p")
    assert event.sample - p.start > 0.02 * result.sample_rate  # espeak puts the event after the closure
    assert not result.samples[p.start : event.sample].any()


@pytest.mark.parametrize("speaker", range(len(dc.SPEAKERS)))
def test_every_speaker_voice_has_exactly_silent_closures(synth, speaker):
    setting = dc.speaker_setting(speaker)
    synth.set_voice("en-us", setting.variant)
    synth.set_prosody(setting.rate, setting.pitch, setting.range)
    result = synth.synth("a cat")
    k = next(e for e in result.of_kind(EVENT_PHONEME) if e.name == "k").sample
    assert not result.samples[k - 100 : k].any()  # no echo or noise in silence


# --- audio -------------------------------------------------------------------------------------


def test_resampling_overshoot_is_scaled_not_wrapped():
    square = np.where(np.arange(2205) % 100 < 50, 32767, -32768).astype(np.int16)
    raw = soxr.resample(square.astype(np.float32) / 32768, 22050, 24000, quality="HQ")
    assert np.abs(raw).max() > 1.0  # the pitfall is real: Gibbs overshoot above full scale
    naive = (raw * 32768).astype(np.int16)
    assert (np.sign(naive[np.abs(raw) > 0.9]) != np.sign(raw[np.abs(raw) > 0.9])).any()  # wraps
    out = dc.resample_pcm(square, 22050)
    assert out.dtype == np.int16 and np.abs(out.astype(int)).max() == 32767
    loud = np.abs(raw) > 0.5
    assert (np.sign(out[loud]) == np.sign(raw[loud])).all()
    assert np.allclose(out / 32768, raw * (32767 / 32768) / np.abs(raw).max(), atol=1 / 32768)


def test_quiet_audio_is_not_rescaled_and_timing_is_kept():
    x = np.zeros(22050, np.int16)
    x[10000] = 16000
    out = dc.resample_pcm(x, 22050)
    assert len(out) == 24000 and abs(int(np.argmax(out)) - 10000 * 24000 / 22050) <= 1
    assert np.array_equal(dc.to_pcm16(np.array([0.5, -0.5])), np.array([16384, -16384], np.int16))


# --- corpus ------------------------------------------------------------------------------------


def test_metadata_wavs_and_reference_follow_the_format(corpus):
    root, _ = corpus
    lines = (root / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 16
    for line in lines:
        rel_path, spk, language, text = line.split("|")
        assert re.fullmatch(r"\d+/\d{4}", rel_path) and rel_path.split("/")[0] == spk
        assert language in LANGUAGES and text.strip() == text and text
        audio, sr = sf.read(root / "wavs" / f"{rel_path}.wav", dtype="int16")
        assert sr == 24000 and audio.ndim == 1 and sf.info(root / "wavs" / f"{rel_path}.wav").subtype == "PCM_16"
        ref = json.loads((root / "reference" / f"{rel_path}.json").read_text(encoding="utf-8"))
        assert (ref["rel_path"], ref["language"], ref["text"], ref["sample_rate"]) == (rel_path, language, text, 24000)
        assert ref["duration"] == pytest.approx(len(audio) / 24000, abs=1e-6)
        check_truth(ref)


def check_truth(ref: dict) -> None:
    phones, words = ref["phones"], ref["words"]
    assert phones[0]["start"] == 0 and phones[-1]["end"] == ref["duration"]
    assert all(p["end"] >= p["start"] for p in phones)
    assert all(a["end"] == b["start"] for a, b in zip(phones, phones[1:], strict=False))
    assert not any(a["label"] == b["label"] == "" for a, b in zip(phones, phones[1:], strict=False))
    assert ref["espeak_ipa"] == "".join(p["label"] for p in phones)
    assert " ".join(w["label"] for w in words) == " ".join(tokens(ref["text"]))
    assert all(a["end"] <= b["start"] for a, b in zip(words, words[1:], strict=False))
    assert ref["phones_agree"] == dc.phones_agree(ref["espeak_ipa"], ref["matcha_ipa"])


def test_every_language_and_speaker_occurs(corpus):
    root, summary = corpus
    rows = [line.split("|") for line in (root / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    assert {r[2] for r in rows} == LANGUAGES and {r[1] for r in rows} == {"0", "1", "2", "3"}
    assert sum(r[2] == "en-us" for r in rows) == round(0.7 * 16)


def test_two_builds_with_one_seed_are_identical_and_another_seed_differs(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        dc.build_corpus(tmp_path / name, n=8, seed=seed, progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 8 * 2 + 2
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert not mismatch and not errors
    assert (tmp_path / "a" / "metadata.csv").read_bytes() != (tmp_path / "c" / "metadata.csv").read_bytes()


def test_rebuilding_keeps_mels_only_when_the_audio_is_unchanged(tmp_path):
    root = tmp_path / "c"
    dc.build_corpus(root, n=4, progress=False)
    (root / "mels").mkdir()
    assert dc.build_corpus(root, n=4, progress=False)["kept_derived"]
    assert (root / "mels").is_dir()
    assert not dc.build_corpus(root, n=5, progress=False)["kept_derived"]
    assert not (root / "mels").exists() and len((root / "metadata.csv").read_text().splitlines()) == 5
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        dc.build_corpus(other, n=2, progress=False)


# --- agreement ---------------------------------------------------------------------------------


def test_agreement_ignores_spaces_and_punctuation_but_not_stress_or_length():
    assert dc.phones_agree("həlˈoʊwˈɜːld", "həlˈoʊ wˈɜːld, ¿")
    assert dc.phones_agree("lə-wˈiːk", "lə- wˈiːk.")
    assert not dc.phones_agree("haʊ", "hˈaʊ")
    assert not dc.phones_agree("plytˈo", "plytˈoː")


def test_agreement_is_reported_per_language(corpus, capsys):
    root, summary = corpus
    refs = [json.loads(p.read_text(encoding="utf-8")) for p in (root / "reference").rglob("*.json")]
    table = summary["agreement"]
    assert set(table) == LANGUAGES | {"all"}
    for lang in LANGUAGES:
        rows = [r for r in refs if r["language"] == lang]
        assert table[lang]["utterances"] == len(rows)
        assert table[lang]["agree"] == sum(r["phones_agree"] for r in rows)
    assert table["all"]["rate"] >= 0.9  # espeak speaks what aligner.text reads
    assert json.loads((root / dc.MARKER).read_text())["agreement"] == table
    fake = [{"language": "de", "phones_agree": True}, {"language": "de", "phones_agree": False}]
    assert dc.agreement_by_language(fake)["de"] == {"utterances": 2, "agree": 1, "rate": 0.5}


def test_cli_prints_where_it_wrote_and_the_agreement(tmp_path, capsys):
    dc.main(["--out", str(tmp_path / "cli"), "--n", "4", "--languages", "en-us,de", "--speakers", "2", "--quiet"])
    out = capsys.readouterr().out
    assert str(tmp_path / "cli") in out and "metadata.csv" in out
    assert re.search(r"en-us\s+\d+/\d+\s+[\d.]+ %", out) and re.search(r"all\s+\d+/4", out)


# --- text and plan -----------------------------------------------------------------------------


@pytest.mark.parametrize("language,least", [("en-us", 300), ("fr-fr", 50), ("de", 50), ("es", 50)])
def test_shipped_sentences(language, least):
    sentences = dc.load_sentences(language)
    assert len(sentences) >= least and len(set(sentences)) == len(sentences)
    for s in sentences:
        assert 4 <= len(s.split()) <= 25, s
        assert not re.search(r"\d|\|", s), s


def test_language_counts_and_plan_are_deterministic():
    assert dc.language_counts(10, ["en-us", "fr-fr", "de", "es"]) == {"en-us": 7, "fr-fr": 1, "de": 1, "es": 1}
    assert dc.language_counts(5, ["de", "es"]) == {"de": 3, "es": 2}
    assert dc.plan_corpus(30, 1, ["en-us", "es"], 3) == dc.plan_corpus(30, 1, ["en-us", "es"], 3)
    with pytest.raises(ValueError, match="no sentences"):
        dc.plan_corpus(3, 0, ["xx"], 1)
