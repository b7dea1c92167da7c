"""StyleTTS2's ASRCNN: checkpoint compatibility, mel front end, durations contract, training."""

import collections
import json
import os
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch
import yaml

from aligner.asrcnn.align import STYLETTS2_PAD_SAMPLES, asrcnn_align, attention_matrices, matcha_spans
from aligner.asrcnn.checkpoint import (
    DEFAULT_CONFIG,
    ASRCheckpointError,
    build_asrcnn,
    load_asrcnn,
    read_config,
    save_checkpoint,
)
from aligner.asrcnn.convert import convert_checkpoint
from aligner.asrcnn.data import ASRDataset, collate, prepare_examples
from aligner.asrcnn.layers import dct_matrix
from aligner.asrcnn.mel import asr_mel
from aligner.asrcnn.train import compute_losses, diagonal_penalty, train
from aligner.audio import load_wav
from aligner.corpus import Corpus, mel_path, read_metadata
from aligner.search.mas import Alignment, AlignmentError
from aligner.text import UnknownSymbolError, symbol_to_id, text_to_sequence
from aligner.text.frontend import builtin_frontend

# Names and shapes of StyleTTS2's state dict (copy of the reference styletts2-asrcnn-state.json).
STATE_JSON = Path(__file__).parent / "data" / "styletts2_state_shapes.json"
MEL_SECONDS = 256 / 24000  # the demo corpus's Matcha grid
TINY = {"input_dim": 80, "hidden_dim": 16, "n_token": 180, "n_layers": 1, "token_embedding_dim": 16}


@pytest.fixture()
def tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny.yml"
    config = {"epochs": 1, "batch_size": 8, "save_freq": 1, "seed": 0, "guided_attention": 1.0, "model_params": TINY}
    path.write_text(yaml.safe_dump(config | {"optimizer_params": {"lr": 0.003}}))
    return path


def test_state_dict_is_styletts2s():
    shapes = json.loads(STATE_JSON.read_text())["tensors"]
    model = build_asrcnn(read_config(DEFAULT_CONFIG))
    assert {name: list(t.shape) for name, t in model.state_dict().items()} == shapes
    foreign = {name: torch.randn(shape) for name, shape in shapes.items()}
    model.load_state_dict(foreign, strict=True)
    assert torch.equal(model.asr_s2s.embedding.weight, foreign["asr_s2s.embedding.weight"])
    assert model.n_down == 1


def test_dct_matrix_is_torchaudios():
    import torchaudio.functional

    assert torch.allclose(dct_matrix(40, 80), torchaudio.functional.create_dct(40, 80, "ortho"), atol=1e-5)


def test_checkpoint_round_trip(tmp_path, tiny_config):
    model = build_asrcnn(read_config(tiny_config))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=10, pct_start=0.0)
    path = tmp_path / "epoch_00003.pth"
    save_checkpoint(path, model, optimizer, scheduler, steps=30, epochs=3)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert set(raw) == {"model", "optimizer", "scheduler", "steps", "epochs"} and raw["epochs"] == 3
    loaded = load_asrcnn(path, tiny_config)
    assert not loaded.training
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    with pytest.raises(ASRCheckpointError, match="does not fit"):
        load_asrcnn(path, DEFAULT_CONFIG)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_checkpoint_refused_then_converted_without_running_code(tmp_path, tiny_config):
    model = build_asrcnn(read_config(tiny_config))
    marker = tmp_path / "code_ran"
    source = tmp_path / "epoch_00080.pth"
    # Like StyleTTS2's file: Python objects beside the weights (a bound method, as old OneCycleLR stored).
    extra = {"anneal_func": collections.Counter().most_common, "evil": _RunsCode(marker)}
    torch.save({"model": model.state_dict(), "scheduler": extra, "steps": 1, "epochs": 80}, source)
    with pytest.raises(ASRCheckpointError, match=f"{source}.*needs pickle.*convert"):
        load_asrcnn(source, tiny_config)
    target = tmp_path / "converted.pth"
    assert convert_checkpoint(source, target) == len(model.state_dict())
    assert not marker.exists()
    loaded = load_asrcnn(target, tiny_config)
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )


