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
    model: Wav2Vec2ForCTC, extractor: Wav2Vec2FeatureExtractor, audios: list[np.ndarray]
) -> list[torch.Tensor]:
    """Log-softmax CTC posteriors [frames, symbols] (float32, on the model's device) of each 16 kHz
    normalised audio; the batch is padded with 0 and masked when the model family takes a mask."""
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
