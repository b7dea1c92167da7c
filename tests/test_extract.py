"""Duration extraction end to end on the demo corpus, with a small untrained aligner saved locally."""

import csv
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aligner.audio import load_wav
from aligner.corpus import mel_path, read_metadata
from aligner.ctc.input import model_input
from aligner.ctc.posteriors import load_aligner, log_posteriors
from aligner.durations import load_durations
from aligner.extract.methods import align
from aligner.search.mas import batched_mas
from aligner.search.scores import score_matrix, to_frame_grid
from aligner.text import SPACE_ID, symbol_to_id, text_to_sequence
from aligner.words import text_words
from matcha.utils.extract_durations import main

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 24000  # the demo corpus's


def run(corpus: Path, checkpoint: Path, *extra: str) -> int:
    return main(["--corpus", str(corpus), "--checkpoint", str(checkpoint), "--device", "cpu", *extra])


def test_every_file_meets_matchas_contract_and_reruns_skip(corpus, checkpoint, capsys):
    assert run(corpus, checkpoint, "--textgrid") == 0
    for utterance in read_metadata(corpus):
        durations = load_durations(corpus / "durations" / f"{utterance.rel_path}.pt")
        ids, _ = text_to_sequence(utterance.text, utterance.language, add_blank=True)
        assert len(durations) == len(ids) and durations.min() >= 1
        assert durations.sum() == np.load(mel_path(corpus, utterance.rel_path)).shape[1]
        assert (corpus / "textgrids" / f"{utterance.rel_path}.TextGrid").read_text().count('name = "words"') == 1
    with open(corpus / "durations" / "alignment_summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16 and {r["status"] for r in rows} == {"ok"}
    texts = {u.rel_path: text_words(u.text) for u in read_metadata(corpus)}
    for row in rows:  # every utterance checked: a score and, above 0, a word of its text (or a gap) and a span
        assert float(row["transcript_score"]) >= 0
        if float(row["transcript_score"]) == 0:
            assert row["suspect_word"] == row["suspect_start"] == row["suspect_end"] == ""
            continue
        named = row["suspect_word"].removeprefix("+")
        assert named == "" and row["suspect_word"] == "+" or named in " ".join(texts[row["rel_path"]])
        assert 0 <= float(row["suspect_start"]) <= float(row["suspect_end"])
    out = capsys.readouterr().out
    assert "16 written" in out and "transcript check: " in out
    assert run(corpus, checkpoint) == 0
    assert "0 written, 16 already there" in capsys.readouterr().out
    assert not list((corpus / "durations").rglob("*.tmp")) and not list((corpus / "durations").glob(".*part*"))


@pytest.mark.parametrize("method", ["acoustic", "ctc", "forced_align"])
def test_other_methods_and_upstream_npy_layout(corpus, checkpoint, method):
    assert run(corpus, checkpoint, "--method", method, "--format", "upstream-npy", "--no-add-blank") == 0
    for utterance in read_metadata(corpus):
        wav = corpus / "wavs" / f"{utterance.rel_path}.wav"
        durations = np.load(wav.parent.parent / "durations" / f"{wav.stem}.npy")  # upstream's get_durations
        ids, _ = text_to_sequence(utterance.text, utterance.language, add_blank=False)
        assert len(durations) == len(ids) and durations.min() >= 1
        assert durations.sum() == np.load(mel_path(corpus, utterance.rel_path)).shape[1]


def test_npy_format_writes_beside_the_filelists_where_a_forks_loader_reads(corpus, checkpoint):
    assert run(corpus, checkpoint, "--format", "npy") == 0
    for utterance in read_metadata(corpus):
        durations = np.load(corpus / "durations" / f"{utterance.rel_path}.npy").astype(int)
        ids, _ = text_to_sequence(utterance.text, utterance.language)
        assert len(durations) == len(ids) and durations.min() >= 1
        assert durations.sum() == np.load(mel_path(corpus, utterance.rel_path)).shape[1]


def test_missing_mel_and_unknown_symbol_stop_the_run_by_name(corpus, checkpoint, capsys):
    first = read_metadata(corpus)[3].rel_path
    mel_path(corpus, first).unlink()
    assert run(corpus, checkpoint) == 2
    err = capsys.readouterr().err
    assert f"utterance {first}" in err and "mel" in err and "python -m aligner.mels --corpus" in err
    assert not (corpus / "durations").exists(), "nothing is written before the run can succeed"
    lines = (corpus / "metadata.csv").read_text().splitlines()
    lines[0] = lines[0].split("|")[0] + "|0|cmn|你好"  # espeak writes Mandarin tones as digits
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n")
    assert run(corpus, checkpoint) == 2
    assert "unknown symbol" in capsys.readouterr().err


def test_bad_audio_is_counted_and_the_exit_status_says_so(corpus, checkpoint, capsys):
    broken = read_metadata(corpus)[5].rel_path
    (corpus / "wavs" / f"{broken}.wav").write_bytes(b"RIFF garbage")
    assert run(corpus, checkpoint) == 1
    out = capsys.readouterr().out
    assert "15 written" in out and "1 failed" in out and broken in out
    assert not (corpus / "durations" / f"{broken}.pt").exists()


def test_missing_checkpoint_says_how_to_train_one(corpus, tmp_path, capsys):
    assert run(corpus, tmp_path / "nothing-here") == 2
    assert "python -m aligner.train /path/to/matcha-aligner/configs/aligner/tiny.yaml" in capsys.readouterr().err


def test_checkpoint_without_acoustic_stage_says_how_to_fit_one(corpus, checkpoint, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(checkpoint, bare)
    (bare / "acoustic_model.safetensors").unlink()
    assert run(corpus, bare) == 2
    err = capsys.readouterr().err
    assert "no acoustic stage" in err and "python -m aligner.acoustic.train" in err and "--method mel" in err
    assert not (corpus / "durations").exists()
    assert run(corpus, bare, "--method", "mel") == 0
    (bare / "alignment.json").unlink()
    shutil.copy(checkpoint / "acoustic_model.safetensors", bare)
    assert run(corpus, bare, "--overwrite") == 2
    assert "without its alignment.json" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_give_the_same_files_as_one(corpus, checkpoint, tmp_path):
    """Two real ranks on the CPU (gloo): each process says which it is, and they share the corpus."""
    assert run(corpus, checkpoint, "--out-dir", str(tmp_path / "one")) == 0
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()), "-m", "matcha.utils.extract_durations",
        "--corpus", str(corpus), "--checkpoint", str(checkpoint), "--device", "cpu", "--out-dir", str(tmp_path / "two"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "process 0 of 2: 8 utterances" in result.stderr and "process 1 of 2: 8 utterances" in result.stderr
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.pt"))
    two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.pt"))
    assert one == two and len(one) == 16
    for rel in one:
        assert torch.equal(load_durations(tmp_path / "one" / rel), load_durations(tmp_path / "two" / rel))
    assert (tmp_path / "two" / "alignment_summary.csv").read_text().count("\n") == 17


def test_batch_size_changes_no_byte_of_any_duration_file(corpus, checkpoint, tmp_path):
    """tiny.yaml's GroupNorm reads the whole input: padding an utterance beside longer ones would change it."""
    folders = {size: tmp_path / f"batch{size}" for size in (1, 8, 32)}
    for size, folder in folders.items():
        assert run(corpus, checkpoint, "--method", "mel", "--batch-size", str(size), "--out-dir", str(folder)) == 0
    files = sorted(p.relative_to(folders[1]) for p in folders[1].rglob("*.pt"))
    assert len(files) == 16
    for size, folder in folders.items():
        assert sorted(p.relative_to(folder) for p in folder.rglob("*.pt")) == files
        for rel in files:
            assert (folder / rel).read_bytes() == (folders[1] / rel).read_bytes(), f"{rel}, batch size {size}"


@pytest.mark.parametrize("chunk_seconds", [30.0, 1.0, 0.2])
def test_posteriors_of_an_utterance_do_not_depend_on_the_others(corpus, checkpoint, chunk_seconds):
    """The tiny.yaml model alone and beside others; chunk_seconds < 1 cuts each utterance into windows
    (0.2: more windows than one forward pass takes)."""
    model, extractor = load_aligner(checkpoint)
    wavs = [load_wav(corpus / "wavs" / f"{u.rel_path}.wav", SAMPLE_RATE) for u in read_metadata(corpus)[:6]]
    audios = [model_input(wav, SAMPLE_RATE, extractor) for wav in wavs]
    assert len({len(a) for a in audios}) == 6, "utterances of different lengths (padding in a shared batch)"
    together = log_posteriors(model, extractor, audios, chunk_seconds, 0.5)
    for audio, result in zip(audios, together, strict=True):
        assert torch.equal(result, log_posteriors(model, extractor, [audio], chunk_seconds, 0.5)[0])


def test_scores_use_the_blank_for_blanks_and_pauses():
    log_probs = torch.randn(7, 180).log_softmax(-1)
    ids = [0, symbol_to_id["a"], 0, SPACE_ID, 0]
    scores = score_matrix(log_probs, ids, pauses_as_blank=True)
    assert torch.equal(scores[3], log_probs[:, 0]) and torch.equal(scores[1], log_probs[:, symbol_to_id["a"]])
    assert torch.equal(score_matrix(log_probs, ids, pauses_as_blank=False)[3], log_probs[:, SPACE_ID])


def test_frame_grid_interpolates_at_frame_centres():
    scores = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    grid = to_frame_grid(scores, n_frames=4, frame_seconds=0.01, offset_seconds=0.005)
    torch.testing.assert_close(grid, torch.tensor([[0.0, 0.5, 1.0, 1.5]]))


def test_batched_mas_equals_one_by_one_and_too_short_is_reported():
    generator = torch.Generator().manual_seed(1)
    matrices = [torch.randn(k, f, generator=generator) for k, f in [(3, 9), (5, 6), (2, 2)]]
    batched = batched_mas(matrices)
    for matrix, durations in zip(matrices, batched, strict=True):
        assert torch.equal(durations, batched_mas([matrix])[0]) and durations.sum() == matrix.shape[1]
    results = align([torch.randn(4, 180).log_softmax(-1)], [[0, 20, 0, 21, 0]], [3], 0.02)
    assert "too short" in str(results[0])


def test_asrcnn_baseline_through_the_same_cli(corpus, asr_checkpoint, tmp_path, capsys):
    arguments = ["--aligner", "asrcnn", "--asr-config", str(REPO / "aligner/asrcnn/demo.yml")]
    assert run(corpus, asr_checkpoint, *arguments, "--out-dir", str(tmp_path / "asr")) == 0
    for utterance in read_metadata(corpus):
        durations = load_durations(tmp_path / "asr" / f"{utterance.rel_path}.pt")
        assert durations.min() >= 1 and durations.sum() == np.load(mel_path(corpus, utterance.rel_path)).shape[1]
    assert run(corpus, tmp_path / "missing.pth", *arguments) == 2
    assert "python -m aligner.asrcnn.train" in capsys.readouterr().err


def test_forced_align_needs_ctc_frames_for_its_targets_only():
    """7 Matcha tokens (3 phones) fit 6 CTC frames for forced_align, and get the 8 mel frames."""
    log_probs = torch.randn(6, 180, generator=torch.Generator().manual_seed(2)).log_softmax(-1)
    ids = [0, 20, 0, 21, 0, 22, 0]
    (result,) = align([log_probs], [ids], [8], 0.02, method="forced_align")
    assert result.durations.sum() == 8 and result.durations.min() >= 1 and np.isfinite(result.mean_log_prob)
    (too_short,) = align([log_probs], [ids], [8], 0.02, method="ctc")
    assert "too short" in str(too_short)


def test_a_data_yaml_with_hop_128_and_center_true_mels_of_100_bands(corpus, checkpoint, tmp_path):
    mels = tmp_path / "mels128"
    for utterance in read_metadata(corpus):  # stand-ins of a fork's hop-128 vocos mels: only T matters
        samples = len(load_wav(corpus / "wavs" / f"{utterance.rel_path}.wav", SAMPLE_RATE))
        (mels / utterance.rel_path).parent.mkdir(parents=True, exist_ok=True)
        np.save(mels / f"{utterance.rel_path}.npy", np.zeros((100, samples // 128 + 1), np.float32))
    config = tmp_path / "data.yaml"
    config.write_text(
        f"train_filelist_path: {corpus / 'metadata.csv'}\nmel_dir: {mels}\nsample_rate: 24000\nhop_length: 128\n"
        "add_blank: True\nn_feats: 100\n",
        encoding="utf-8",
    )
    assert main(["--data-config", str(config), "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    for utterance in read_metadata(corpus):
        durations = load_durations(corpus / "durations" / f"{utterance.rel_path}.pt")
        ids, _ = text_to_sequence(utterance.text, utterance.language)
        assert len(durations) == len(ids) and durations.min() >= 1
        assert durations.sum() == np.load(mels / f"{utterance.rel_path}.npy").shape[1]


def test_bad_lines_of_two_filelists_are_two_failed_rows_keyed_by_file_and_line(corpus, checkpoint, capsys):
    (corpus / "validate.csv").write_text("a line with no fields\n", encoding="utf-8")
    (corpus / "speakers.csv").write_text("speaker,name\n", encoding="utf-8")
    assert run(corpus, checkpoint) == 1
    with open(corpus / "durations" / "alignment_summary.csv", newline="", encoding="utf-8") as handle:
        failed = {row["rel_path"]: row["message"] for row in csv.DictReader(handle) if row["status"] == "failed"}
    assert set(failed) == {"validate.csv:1", "speakers.csv:1"}
    assert all("expected 4 fields" in message for message in failed.values())