def test_missing_checkpoint_says_how_to_train(tmp_path):
    with pytest.raises(ASRCheckpointError, match=r"python -m aligner\.asrcnn\.train --corpus"):
        load_asrcnn(tmp_path / "epoch_00080.pth")


def test_config_with_another_front_end_is_refused(tmp_path):
    config = read_config(DEFAULT_CONFIG)
    config["preprocess_parasm"]["spect_params"]["hop_length"] = 256
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ASRCheckpointError, match="hop_length"):
        read_config(path)


def test_eval_is_deterministic_training_is_not():
    torch.manual_seed(0)
    model = build_asrcnn({"model_params": TINY}).eval()
    mels, mask = torch.randn(2, 80, 60), torch.zeros(2, 30, dtype=torch.bool)
    mask[1, 20:] = True
    text = torch.randint(4, 170, (2, 12))
    first, second = model(mels, mask, text), model(mels, mask, text)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert torch.all(first[2][1, :, 20:] == 0)  # no attention on padded frames
    model.train()
    assert not torch.equal(model(mels, mask, text)[1], model(mels, mask, text)[1])


def test_mel_front_end_is_styletts2s():
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(24300)).astype(np.float32)
    mel = asr_mel(audio).numpy()
    # Independent: librosa STFT (centred, reflect), power, HTK filterbank built for 16 kHz, no norm.
    power = np.abs(librosa.stft(audio, n_fft=2048, hop_length=300, win_length=1200, pad_mode="reflect")) ** 2
    bank = librosa.filters.mel(sr=16000, n_fft=2048, n_mels=80, fmin=0.0, fmax=8000.0, htk=True, norm=None)
    expected = (np.log(1e-5 + bank @ power) + 4) / 4
    assert expected.shape[1] == 82 and mel.shape == (80, 82)
    np.testing.assert_allclose(mel, expected, atol=2e-4)
    assert asr_mel(audio[:24000]).shape == (80, 80)  # 81 frames trimmed to even


def _demo_batch(corpus: Path, add_blank: bool, n: int = 3):
    utterances = read_metadata(corpus)[:n]
    wavs = [load_wav(u.wav, 24000) for u in utterances]
    ids = [text_to_sequence(u.text, u.language, add_blank)[0] for u in utterances]
    frames = [int(np.load(mel_path(corpus, u.rel_path)).shape[1]) for u in utterances]
    return wavs, ids, frames


@pytest.mark.parametrize(
    ("add_blank", "blank_share", "pad", "rows"),
    [(True, 0.0, 0, "styletts2"), (True, 0.25, 0, "predicting"), (False, 0.0, STYLETTS2_PAD_SAMPLES, "styletts2")],
)
def test_durations_meet_the_contract(demo_corpus, add_blank, blank_share, pad, rows):
    torch.manual_seed(0)
    model = build_asrcnn({"model_params": TINY}).eval()
    wavs, ids, frames = _demo_batch(demo_corpus, add_blank)
    results = asrcnn_align(model, wavs, ids, frames, MEL_SECONDS, add_blank, blank_share, pad, rows)
    for result, token_ids, n_frames in zip(results, ids, frames, strict=True):
        assert isinstance(result, Alignment)
        assert len(result.durations) == len(token_ids) and result.durations.dtype == torch.int64
        assert int(result.durations.min()) >= 1 and int(result.durations.sum()) == n_frames
        assert np.isfinite(result.mean_log_prob) and 0 <= result.min_share <= 1


def test_short_audio_and_uncovered_symbols(demo_corpus):
    model = build_asrcnn({"model_params": TINY | {"n_token": 178}}).eval()
    wavs, ids, frames = _demo_batch(demo_corpus, True, n=2)
    results = asrcnn_align(model, [wavs[0], wavs[1][:2400]], ids, frames, MEL_SECONDS, True)
    assert isinstance(results[0], Alignment)
    assert isinstance(results[1], AlignmentError) and "too short" in str(results[1])
    tilde = symbol_to_id["\u0303"]
    with pytest.raises(UnknownSymbolError, match="U\\+0303"):
        asrcnn_align(model, wavs[:1], [[0, tilde, 0]], frames[:1], MEL_SECONDS, True)


