"""ASRCNN configs and checkpoints in StyleTTS2's / AuxiliaryASR's format.

A checkpoint is a ``torch.save``'d dict with keys ``model`` (the state dict), ``optimizer``,
``scheduler``, ``steps`` and ``epochs``; only ``model`` is needed to align. Files are read with
``torch.load(..., weights_only=True)``: one that needs pickle is refused, naming the file.
StyleTTS2's released checkpoints are such files (PyTorch >= 2.6 refuses them with "Unsupported global:
GLOBAL getattr", yl4579/StyleTTS2#348 and PR #361: older OneCycleLR state held a bound method);
``python -m aligner.asrcnn.convert`` copies the weights into a weights-only file without running any
of the file's code.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
import yaml

from aligner.asrcnn import mel
from aligner.asrcnn.models import ASRCNN
from aligner.audio import TTS_SAMPLE_RATE
from aligner.durations import atomic_write

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
DEFAULT_CHECKPOINT = Path(__file__).with_name("epoch_00080.pth")
TRAIN_COMMAND = "python -m aligner.asrcnn.train --corpus C"
_FRONT_END = {
    ("sr",): TTS_SAMPLE_RATE,
    ("spect_params", "n_fft"): mel.N_FFT,
    ("spect_params", "win_length"): mel.WIN_LENGTH,
    ("spect_params", "hop_length"): mel.HOP_LENGTH,
    ("mel_params", "n_mels"): mel.N_MELS,
}


class ASRCheckpointError(ValueError):
    """A config or checkpoint that is missing, unsafe to load or does not fit the model."""


def read_config(path: str | Path = DEFAULT_CONFIG) -> dict:
    """A StyleTTS2-style config with ``model_params``; a spectrogram setting other than mel.py's is refused."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ASRCheckpointError(f"{path}: cannot read the ASR config ({error})") from error
    if not isinstance(config, dict) or not isinstance(config.get("model_params"), dict):
        raise ASRCheckpointError(f"{path}: no model_params section")
    for keys, expected in _FRONT_END.items():
        value = config.get("preprocess_parasm") or {}
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and value != expected:
            raise ASRCheckpointError(f"{path}: {'.'.join(keys)} = {value}, but the ASR mel front end uses {expected}")
    return config


def build_asrcnn(config: dict) -> ASRCNN:
    """An untrained ASRCNN from a config's ``model_params``."""
    return ASRCNN(**config["model_params"])


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict, loaded weights-only on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise ASRCheckpointError(
            f"ASR checkpoint {path} not found: train one with `{TRAIN_COMMAND}` (it writes OUT_DIR/epoch_XXXXX.pth), "
            "or use StyleTTS2's Utils/ASR/epoch_00080.pth after `python -m aligner.asrcnn.convert`"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ASRCheckpointError(
            f"{path} needs pickle to load (it stores Python objects, not only tensors) and is refused; "
            f"copy its weights with `python -m aligner.asrcnn.convert {path} OUT.pth` (runs none of its code). "
            f"Detail: {str(error).splitlines()[-1] if str(error) else type(error).__name__}"
        ) from None
    except (RuntimeError, OSError, EOFError) as error:
        raise ASRCheckpointError(f"{path}: not a readable torch checkpoint ({error})") from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise ASRCheckpointError(f"{path}: expected a dict with the state dict under 'model' (StyleTTS2's format)")
    return checkpoint


def load_asrcnn(
    checkpoint_path: str | Path, config_path: str | Path = DEFAULT_CONFIG, device: str | torch.device = "cpu"
) -> ASRCNN:
    """The ASRCNN of ``config_path`` with the weights of ``checkpoint_path`` (strict), in eval mode on ``device``."""
    model = build_asrcnn(read_config(config_path))
    try:
        model.load_state_dict(read_checkpoint(checkpoint_path)["model"], strict=True)
    except RuntimeError as error:
        raise ASRCheckpointError(f"{checkpoint_path} does not fit the model of {config_path}: {error}") from error
    return model.to(device).eval()


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    steps: int,
    epochs: int,
) -> None:
    """Write a checkpoint in StyleTTS2's format (atomically)."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "steps": steps,
        "epochs": epochs,
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))
