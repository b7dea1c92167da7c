"""The aligner's data pipeline: corpus -> 16 kHz normalised audio + Matcha-id targets, filtered, split, cached."""

import os
import time

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

import aligner.training.data as data_module
from aligner.ctc.input import output_frames
from aligner.ctc.vocab import build_feature_extractor, ctc_targets
from aligner.text import phonemes_to_ids, to_phonemes
from aligner.text.frontend import TextFrontend
from aligner.text.phonemize import SEVERAL_SENTENCES
from aligner.tokens import UNKNOWN_SYMBOL
from aligner.training.data import (
    CTCCollator,
    DataArguments,
    LengthGroupedSampler,
    frames_needed,
    held_out,
    n_held_out,
    prepare_data,
    split_order,
)

KERNEL, STRIDE = [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]
GOOD = [
    "The cat sat on the mat.",
    "Birds sing in the morning.",
    "We walked along the river.",
    "She painted the door blue.",
    "A cold wind blew all night.",
    "He read the letter twice.",
    "The train left on time.",
    "They planted roses in spring.",
]
# rel_path, text, seconds, sample rate, channels
BAD = [
    ("1/short", "Hi.", 0.1, 24000, 1),
    ("1/crowded", "This sentence has far too many phones for the tiny piece of audio it comes with.", 0.5, 24000, 1),
    ("1/unknown", "Zebra crossing.", 1.5, 24000, 1),
    ("1/stereo", "A stereo file.", 1.5, 24000, 2),
    ("1/long", "A long pause follows.", 3.5, 24000, 1),
    ("1/number", "In 1984 he paid $2,022 for 3.5 kg.", 1.5, 24000, 1),
]
EXPECTED_EXCLUDED = {
    "too short": 1,
    "fewer frames than targets": 1,
    UNKNOWN_SYMBOL: 1,
    "unreadable audio": 1,
    "too long": 1,
    SEVERAL_SENTENCES: 1,
}


def write_corpus(root, rows):
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for rel_path, text, seconds, rate, channels in rows:
        path = root / "wavs" / f"{rel_path}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = 0.1 * rng.standard_normal((int(seconds * rate), channels)).astype(np.float32) + 0.05
        sf.write(path, audio, rate, subtype="PCM_16")
        lines.append(f"{rel_path}|{rel_path[0]}|en-us|{text}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def fake_phonemes(text: str, language: str) -> str:
    """Real phonemes, except an unknown symbol for the text about zebras."""
    return to_phonemes(text, language) + ("☃" if "Zebra" in text else "")


def args_for(corpus, **overrides):
    values = {"corpus": str(corpus), "max_duration_s": 3.0, "eval_fraction": 0.25, "num_proc": 2} | overrides
    return DataArguments(**values)


def prepare(args):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data_module, "resolve_frontend", lambda spec: TextFrontend("fake", fake_phonemes))
        return prepare_data(args, build_feature_extractor(), KERNEL, STRIDE)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    good = [(f"0/{i:02d}", text, 1.5 + 0.1 * i, 22050 if i == 1 else 24000, 1) for i, text in enumerate(GOOD)]
    write_corpus(root, good + BAD)
    return root


@pytest.fixture(scope="module")
def prepared(corpus):
    return prepare(args_for(corpus))


def rows_by_path(prepared):
    rows = {}
    for split in (prepared.train, prepared.eval):
        for row in split:
            rows[str(row["rel_path"])] = row
    return rows


def test_report_counts_and_examples(prepared):
    report = prepared.report
    assert report.total == len(GOOD) + len(BAD)
    assert report.excluded == EXPECTED_EXCLUDED
    examples = {reason: " ".join(lines) for reason, lines in report.examples.items()}
    assert "1/short" in examples["too short"] and "1/crowded" in examples["fewer frames than targets"]
    assert "☃" in examples[UNKNOWN_SYMBOL] and "1/stereo" in examples["unreadable audio"]
    assert "1/long" in examples["too long"]
    assert "1/number" in examples[SEVERAL_SENTENCES] and "numbers as words" in examples[SEVERAL_SENTENCES]
    assert report.train + report.eval == len(GOOD) == len(prepared.train) + len(prepared.eval)
    phonemised = [b[:2] for b in BAD if b[0] not in ("1/unknown", "1/number")]
    rows = [(f"0/{i:02d}", t) for i, t in enumerate(GOOD)] + phonemised
    chosen = held_out([f"en-us:{text}" for _, text in rows], 0.25, 200, seed=0)
    expected = sorted(rows[i][0] for i in chosen if rows[i][0].startswith("0/"))
    assert sorted(str(r) for r in prepared.eval["rel_path"]) == expected
    assert "left out, too short: 1" in report.summary()


def test_audio_resampled_to_16k_and_normalised(prepared, corpus):
    rows = rows_by_path(prepared)
    for rel_path, row in rows.items():
        values = row["input_values"]
        assert values.dtype == np.float32 and len(values) == row["input_length"]
        assert abs(float(values.mean())) < 1e-4 and abs(float(values.std()) - 1) < 1e-3
        seconds = 1.5 + 0.1 * int(rel_path[2:])
        assert abs(len(values) - seconds * 16000) <= 1
    audio, rate = sf.read(corpus / "wavs" / "0/01.wav", dtype="float32")
    assert rate == 22050
    expected = soxr.resample(audio, rate, 16000)
    expected = (expected - expected.mean()) / np.sqrt(expected.var() + 1e-7)
    np.testing.assert_allclose(rows["0/01"]["input_values"], expected, atol=1e-4)


