"""Bad input to the extraction CLI: one bad utterance is skipped and counted (exit 1, a failed summary row
naming it and the cause, nothing written for it, the others written); a run-level problem stops the run
(exit 2, a message, nothing written)."""

import csv
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_extract import REPO, run
from transformers import Wav2Vec2ForCTC

from aligner.corpus import mel_path, read_metadata
from aligner.ctc.vocab import build_processor
from aligner.durations import load_durations
from aligner.text import text_to_sequence

N_UTTERANCES = 4  # a copy of the demo corpus cut to its first lines keeps each run short
BAD = 1  # the metadata line (0-based) that each test breaks


@pytest.fixture()
def corpus(corpus: Path) -> Path:
    """The private copy of the demo corpus, cut to its first N_UTTERANCES utterances."""
    lines = (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()
    (corpus / "metadata.csv").write_text("\n".join(lines[:N_UTTERANCES]) + "\n", encoding="utf-8")
    return corpus


def metadata_lines(corpus: Path) -> list[str]:
    return (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()


def rel_paths(corpus: Path) -> list[str]:
    return [line.split("|")[0] for line in metadata_lines(corpus)]


def set_field(corpus: Path, index: int, value: str) -> None:
    """Replace field ``index`` (0 rel_path, 1 speaker, 2 language, 3 text) of the BAD line."""
    lines = metadata_lines(corpus)
    fields = lines[BAD].split("|", 3)
    fields[index] = value
    lines[BAD] = "|".join(fields)
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_english_text(corpus: Path, text: str) -> None:
    set_field(corpus, 2, "en-us")
    set_field(corpus, 3, text)


def wav_of(corpus: Path, rel_path: str) -> Path:
    return next(u.wav for u in read_metadata(corpus) if u.rel_path == rel_path)


def bad_wav(corpus: Path) -> Path:
    return wav_of(corpus, rel_paths(corpus)[BAD])


def bad_mel(corpus: Path) -> Path:
    return mel_path(corpus, rel_paths(corpus)[BAD])


def rewrite_wav(corpus: Path, change: Callable[[np.ndarray], np.ndarray], rate: int = 24000) -> None:
    """Write the BAD wav again as ``change(samples)`` at ``rate``."""
    audio, _ = sf.read(bad_wav(corpus), dtype="float32")
    sf.write(bad_wav(corpus), change(audio), rate, subtype="FLOAT")


def rewrite_mel(corpus: Path, change: Callable[[np.ndarray], np.ndarray]) -> None:
    np.save(bad_mel(corpus), change(np.load(bad_mel(corpus))))


def with_value(value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(mel: np.ndarray) -> np.ndarray:
        mel = mel.copy()
        mel[3, 5] = value
        return mel

    return change


def truncate(path: Path) -> None:
    """Keep the wav's header and the first half of its data, as a copy cut short would."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def written(out_dir: Path) -> set[str]:
    return {p.relative_to(out_dir).with_suffix("").as_posix() for p in out_dir.rglob("*.pt")}


def summary(out_dir: Path) -> dict[str, dict]:
    with open(out_dir / "alignment_summary.csv", newline="", encoding="utf-8") as handle:
        return {row["rel_path"]: row for row in csv.DictReader(handle)}


def assert_skipped(out: str, out_dir: Path, key: str, causes: list[str], expected: set[str]) -> None:
    """``key`` failed for ``causes`` (in the report and the summary), exactly ``expected`` was written."""
    failures = [line for line in out.splitlines() if line.startswith(f"  failed {key}: ")]
    assert len(failures) == 1, out
    assert all(cause in failures[0] for cause in causes), failures[0]
    assert f"{len(expected)} written" in out and "1 failed" in out
    rows = summary(out_dir)
    assert rows[key]["status"] == "failed" and all(cause in rows[key]["message"] for cause in causes)
    assert set(rows) == expected | {key} and {k for k, row in rows.items() if row["status"] == "ok"} == expected
    assert written(out_dir) == expected
    assert not list(out_dir.rglob("*.tmp")) and not list(out_dir.glob(".*part*"))


LONG_TEXT = " ".join(["The match will be cancelled unless it stops raining soon."] * 12)

# name -> (break the BAD utterance, causes its message must give; {wav} and {mel} name its files)
SKIPPED = {
    "empty text": (lambda c: set_field(c, 3, "   "), ["metadata.csv:2", "empty text"]),
    "text without phonemes": (lambda c: set_field(c, 3, "..."), ["'...' gives no phonemes"]),
    "a number espeak reads as two sentences": (
        lambda c: set_english_text(c, "In 1984 he paid $2,022 for 3.5 kg."),
        ["'In 1984 he paid $2,022 for 3.5 kg.'", "read the text as 2 sentences", "write the numbers as words"],
    ),
    "letters of another script": (
        lambda c: set_english_text(c, "hello \u0d28 world"),
        ["'\u0d28' (MALAYALAM LETTER NA)", "en-us voice does not read"],
    ),
    "unknown language": (lambda c: set_field(c, 2, "xx-zz"), ["unknown language 'xx-zz'"]),
    "all-zero audio": (lambda c: rewrite_wav(c, np.zeros_like), ["{wav}", "silent"]),
    "audio below 1e-4": (lambda c: rewrite_wav(c, lambda a: 5e-5 * a / np.abs(a).max()), ["{wav}", "silent"]),
    "audio too short for its tokens": (lambda c: set_field(c, 3, LONG_TEXT), ["audio too short for its tokens"]),
    "22.05 kHz wav": (
        lambda c: rewrite_wav(c, lambda a: a[: len(a) * 147 // 160], rate=22050),
        ["{wav}", "sample rate 22050 Hz, but the corpus is at 24000 Hz (the rate of"],
    ),
    "stereo wav": (lambda c: rewrite_wav(c, lambda a: np.stack([a, a], axis=1)), ["{wav}", "2 channels"]),
    "truncated wav": (lambda c: truncate(bad_wav(c)), ["{wav}", "truncated wav"]),
    "NaN in the mel": (lambda c: rewrite_mel(c, with_value(np.nan)), ["{mel}", "NaN or infinite"]),
    "inf in the mel": (lambda c: rewrite_mel(c, with_value(-np.inf)), ["{mel}", "NaN or infinite"]),
    "mel frames x 80": (lambda c: rewrite_mel(c, lambda m: m.T.copy()), ["{mel}", "has 80 frames", "not of this wav"]),
    "1-D mel": (lambda c: rewrite_mel(c, lambda m: m[0]), ["{mel}", "not bands x frames"]),
    "mel not a .npy": (lambda c: bad_mel(c).write_bytes(b"not an array"), ["cannot read the mel {mel}"]),
}


@pytest.mark.parametrize("name", SKIPPED)
def test_a_bad_utterance_is_skipped_and_counted_by_name(corpus, checkpoint, capsys, name):
    breaker, causes = SKIPPED[name]
    key = rel_paths(corpus)[BAD]
    files = {"wav": str(bad_wav(corpus)), "mel": str(bad_mel(corpus))}
    breaker(corpus)
    assert run(corpus, checkpoint) == 1
    others = set(rel_paths(corpus)) - {key}
    assert_skipped(capsys.readouterr().out, corpus / "durations", key, [c.format(**files) for c in causes], others)


def test_silence_is_refused_by_the_asrcnn_backend_too(corpus, asr_checkpoint, capsys):
    rewrite_wav(corpus, np.zeros_like)
    config = REPO / "aligner/asrcnn/demo.yml"
    assert run(corpus, asr_checkpoint, "--aligner", "asrcnn", "--asr-config", str(config)) == 1
    key = rel_paths(corpus)[BAD]
    others = set(rel_paths(corpus)) - {key}
    assert_skipped(capsys.readouterr().out, corpus / "durations", key, [str(bad_wav(corpus)), "silent"], others)


def test_a_mel_must_have_floor_or_one_more_frame_than_its_wav_gives(corpus, checkpoint, capsys):
    key, near = rel_paths(corpus)[BAD], rel_paths(corpus)[BAD + 1]
    n_mel = np.load(mel_path(corpus, key)).shape[1]
    rewrite_wav(corpus, lambda a: a[: len(a) - 2 * 256])  # two frames shorter than its mel
    audio, _ = sf.read(wav_of(corpus, near), dtype="float32")
    sf.write(wav_of(corpus, near), audio[:-256], 24000)  # one frame shorter: the mel is a center=True one, fine
    samples = sf.info(str(bad_wav(corpus))).frames
    assert run(corpus, checkpoint) == 1
    causes = [str(bad_mel(corpus)), f"has {n_mel} frames", f"{samples} samples", f"= {samples // 256} (center=False)"]
    assert samples // 256 == n_mel - 2
    assert_skipped(capsys.readouterr().out, corpus / "durations", key, causes, set(rel_paths(corpus)) - {key})


def replace_line(corpus: Path, index: int, raw: bytes) -> None:
    lines = (corpus / "metadata.csv").read_bytes().splitlines()
    lines[index] = raw
    (corpus / "metadata.csv").write_bytes(b"\n".join(lines) + b"\n")


def repeat_first_line(corpus: Path) -> None:
    first = metadata_lines(corpus)[0].split("|")
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("|".join([*first[:3], "Another text for the same file."]) + "\n")


@pytest.mark.parametrize(
    "breaker, key, causes, loses_bad",
    [
        (lambda c: replace_line(c, BAD, b"5/0099|0|en-us"), "metadata.csv:2", ["expected 4 fields"], True),
        (lambda c: replace_line(c, BAD, b"5/0099|x|en-us|Hi."), "5/0099", ["metadata.csv:2", "speaker id 'x'"], True),
        (lambda c: replace_line(c, BAD, b"5/0099|0|fr-fr|caf\xe9"), "metadata.csv:2", ["not valid UTF-8"], True),
        (lambda c: replace_line(c, BAD, b"/abs|0|en-us|Hello."), "metadata.csv:2", ["inside the corpus"], True),
        (repeat_first_line, f"metadata.csv:{N_UTTERANCES + 1}", ["repeats line 1"], False),
    ],
    ids=["field count", "speaker id", "not UTF-8", "absolute rel_path", "repeated rel_path"],
)
def test_a_bad_metadata_line_is_a_failed_row(corpus, checkpoint, capsys, breaker, key, causes, loses_bad):
    expected = set(rel_paths(corpus)) - ({rel_paths(corpus)[BAD]} if loses_bad else set())
    breaker(corpus)
    assert run(corpus, checkpoint) == 1
    assert_skipped(capsys.readouterr().out, corpus / "durations", key, causes, expected)


def test_fixed_metadata_line_leaves_no_stale_row(corpus, checkpoint, capsys):
    original = (corpus / "metadata.csv").read_bytes()
    replace_line(corpus, BAD, b"5/0099|0|en-us")
    assert run(corpus, checkpoint) == 1
    (corpus / "metadata.csv").write_bytes(original)
    assert run(corpus, checkpoint) == 0
    rows = summary(corpus / "durations")
    assert set(rows) == set(rel_paths(corpus)) and {row["status"] for row in rows.values()} == {"ok"}
    assert "1 written, 3 already there, 0 failed" in capsys.readouterr().out


def assert_stopped(err: str, *causes: str) -> None:
    assert all(cause in err for cause in causes), err


def test_output_folder_below_a_file_stops_the_run(corpus, checkpoint, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert run(corpus, checkpoint, "--out-dir", str(blocker / "durations")) == 2
    assert_stopped(capsys.readouterr().err, f"output folder {blocker / 'durations'} is not writable")
    assert blocker.read_text() == "not a folder" and not list(tmp_path.rglob("*.pt"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_stops_the_run(corpus, checkpoint, tmp_path, capsys):
    out_dir = tmp_path / "read-only"
    out_dir.mkdir(mode=0o500)
    try:
        assert run(corpus, checkpoint, "--out-dir", str(out_dir)) == 2
    finally:
        out_dir.chmod(0o700)
    assert_stopped(capsys.readouterr().err, f"output folder {out_dir} is not writable")
    assert not list(out_dir.iterdir())


def test_incomplete_checkpoint_stops_the_run(corpus, checkpoint, tmp_path, capsys):
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    shutil.copy(checkpoint / "config.json", incomplete)
    assert run(corpus, incomplete) == 2
    assert_stopped(capsys.readouterr().err, str(incomplete), "no model weights")
    assert not (corpus / "durations").exists()


def test_checkpoint_of_another_vocabulary_stops_the_run(corpus, checkpoint, tmp_path, capsys):
    foreign = tmp_path / "foreign"
    Wav2Vec2ForCTC.from_pretrained(checkpoint, vocab_size=300, ignore_mismatched_sizes=True).save_pretrained(foreign)
    build_processor().save_pretrained(foreign)
    assert run(corpus, foreign) == 2
    assert_stopped(capsys.readouterr().err, str(foreign), "CTC head has 300 outputs", "195 symbols")
    assert not (corpus / "durations").exists()


def test_a_checkpoint_without_a_row_for_a_symbol_stops_naming_it(corpus, checkpoint, tmp_path, capsys):
    older = tmp_path / "older"  # a head over the first 100 symbols: it has no row for the IPA letters
    Wav2Vec2ForCTC.from_pretrained(checkpoint, vocab_size=100, ignore_mismatched_sizes=True).save_pretrained(older)
    build_processor().save_pretrained(older)
    (older / "vocab.json").unlink()  # its vocabulary: the first 100 symbols (none moved)
    assert run(corpus, older, "--method", "mel") == 2
    err = capsys.readouterr().err
    assert_stopped(err, "has no row in the Wav2Vec2 aligner's CTC head", "knows the first 100 symbols", "train it")
    assert not (corpus / "durations").exists()


def test_an_utterance_whose_text_was_edited_is_redone_by_the_next_run(corpus, checkpoint, capsys):
    assert run(corpus, checkpoint) == 0
    capsys.readouterr()
    set_english_text(corpus, "The cat sat on the mat.")  # a text fixed after the check named it
    edited = rel_paths(corpus)[BAD]
    assert run(corpus, checkpoint) == 0
    captured = capsys.readouterr()
    assert "1 utterance(s) redone: their tokens changed" in captured.err
    assert f"1 written, {N_UTTERANCES - 1} already there" in captured.out
    ids, _ = text_to_sequence("The cat sat on the mat.", "en-us", add_blank=True)
    assert len(load_durations(corpus / "durations" / f"{edited}.pt")) == len(ids)
    assert run(corpus, checkpoint) == 0 and f"0 written, {N_UTTERANCES} already there" in capsys.readouterr().out
