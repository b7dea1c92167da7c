"""The review page (python -m aligner.review) of a small demo corpus, in headless Chromium from file://: it loads
without a console error, lists every utterance once, sorts and filters, draws an utterance's tokens exactly where
its duration file puts them, plays audio; missing and broken files are rows with their cause."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from aligner.audio import SILENT_AUDIO
from aligner.corpus import MetadataError, read_metadata
from aligner.durations import load_durations, save_durations
from aligner.extract.summary import SUMMARY_NAME, failed_row, read_rows, write_summary
from aligner.review.__main__ import main as review_main
from aligner.review.browser import chromium
from aligner.text.frontend import resolve_frontend
from matcha.utils.extract_durations import main as extract_main

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "outputs" / "review" / "test_review.png"
HOP_SECONDS = 256 / 24000


@pytest.fixture(scope="module")
def review(demo_corpus, checkpoint, tmp_path_factory) -> dict:
    """A private demo corpus with two duration folders (the default method, and --method mel), one wav and one
    duration file removed and one duration file broken after extraction (transcript scores made distinct), and
    its review page."""
    root = tmp_path_factory.mktemp("review")
    corpus = root / "corpus"
    shutil.copytree(demo_corpus, corpus)
    base = ["--corpus", str(corpus), "--checkpoint", str(checkpoint), "--device", "cpu"]
    assert extract_main(base) == 0
    assert extract_main([*base, "--method", "mel", "--out-dir", str(root / "mel")]) == 0
    utterances = read_metadata(corpus)
    no_wav, no_durations, broken, centred = (utterances[i].rel_path for i in (3, 5, 6, 7))
    mel = np.load(corpus / "mels" / f"{centred}.npy")  # made a center=True mel: samples // 256 + 1 frames
    np.save(corpus / "mels" / f"{centred}.npy", np.concatenate([mel, mel[:, -1:]], axis=1))
    for folder in (corpus / "durations", root / "mel"):
        durations = load_durations(folder / f"{centred}.pt")
        durations[-1] += 1  # the trailing blank takes the new frame
        save_durations(folder / f"{centred}.pt", durations)
    # distinct transcript scores and a suspect word each (an untrained aligner scores 0 and names none), so the
    # index has an order to keep and every view a suspect to draw
    written = read_rows(corpus / "durations" / SUMMARY_NAME)
    for k, row in enumerate(written):
        row["transcript_score"] = f"{(7 * k) % len(written) * 1.5:.2f}"
        row["suspect_word"], row["suspect_start"], row["suspect_end"] = f"word{k}", f"{0.1 + k / 100:.3f}", "0.400"
    write_summary(corpus / "durations" / SUMMARY_NAME, written)
    (corpus / "wavs" / f"{no_wav}.wav").unlink()
    (corpus / "durations" / f"{no_durations}.pt").unlink()
    (corpus / "durations" / f"{broken}.pt").write_bytes(b"not a tensor")
    out = root / "page"
    args = ["--corpus", str(corpus), "--durations", str(corpus / "durations"), str(root / "mel")]
    assert review_main([*args, "--names", "acoustic", "mel", "--out", str(out), "--quiet"]) == 0
    return {
        "corpus": corpus,
        "mel": root / "mel",
        "page": out / "index.html",
        "no_wav": no_wav,
        "no_durations": no_durations,
        "broken": broken,
        "whole": next(u for u in utterances if u.rel_path not in (no_wav, no_durations, broken, centred)),
        "centred": next(u for u in utterances if u.rel_path == centred),
    }


@pytest.fixture(scope="module")
def browser():
    """Headless system Chromium; the tests fail (not skip) without it: make test installs it."""
    try:
        with chromium() as opened:
            yield opened
    except RuntimeError as error:
        pytest.fail(f"{error} (make test installs Chromium and Playwright)")


@pytest.fixture()
def page(review, browser):
    """The review page opened from file://; at the end no console error, failed request or script error."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"{request.url}: {request.failure}"))
    page.goto(review["page"].resolve().as_uri())
    page.wait_for_selector("html[data-ready=index]")
    yield page
    page.close()
    assert not errors


def summary(folder: Path) -> dict[str, dict]:
    with open(folder / SUMMARY_NAME, newline="", encoding="utf-8") as handle:
        return {row["rel_path"]: row for row in csv.DictReader(handle)}


