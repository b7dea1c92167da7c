"""Utterances at both ends of the length range end to end (issue #27): a 90 s one (three 30 s chunks of CTC
posteriors) and a one-word one of 0.3-0.4 s, beside the demo corpus, through training, extraction (both
methods, batch 1 and 8), TextGrids and the review page."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from test_extract import run
from test_review import browser, open_utterance  # noqa: F401 (browser: the fixture)
from test_train import train

from aligner.corpus import mel_path, read_metadata
from aligner.durations import load_durations
from aligner.mels import precompute
from aligner.review.__main__ import main as review

LONG, SHORT = "0/long", "0/one_word"


@pytest.fixture(scope="module")
def lengths_corpus(demo_corpus, tmp_path_factory):
    """The demo corpus with LONG (its English utterances joined with 0.3 s silences until 90 s) and SHORT (one
    word cut out of an English utterance at its true boundaries, 50 ms either side)."""
    root = tmp_path_factory.mktemp("lengths") / "corpus"
    shutil.copytree(demo_corpus, root)
    english = [u for u in read_metadata(root) if u.language == "en-us"]
    pieces, texts, seconds = [], [], 0.0
    while seconds < 90:
        utterance = english[len(texts) % len(english)]
        audio, rate = sf.read(utterance.wav, dtype="float32")
        pieces += [audio, np.zeros(int(0.3 * rate), dtype=np.float32)]
        texts.append(utterance.text)
        seconds += len(audio) / rate + 0.3
    sf.write(root / "wavs" / f"{LONG}.wav", np.concatenate(pieces), rate)
    first = english[0]
    reference = json.loads((root / "reference" / f"{first.rel_path}.json").read_text())
    words = [w for w in reference["words"] if w["end"] - w["start"] >= 0.2]  # with 0.1 s around: 0.3 s or more
    word = min(words, key=lambda w: w["end"] - w["start"])
    audio, rate = sf.read(first.wav, dtype="float32")
    cut = audio[int((word["start"] - 0.05) * rate) : int((word["end"] + 0.05) * rate)]
    assert 0.3 <= len(cut) / rate < 0.4, "the demo corpus's words changed: choose another"
    sf.write(root / "wavs" / f"{SHORT}.wav", cut, rate)
    with open(root / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{LONG}|0|en-us|{' '.join(texts)}\n{SHORT}|0|en-us|{word['label']}.\n")
    _, written, _, failures = precompute(root)
    assert written == 2 and not failures
    return root


def durations_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.pt"))}


@pytest.mark.parametrize("method", ["acoustic", "mel"])
def test_long_and_short_utterances_align_the_same_in_any_batch(lengths_corpus, checkpoint, tmp_path, method):
    outputs = {}
    for batch in (1, 8):
        out = tmp_path / f"batch{batch}"
        assert run(lengths_corpus, checkpoint, "--method", method, "--batch-size", str(batch), "--out-dir", str(out),
                   "--textgrid") == 0  # fmt: skip
        outputs[batch] = durations_of(out)
    assert outputs[1] == outputs[8] and len(outputs[1]) == 18
    for rel_path in (LONG, SHORT):
        durations = load_durations(tmp_path / "batch1" / f"{rel_path}.pt")
        frames = np.load(mel_path(lengths_corpus, rel_path)).shape[1]
        assert durations.sum() == frames and durations.min() >= 1
        assert (lengths_corpus / "textgrids" / f"{rel_path}.TextGrid").is_file()
    assert np.load(mel_path(lengths_corpus, LONG)).shape[1] * 256 / 24000 > 90


def test_the_review_page_shows_both(lengths_corpus, checkpoint, tmp_path, browser):  # noqa: F811
    assert run(lengths_corpus, checkpoint, "--out-dir", str(tmp_path / "durations")) == 0
    assert review(["--corpus", str(lengths_corpus), "--durations", str(tmp_path / "durations"), "--out",
                   str(tmp_path / "review"), "--quiet"]) == 0  # fmt: skip
    index = (tmp_path / "review" / "data" / "index.js").read_text(encoding="utf-8")
    assert f'"{LONG}"' in index and f'"{SHORT}"' in index
    views = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "review" / "data" / "views").rglob("*.js")}
    for rel_path in (LONG, SHORT):  # each utterance's view: its tokens, spectrogram and waveform peaks
        (name,) = [name for name, text in views.items() if f'"rel_path":"{rel_path}"' in text]
        assert (tmp_path / "review" / "data" / "views" / "0" / name.replace(".js", ".png")).stat().st_size > 1000
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto((tmp_path / "review" / "index.html").resolve().as_uri())
    page.wait_for_selector("html[data-ready=index]")
    for rel_path in (LONG, SHORT):
        open_utterance(page, rel_path)  # its view drawn: waveform, spectrogram, tiers
    page.close()
    assert not errors


def test_training_keeps_the_short_utterance_and_names_the_long_one(lengths_corpus, tmp_path):
    results = train(lengths_corpus, tmp_path, "--max_steps", "2", "--eval_steps", "2", "--save_steps", "0",
                    "--report_to", "none", "--acoustic_rounds", "2")  # fmt: skip
    report = json.loads((tmp_path / "data_report.json").read_text())
    assert results["train_utterances"] + results["eval_utterances"] == 17
    assert report["excluded"] == {"too long": 1} and report["examples"]["too long"][0].startswith(f"{LONG}: 9")
    settings = json.loads((tmp_path / "alignment.json").read_text())
    assert settings["utterances"] == 18 and not settings["skipped"]  # the acoustic stage fits on both