def test_attention_rows_are_one_decoder_step_apart():
    torch.manual_seed(0)
    model = build_asrcnn({"model_params": TINY}).eval()
    mels, lengths = torch.randn(1, 80, 40), torch.tensor([40])
    styletts2 = attention_matrices(model, mels, lengths, [[0, 50, 60, 0]], "styletts2")[0]
    predicting = attention_matrices(model, mels, lengths, [[0, 50, 60, 0]], "predicting")[0]
    assert styletts2.shape == predicting.shape == (4, 20)
    assert torch.equal(styletts2[:-1], predicting[1:])


def test_diagonal_penalty_is_low_on_the_diagonal():
    diagonal = torch.eye(10).repeat_interleave(3, dim=1)[None] / 3  # 10 tokens, 3 frames each
    lengths, frames = torch.tensor([10]), torch.tensor([30])
    assert diagonal_penalty(diagonal, lengths, frames) < 0.05 < diagonal_penalty(diagonal.flip(1), lengths, frames)


def test_blanks_land_on_boundaries_and_pads():
    starts, ends = np.array([0.0, 0.2, 0.5, 0.9]), np.array([0.2, 0.5, 0.9, 1.0])  # pad, a, b, pad
    points = matcha_spans(starts, ends, add_blank=True)
    np.testing.assert_allclose(points[0], [0.0, 0.2, 0.5, 0.5, 0.9])
    np.testing.assert_allclose(points[1], [0.2, 0.5, 0.5, 0.9, 1.0])
    shared = matcha_spans(starts, ends, add_blank=True, blank_share=0.25)  # 0.25 x 0.3 s each side of 0.5 s
    np.testing.assert_allclose(shared[0], [0.0, 0.2, 0.425, 0.575, 0.9])
    np.testing.assert_allclose(shared[1], [0.2, 0.425, 0.575, 0.9, 1.0])
    without = matcha_spans(starts, ends, add_blank=False)
    np.testing.assert_allclose(without[0], [0.0, 0.5])
    np.testing.assert_allclose(without[1], [0.5, 1.0])


def test_a_few_steps_reduce_the_loss(demo_corpus, tmp_path):
    torch.manual_seed(0)
    examples, _ = prepare_examples(Corpus.open(demo_corpus), 180, builtin_frontend())
    batch = collate([ASRDataset(examples[:4], tmp_path / "asr_mels")[i] for i in range(4)])
    assert (tmp_path / "asr_mels" / f"{examples[0].rel_path}.npy").is_file()
    assert not (demo_corpus / "asr_mels").exists()
    model = build_asrcnn({"model_params": TINY})
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        loss = compute_losses(model, batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_train_writes_styletts2_checkpoints_and_resumes(demo_corpus, tmp_path, tiny_config):
    out, cache = tmp_path / "run", tmp_path / "asr_mels"
    first = train(demo_corpus, tiny_config, out, epochs=1, cpu=True, mel_cache=cache, progress=False)
    assert first == out / "epoch_00001.pth" and (out / "config.yml").is_file()
    with pytest.raises(ASRCheckpointError, match="--resume"):
        train(demo_corpus, tiny_config, out, epochs=2, cpu=True, mel_cache=cache, progress=False)
    second = train(demo_corpus, tiny_config, out, epochs=2, resume=True, cpu=True, mel_cache=cache, progress=False)
    one, two = (torch.load(p, weights_only=True) for p in (first, second))
    assert (one["epochs"], two["epochs"]) == (1, 2) and two["steps"] == 2 * one["steps"] > 0
    assert two["scheduler"]["total_steps"] == two["steps"]
    load_asrcnn(second, out / "config.yml")