def shown_rows(page) -> list[dict]:
    """The index's rows as drawn: rel_path, speaker, status cell, confidence cell, transcript cell."""
    return page.eval_on_selector_all(
        "#rows tr[data-rel]",
        """rows => rows.map(tr => ({rel: tr.dataset.rel, speaker: tr.querySelector('.c-speaker').textContent,
            status: tr.querySelector('.c-status').textContent,
            confidence: tr.querySelector('.c-confidence').textContent,
            transcript: tr.querySelector('.c-transcript').textContent}))""",
    )


def open_utterance(page, rel_path: str) -> None:
    page.click(f"#rows tr[data-rel='{rel_path}']")
    page.wait_for_selector(f"#view[data-rel='{rel_path}'][data-ready='1']")


def test_every_utterance_is_one_row_most_suspect_first_and_sorts_by_confidence(review, page):
    utterances = read_metadata(review["corpus"])
    rows = shown_rows(page)
    assert sorted(r["rel"] for r in rows) == sorted(u.rel_path for u in utterances)
    assert page.inner_text("#counts").startswith(f"showing {len(utterances)} of {len(utterances)} utterances")
    written = summary(review["corpus"] / "durations")
    score = {k: float(v["transcript_score"]) for k, v in written.items()}
    assert [r["rel"] for r in rows] == sorted(score, key=lambda k: -score[k])  # most suspect first
    assert [r["transcript"] for r in rows] == [
        f"{score[r['rel']]:.1f} · {written[r['rel']]['suspect_word']}" for r in rows
    ]
    assert page.get_attribute("th[data-key=transcript]", "aria-sort") == "descending"
    mean_log_prob = {k: float(v["mean_log_prob"]) for k, v in written.items()}
    page.click("th[data-key=confidence]")
    assert page.get_attribute("th[data-key=confidence]", "aria-sort") == "ascending"
    rows = shown_rows(page)
    assert [r["rel"] for r in rows] == sorted(mean_log_prob, key=mean_log_prob.get)  # least confident first
    assert [float(r["confidence"]) for r in rows] == pytest.approx([mean_log_prob[r["rel"]] for r in rows], abs=5e-4)
    page.click("th[data-key=confidence]")
    assert page.get_attribute("th[data-key=confidence]", "aria-sort") == "descending"
    assert [r["rel"] for r in shown_rows(page)] == sorted(mean_log_prob, key=mean_log_prob.get, reverse=True)


def test_the_suspect_word_is_marked_on_its_tier_and_plays_alone(review, page):
    utterance = review["whole"]
    row = summary(review["corpus"] / "durations")[utterance.rel_path]
    open_utterance(page, utterance.rel_path)
    suspect = page.locator("#view [data-tier=acoustic][data-kind=suspect] .iv")
    assert suspect.count() == 1
    assert suspect.inner_text() == (row["suspect_word"] or "+")
    start, end = float(suspect.get_attribute("data-start")), float(suspect.get_attribute("data-end"))
    assert (start, end) == pytest.approx((float(row["suspect_start"]), float(row["suspect_end"])), abs=1e-5)
    page.wait_for_function("document.querySelector('#view audio').readyState >= 2")
    suspect.click()
    page.wait_for_function("document.querySelector('#view audio').paused", timeout=10000)
    played = page.evaluate("document.querySelector('#view audio').currentTime")
    assert end - 0.01 <= played <= end + 0.05


def test_missing_and_broken_files_are_rows_with_their_cause(review, page):
    status = {r["rel"]: r["status"] for r in shown_rows(page)}
    assert status[review["no_wav"]] == "missing · no wav"
    assert status[review["no_durations"]] == "missing · no duration file"
    assert status[review["broken"]] == "invalid · unreadable duration file"
    assert sum(s == "ok" for s in status.values()) == len(status) - 3
    page.select_option("#filter-status", "status:missing")
    assert sorted(r["rel"] for r in shown_rows(page)) == sorted([review["no_wav"], review["no_durations"]])
    page.select_option("#filter-status", "")
    open_utterance(page, review["no_wav"])  # no audio: the view says why, nothing fails
    assert "not found" in page.inner_text("#view .lane-row.h-wave")
    assert page.is_disabled("#play")
    open_utterance(page, review["broken"])
    assert "cannot read" in page.inner_text("#view .lane-row.note[data-tier=acoustic]")
    assert page.locator("#view [data-tier=mel][data-kind=tokens] .iv").count() > 0  # the other folder still shows


