"""Wav2Vec2 CTC log-posteriors of audio: one [frames, symbols] matrix per utterance, 20 ms frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

from matcha.text import symbols

DEFAULT_CHECKPOINT = "outputs/aligner/tiny"
TRAIN_HINT = "train one with:  accelerate launch aligner/train.py configs/aligner/tiny.yaml  (see README, Training)"


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
    if model.config.vocab_size != len(symbols) or model.config.pad_token_id != 0:
        raise CheckpointError(
            f"{checkpoint}: CTC head has {model.config.vocab_size} outputs (pad {model.config.pad_token_id}); "
            f"an aligner over Matcha's {len(symbols)} symbols with blank 0 is needed; {TRAIN_HINT}"
        )
    return model.to(device).eval(), extractor


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

    An audio longer than one window (``chunk_seconds`` plus ``context_seconds`` on both sides) is cut into
    chunks of whole CTC frames; each chunk runs with its context, at most ``len(audios)`` windows per
    forward pass, and only the chunk's own frames are kept, so the model's memory depends on
    ``chunk_seconds``, not on the utterance. Shorter audios run together in one pass, padded with 0 and
    masked when the model family takes a mask.
    """
    hop, _ = frame_geometry(model)
    chunk = max(1, round(chunk_seconds * extractor.sampling_rate / hop))
    context = max(0, round(context_seconds * extractor.sampling_rate / hop))
    frames = model._get_feat_extract_output_lengths(torch.tensor([len(a) for a in audios])).tolist()
    long = [i for i, n in enumerate(frames) if n > chunk + 2 * context]
    short = [i for i, n in enumerate(frames) if n <= chunk + 2 * context]
    results: dict[int, torch.Tensor] = {}
    if short:
        results.update(zip(short, padded_posteriors(model, extractor, [audios[i] for i in short]), strict=True))
    if long:
        long_audios = [audios[i] for i in long]
        results.update(zip(long, chunked_posteriors(model, long_audios, chunk, context, len(audios)), strict=True))
    return [results[i] for i in range(len(audios))]


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


def padded_posteriors(
    model: Wav2Vec2ForCTC, extractor: Wav2Vec2FeatureExtractor, audios: list[np.ndarray]
) -> list[torch.Tensor]:
    """Log-posteriors of ``audios`` in one forward pass, padded with 0 (masked if the extractor says so)."""
    device = model.device
    lengths = torch.tensor([len(a) for a in audios])
    batch = torch.zeros(len(audios), int(lengths.max()))
    for row, audio in enumerate(audios):
        batch[row, : len(audio)] = torch.from_numpy(audio)
    mask = None
    if extractor.return_attention_mask:
        mask = (torch.arange(batch.shape[1])[None, :] < lengths[:, None]).long().to(device)
    logits = model(batch.to(device), attention_mask=mask).logits.float()
    frames = model._get_feat_extract_output_lengths(lengths).tolist()
    log_probs = torch.log_softmax(logits, dim=-1)
    return [log_probs[row, : int(n)] for row, n in enumerate(frames)]


def chunked_posteriors(
    model: Wav2Vec2ForCTC, audios: list[np.ndarray], chunk: int, context: int, windows_per_pass: int
) -> list[torch.Tensor]:
    """Log-posteriors of audios longer than one window, stitched from the chunks of ``chunk_windows``.

    All windows have the same number of samples, so they are batched without padding or mask."""
    hop, field = frame_geometry(model)
    width = chunk + 2 * context
    n_samples = hop * (width - 1) + field
    frames = model._get_feat_extract_output_lengths(torch.tensor([len(a) for a in audios])).tolist()
    outputs = [torch.empty(int(n), model.config.vocab_size, device=model.device) for n in frames]
    pieces = [
        (index, torch.from_numpy(audio[hop * start : hop * start + n_samples]), start, first, end)
        for index, audio in enumerate(audios)
        for start, first, end in chunk_windows(int(frames[index]), chunk, context)
    ]
    for offset in range(0, len(pieces), windows_per_pass):
        group = pieces[offset : offset + windows_per_pass]
        batch = torch.stack([samples for _, samples, *_ in group]).to(model.device)
        log_probs = torch.log_softmax(model(batch).logits.float(), dim=-1)
        for row, (index, _, start, first, end) in enumerate(group):
            outputs[index][first:end] = log_probs[row, first - start : end - start]
    return outputs
