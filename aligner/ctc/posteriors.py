"""Wav2Vec2 CTC log-posteriors of audio: one [frames, symbols] matrix per utterance, 20 ms frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

from aligner.text import symbol_to_id, symbols

DEFAULT_CHECKPOINT = "outputs/aligner/tiny"
WINDOWS_PER_PASS = 8  # windows of one long utterance per forward pass: faster than one by one, bounded memory
TRAIN_HINT = (
    "train one with:  python -m aligner.train /path/to/matcha-aligner/configs/aligner/tiny.yaml --corpus CORPUS "
    "(docs/training.md)"
)


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete or not over Matcha's symbols."""


def load_aligner(
    checkpoint: str | Path, device: torch.device | str = "cpu"
) -> tuple[Wav2Vec2ForCTC, Wav2Vec2FeatureExtractor]:
    """Load a trained aligner (model + feature extractor) from a folder or hub id, in eval mode."""
    folder = Path(checkpoint)
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise CheckpointError(f"no aligner checkpoint in {folder} (config.json missing); {TRAIN_HINT}")
        if not any((folder / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")):
            raise CheckpointError(f"{folder}: no model weights (incomplete checkpoint); {TRAIN_HINT}")
    try:
        model = Wav2Vec2ForCTC.from_pretrained(checkpoint)
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(checkpoint)
    except OSError as error:
        raise CheckpointError(
            f"no aligner at {checkpoint} (not a folder here, and not loadable from the hub); {TRAIN_HINT}"
        ) from error
    if model.config.vocab_size > len(symbols) or model.config.pad_token_id != 0:
        raise CheckpointError(
            f"{checkpoint}: CTC head has {model.config.vocab_size} outputs (pad {model.config.pad_token_id}); "
            f"an aligner over at most the {len(symbols)} symbols of aligner.text.symbols with blank 0 is needed; "
            f"{TRAIN_HINT}"
        )
    check_vocabulary(folder / "vocab.json", checkpoint)
    return model.to(device).eval(), extractor


def check_vocabulary(vocab_file: Path, checkpoint: str | Path) -> None:
    """``CheckpointError`` when the checkpoint's ``vocab.json`` gives a symbol another row than
    ``aligner.text.symbols`` does (rows are looked up by symbol); nothing to check without the file."""
    if not vocab_file.is_file():
        return
    vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    moved = {s: i for s, i in vocab.items() if s in symbol_to_id and symbol_to_id[s] != i and symbols[i] != s}
    if moved:
        raise CheckpointError(
            f"{checkpoint}: its vocabulary puts symbols on other rows than aligner.text.symbols "
            f"({dict(list(moved.items())[:5])}); {TRAIN_HINT}"
        )


def head_symbols(model: Wav2Vec2ForCTC) -> int:
    """How many symbols the CTC head has rows for: ``aligner.text.symbols[:n]``."""
    return int(model.config.vocab_size)


@torch.inference_mode()
def log_posteriors(
    model: Wav2Vec2ForCTC,
    extractor: Wav2Vec2FeatureExtractor,
    audios: list[np.ndarray],
    chunk_seconds: float = 30.0,
    context_seconds: float = 2.0,
) -> list[torch.Tensor]:
    """Log-softmax CTC posteriors [frames, symbols] (float32, on the model's device) of each 16 kHz
    normalised audio, ``model._get_feat_extract_output_lengths(len(audio))`` frames each.

    Each audio runs in forward passes of its own, never padded beside others: zero padding changes every
    frame of a model whose feature encoder normalises over time (``feat_extract_norm: group``, GroupNorm
    in the first conv layer, as in tiny.yaml, which takes no attention mask), and even a masked batch
    need not give the same bits as the utterance alone. So an utterance's posteriors depend on that
    utterance only: the same whatever the batch size and however a corpus is split between processes.

    An audio longer than one window (``chunk_seconds`` plus ``context_seconds`` on both sides) is cut into
    chunks of whole CTC frames; its windows (all of the same length: no padding) run ``WINDOWS_PER_PASS``
    per forward pass, a grouping set by the audio's length alone, and only each chunk's own frames are
    kept, so the model's memory depends on ``chunk_seconds``, not on the utterance.
    """
    hop, field = frame_geometry(model)
    chunk = max(1, round(chunk_seconds * extractor.sampling_rate / hop))
    context = max(0, round(context_seconds * extractor.sampling_rate / hop))
    width = chunk + 2 * context
    results = []
    for audio in audios:
        samples = torch.from_numpy(audio).to(model.device)
        n_frames = int(model._get_feat_extract_output_lengths(torch.tensor(len(audio))))
        if n_frames <= width:
            results.append(torch.log_softmax(model(samples[None]).logits.float(), dim=-1)[0, :n_frames])
            continue
        n_samples = hop * (width - 1) + field
        windows = chunk_windows(n_frames, chunk, context)
        pieces = []
        for offset in range(0, len(windows), WINDOWS_PER_PASS):
            group = windows[offset : offset + WINDOWS_PER_PASS]
            batch = torch.stack([samples[hop * start : hop * start + n_samples] for start, _, _ in group])
            log_probs = torch.log_softmax(model(batch).logits.float(), dim=-1)
            pieces += [log_probs[row, first - start : end - start] for row, (start, first, end) in enumerate(group)]
        results.append(torch.cat(pieces))
    return results


def frame_geometry(model: Wav2Vec2ForCTC) -> tuple[int, int]:
    """(hop, receptive field) of the feature encoder in samples: CTC frame i reads samples
    [hop * i, hop * i + field) (320 and 400 for the standard Wav2Vec2 encoder)."""
    hop, field = 1, 1
    for kernel, stride in zip(model.config.conv_kernel, model.config.conv_stride, strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return hop, field


def chunk_windows(n_frames: int, chunk: int, context: int) -> list[tuple[int, int, int]]:
    """(window start, chunk start, chunk end) in frames for each chunk of ``chunk`` frames of an
    ``n_frames`` output (``n_frames >= chunk + 2 * context``): every window is ``chunk + 2 * context`` frames,
    with ``context`` frames on each side of its chunk, shifted inwards at the ends of the audio."""
    width = chunk + 2 * context
    windows = []
    for first in range(0, n_frames, chunk):
        start = min(max(first - context, 0), n_frames - width)
        windows.append((start, first, min(first + chunk, n_frames)))
    return windows