def test_filter_by_speaker_shows_only_that_speakers_utterances(review, page):
    utterances = read_metadata(review["corpus"])
    speaker = utterances[0].spk_id
    expected = sorted(u.rel_path for u in utterances if u.spk_id == speaker)
    label = page.eval_on_selector("#filter-speaker", f"s => [...s.options].find(o => o.value === '{speaker}').text")
    assert label == f"{speaker} ({len(expected)})"
    page.select_option("#filter-speaker", str(speaker))
    rows = shown_rows(page)
    assert sorted(r["rel"] for r in rows) == expected and {r["speaker"] for r in rows} == {str(speaker)}
    assert page.inner_text("#counts").startswith(f"showing {len(expected)} of {len(utterances)}")


def token_boxes(page, tier: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"#view [data-tier={tier}][data-kind=tokens] .iv",
        """els => els.map(e => { const b = e.getBoundingClientRect();
            return {k: Number(e.dataset.k), frames: Number(e.dataset.frames), left: b.left, width: b.width,
                    cls: e.className}; })""",
    )


@pytest.mark.parametrize("grid", ["whole", "centred"])
@pytest.mark.parametrize("tier", ["acoustic", "mel"])
def test_token_tier_holds_every_token_where_its_duration_file_puts_it(review, page, tier, grid):
    utterance = review[grid]
    folder = review["corpus"] / "durations" if tier == "acoustic" else review["mel"]
    durations = load_durations(folder / f"{utterance.rel_path}.pt").numpy()
    ipa = resolve_frontend().tokens(utterance.text, utterance.language)
    samples = sf.info(str(review["corpus"] / "wavs" / f"{utterance.rel_path}.wav")).frames
    mel_frames = np.load(review["corpus"] / "mels" / f"{utterance.rel_path}.npy").shape[1]
    # the demo's mels: floor(samples / 256) frames, frame f starts at f * hop; a centred one: samples // 256 + 1
    # frames, frame f centred at f * hop, so every time half a frame earlier (as in the TextGrids)
    assert mel_frames == samples // 256 + (grid == "centred") == durations.sum()
    shift = HOP_SECONDS / 2 if grid == "centred" else 0.0
    open_utterance(page, utterance.rel_path)
    lane = page.eval_on_selector("#lane", "e => { const b = e.getBoundingClientRect(); return [b.left, b.width]; }")
    seconds = max(samples / 24000, mel_frames * HOP_SECONDS - shift)
    boxes = token_boxes(page, tier)
    assert len(boxes) == len(durations) == 2 * len(ipa) + 1
    assert [b["k"] for b in boxes] == list(range(len(durations)))
    assert [b["frames"] for b in boxes] == durations.tolist()
    edges = np.clip(np.concatenate([[0], np.cumsum(durations)]) * HOP_SECONDS - shift, 0.0, seconds)
    expected_left = lane[0] + edges[:-1] / seconds * lane[1]
    expected_width = np.diff(edges) / seconds * lane[1]
    assert [b["left"] for b in boxes] == pytest.approx(expected_left.tolist(), abs=0.6)
    assert [b["width"] for b in boxes] == pytest.approx(expected_width.tolist(), abs=0.6)
    kinds = [b["cls"].split()[1] for b in boxes]
    assert kinds[0::2] == ["blank"] * (len(ipa) + 1)
    assert {k for k in kinds[1::2]} <= {"phone", "mark", "space", "punct"}
    assert [k == "space" for k in kinds[1::2]] == [c == " " for c in ipa]
    reference = json.loads((review["corpus"] / "reference" / f"{utterance.rel_path}.json").read_text())
    assert page.locator("#view [data-kind=truth] .iv").count() == len(reference["phones"])