def test_labels_are_matcha_ids_of_the_phonemes(prepared):
    for rel_path, row in rows_by_path(prepared).items():
        text = GOOD[int(rel_path[2:])]
        ids = phonemes_to_ids(to_phonemes(text, "en-us"))
        assert str(row["phonemes"]) == to_phonemes(text, "en-us")
        assert row["labels"].tolist() == ctc_targets(ids, "phones")
        assert output_frames(int(row["input_length"]), KERNEL, STRIDE) >= frames_needed(row["labels"].tolist())


def test_second_run_loads_the_cache(prepared, corpus):
    start = time.monotonic()
    again = prepare(args_for(corpus))
    assert again.from_cache and again.path == prepared.path
    assert time.monotonic() - start < 5
    assert [str(r) for r in again.train["rel_path"]] == [str(r) for r in prepared.train["rel_path"]]
    assert prepare(args_for(corpus, ctc_targets="all")).path != prepared.path


def test_changed_wav_invalidates_the_cache(tmp_path):
    write_corpus(tmp_path, [("0/a", GOOD[0], 1.5, 24000, 1), ("0/b", GOOD[1], 1.5, 24000, 1)])
    first = prepare(args_for(tmp_path))
    assert not first.from_cache
    assert prepare(args_for(tmp_path)).from_cache
    wav = tmp_path / "wavs" / "0/a.wav"
    os.utime(wav, ns=(wav.stat().st_atime_ns, wav.stat().st_mtime_ns + 10**9))
    second = prepare(args_for(tmp_path))
    assert not second.from_cache and second.path != first.path


def test_held_out_split_is_deterministic(prepared, corpus, tmp_path):
    rebuilt = prepare(args_for(corpus, cache_dir=str(tmp_path / "cache")))
    assert not rebuilt.from_cache
    assert [str(r) for r in rebuilt.eval["rel_path"]] == [str(r) for r in prepared.eval["rel_path"]]
    assert len(prepared.eval) >= 1


def test_split_order_is_stable_when_the_corpus_grows():
    texts = [f"sentence number {i}" for i in range(150)]
    small = split_order(texts[:100], seed=0)
    large = split_order(texts, seed=0)
    assert [texts[i] for i in small] == [texts[i] for i in large if i < 100]
    assert split_order(texts, seed=1) != large


def test_a_sentence_is_never_on_both_sides():
    texts = [f"en-us:Sentence {i % 40}." for i in range(120)]  # each sentence by three speakers
    for fraction in (0.05, 0.1, 0.26):
        chosen = held_out(texts, fraction, 200, seed=0)
        assert len(chosen) % 3 == 0 and len(chosen) >= n_held_out(120, fraction, 200)
        assert {texts[i] for i in chosen}.isdisjoint(texts[i] for i in range(120) if i not in chosen)


def test_n_held_out():
    assert n_held_out(100, 0.05, 200) == 5
    assert n_held_out(100, 0.05, 3) == 3
    assert n_held_out(10, 0.01, 200) == 1
    assert n_held_out(1, 0.5, 200) == 0
    assert n_held_out(100, 0.0, 200) == 0


@pytest.mark.parametrize("n_samples", [0, 399, 400, 401, 16000, 48123])
def test_output_frames_matches_wav2vec2(n_samples):
    config = Wav2Vec2Config(conv_dim=[8] * 7, conv_kernel=KERNEL, conv_stride=STRIDE, hidden_size=16,
                            num_hidden_layers=1, num_attention_heads=1, intermediate_size=16)  # fmt: skip
    model = Wav2Vec2Model(config)
    expected = max(int(model._get_feat_extract_output_lengths(torch.tensor(n_samples))), 0)
    assert output_frames(n_samples, KERNEL, STRIDE) == expected


def test_frames_needed_counts_repeats():
    assert frames_needed([5, 5, 6, 6, 6, 7]) == 6 + 3
    assert frames_needed([1, 2, 3]) == 3
    assert frames_needed([]) == 0


def test_length_grouped_sampler():
    lengths = [int(x) for x in np.random.default_rng(1).integers(1000, 50000, size=103)]
    sampler = LengthGroupedSampler(lengths, batch_size=4, seed=3, mega=5)
    first = list(sampler)
    assert sorted(first) == list(range(103)) and list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first
    spread = np.mean([np.ptp([lengths[i] for i in first[b : b + 4]]) for b in range(0, 100, 4)])
    random_spread = np.mean([np.ptp(lengths[b : b + 4]) for b in range(0, 100, 4)])
    assert spread < random_spread / 2


def test_collator_pads_audio_with_zero_and_labels_with_minus_100():
    rows = [
        {"input_values": np.ones(5, np.float32), "labels": np.array([3, 4])},
        {"input_values": np.full(3, 2, np.float32), "labels": np.array([7, 8, 9])},
    ]
    batch = CTCCollator()(rows)
    assert batch["input_values"].tolist() == [[1] * 5, [2, 2, 2, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1] * 5, [1, 1, 1, 0, 0]]
    assert batch["labels"].tolist() == [[3, 4, -100], [7, 8, 9]]
    assert batch["input_lengths"].tolist() == [5, 3] and batch["label_lengths"].tolist() == [2, 3]