def test_audio_plays_the_cursor_follows_and_a_word_plays_alone(review, page):
    utterance = review["whole"]
    open_utterance(page, utterance.rel_path)
    page.wait_for_function("document.querySelector('#view audio').readyState >= 2")
    page.click("#play")
    page.wait_for_function("document.querySelector('#view audio').currentTime > 0.3", timeout=10000)
    cursor = page.eval_on_selector("#cursor", "e => parseFloat(e.style.left)")
    assert cursor > 0
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    page.click("#play")  # pause
    word = page.locator("#view [data-tier=acoustic][data-kind=words] .iv").nth(1)
    start, end = float(word.get_attribute("data-start")), float(word.get_attribute("data-end"))
    word.click()
    page.wait_for_function("document.querySelector('#view audio').paused", timeout=10000)
    played = page.evaluate("document.querySelector('#view audio').currentTime")
    assert end - 0.01 <= played <= end + 0.05 and played > start


def read_script(path: Path, variable: str) -> dict:
    """The JSON a page data file assigns to ``variable``."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"{variable} = ") and text.endswith(";\n")
    return json.loads(text[len(variable) + 3 : -2])


def test_failed_and_malformed_lines_are_rows_with_their_cause_and_every_utterance_has_a_view(corpus, tmp_path):
    utterances = read_metadata(corpus)
    silent = utterances[2].rel_path
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("a line without its fields\n")
    durations = tmp_path / "durations"
    durations.mkdir()
    rows = [
        failed_row(silent, f"{corpus}/wavs/{silent}.wav: silent audio (peak 0)", SILENT_AUDIO),
        failed_row(f"metadata.csv:{len(utterances) + 1}", "bad line", MetadataError.cause),
    ]
    write_summary(durations / SUMMARY_NAME, rows)
    unfit = utterances[4].rel_path  # a duration file of another text: 7 tokens summing to the mel's frames
    frames = np.load(corpus / "mels" / f"{unfit}.npy").shape[1]
    save_durations(durations / f"{unfit}.pt", torch.tensor([1] * 6 + [frames - 6]))
    out = tmp_path / "page"
    assert review_main(["--corpus", str(corpus), "--durations", str(durations), "--out", str(out), "--quiet"]) == 0
    index = read_script(out / "data" / "index.js", "window.REVIEW_INDEX")
    shown = {row[0]: dict(zip(index["columns"], row, strict=True)) for row in index["rows"]}
    assert len(shown) == len(utterances) + 1
    assert (shown[silent]["status"], shown[silent]["cause"]) == ("failed", "silent audio")
    assert (shown[unfit]["status"], shown[unfit]["cause"]) == ("invalid", "durations do not fit the tokens or the mel")
    assert "7 durations for" in shown[unfit]["message"] and "another --text-frontend" in shown[unfit]["message"]
    line = shown[f"metadata.csv:{len(utterances) + 1}"]
    assert (line["status"], line["cause"], line["view"]) == ("failed", "malformed filelist line", None)
    others = [shown[u.rel_path] for u in utterances if u.rel_path not in (silent, unfit)]
    assert {(r["status"], r["cause"]) for r in others} == {("missing", "no duration file")}
    for u in utterances:  # a view for every utterance, with its tokens and the reason it has no durations
        view_id = shown[u.rel_path]["view"]
        view = read_script(out / "data" / "views" / "0" / f"{view_id}.js", f"window.REVIEW_VIEWS[{view_id}]")
        assert view["tokens"] == resolve_frontend().tokens(u.text, u.language)
        expected = ("durations do not fit", "7 durations for") if u.rel_path == unfit else ("missing", "no duration")
        assert view["tiers"][0]["cause"].startswith(expected[0]) and expected[1] in view["tiers"][0]["error"]
        assert (out / view["spectrogram"]).is_file() and view["audio"].endswith(f"{u.rel_path}.wav")
        assert (out / view["audio"]).resolve() == (corpus / "wavs" / f"{u.rel_path}.wav").resolve()


def test_a_folder_that_is_not_there_or_another_page_stops_before_writing(corpus, tmp_path, capsys):
    out = tmp_path / "page"
    assert review_main(["--corpus", str(corpus), "--durations", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "nowhere: duration folder not found" in capsys.readouterr().err and not out.exists()
    out.mkdir()
    (out / "index.html").write_text("<html>someone else's page</html>")
    assert review_main(["--corpus", str(corpus), "--durations", str(corpus), "--out", str(out)]) == 2
    assert "is not a review page" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "<html>someone else's page</html>"
