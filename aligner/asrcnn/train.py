"""Train StyleTTS2's ASRCNN on a corpus, on Matcha's symbols, with AuxiliaryASR's recipe.

    python -m aligner.asrcnn.train --corpus C [--config aligner/asrcnn/config.yml] [--out-dir D]
                                     [--epochs N] [--resume] [--cpu] [--mel-cache DIR]
    accelerate launch -m aligner.asrcnn.train --corpus C ...       (several GPUs)

Corpus layout: ``aligner.corpus`` (its filelists and wavs at any one rate, resampled to StyleTTS2's
24 kHz; ASR mels are cached in CORPUS/asr_mels/, Matcha's mels/ is not read). Tokens: the installed
Matcha's front end, as the extraction's (``--text-frontend``); token and CTC conventions:
:mod:`aligner.asrcnn.data`. Recipe (AuxiliaryASR ``train.py``): CTC loss + the decoder's
cross-entropy, summed; AdamW (weight decay 5e-4, betas (0.9, 0.98), eps 1e-9); OneCycleLR (max_lr =
optimizer_params.lr, pct_start 0, final_div_factor 5) stepped per batch; gradients clipped by value at
5. Not in that recipe and off unless the config sets ``guided_attention: W``: W x a guided-attention
penalty on the decoder's attention (``diagonal_penalty``), which makes the attention diagonal within
minutes on a small corpus (demo.yml).

Every ``save_freq`` epochs and at the end, D/epoch_XXXXX.pth is written in StyleTTS2's format (model,
optimizer, scheduler, steps, epochs), with the config beside it as D/config.yml: align with
``load_asrcnn(D/epoch_XXXXX.pth, D/config.yml)``. ``--resume`` continues from the newest checkpoint in
D, up to ``--epochs`` in all.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from aligner.asrcnn.checkpoint import (
    DEFAULT_CONFIG,
    ASRCheckpointError,
    build_asrcnn,
    read_checkpoint,
    read_config,
    save_checkpoint,
)
from aligner.asrcnn.data import ASRDataset, LengthBatches, collate, prepare_examples
from aligner.asrcnn.models import ASRCNN
from aligner.corpus import CorpusError, MetadataError, open_corpus
from aligner.text import BLANK_ID, UnknownSymbolError
from aligner.text.frontend import FRONTEND_HELP, FrontendError, resolve_frontend

CLIP_VALUE = 5.0


def diagonal_penalty(
    attention: torch.Tensor, text_lengths: torch.Tensor, frame_lengths: torch.Tensor, width: float = 0.2
) -> torch.Tensor:
    """Guided-attention penalty (Tachibana et al., 2018): the attention mass [B, L, T] placed far from the
    diagonal, weighted by 1 - exp(-(l/L - t/T)^2 / (2 width^2)), per token."""
    position = torch.arange(attention.shape[1], device=attention.device)[None, :, None] / text_lengths[:, None, None]
    time = torch.arange(attention.shape[2], device=attention.device)[None, None, :] / frame_lengths[:, None, None]
    weight = (1 - torch.exp(-((position - time) ** 2) / (2 * width**2))) * (position < 1) * (time < 1)
    return (attention * weight).sum() / text_lengths.sum()


def compute_losses(
    model: ASRCNN | torch.nn.Module, batch: dict[str, torch.Tensor], guide: float = 0.0
) -> dict[str, torch.Tensor]:
    """CTC and sequence-to-sequence cross-entropy (per-utterance mean, averaged over the batch), summed;
    plus ``guide`` x ``diagonal_penalty`` of the decoder's attention when ``guide`` > 0."""
    n_down = getattr(model, "module", model).n_down
    frames = batch["mel_lengths"] // 2**n_down
    frame_mask = torch.arange(batch["mels"].shape[2] // 2**n_down, device=frames.device)[None] >= frames[:, None]
    texts = batch["texts"]
    ctc_logit, s2s_logit, s2s_attn = model(batch["mels"], frame_mask, texts.clamp(min=BLANK_ID))
    ctc = F.ctc_loss(
        ctc_logit.log_softmax(-1).transpose(0, 1),
        batch["targets"],
        frames,
        batch["target_lengths"],
        blank=BLANK_ID,
        zero_infinity=True,
    )
    cross_entropy = F.cross_entropy(
        s2s_logit[:, : texts.shape[1]].transpose(1, 2), texts, ignore_index=-1, reduction="none"
    )
    s2s = (cross_entropy.sum(1) / batch["text_lengths"]).mean()
    losses = {"loss": ctc + s2s, "ctc": ctc, "s2s": s2s}
    if guide > 0:
        losses["guide"] = diagonal_penalty(s2s_attn[:, 1:], batch["text_lengths"], frames)
        losses["loss"] = losses["loss"] + guide * losses["guide"]
    return losses


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest ``epoch_XXXXX.pth`` in ``out_dir``."""
    found = sorted(out_dir.glob("epoch_*.pth"))
    return found[-1] if found else None


def train(
    corpus: Path,
    config_path: Path = DEFAULT_CONFIG,
    out_dir: Path | None = None,
    epochs: int | None = None,
    resume: bool = False,
    cpu: bool = False,
    mel_cache: Path | None = None,
    progress: bool = True,
    text_frontend: str | None = None,
) -> Path:
    """Train (or resume) on ``corpus`` (a folder, or an opened ``Corpus``) with the tokens of the front end
    ``text_frontend`` names (``aligner.text.frontend.resolve_frontend``); returns the last checkpoint written."""
    corpus, config_path = open_corpus(corpus), Path(config_path)
    config = read_config(config_path)
    out_dir = Path(out_dir or Path("outputs") / "asrcnn" / config_path.stem)
    epochs = int(epochs or config.get("epochs", 180))
    previous = latest_checkpoint(out_dir)
    if previous is not None and not resume:
        raise ASRCheckpointError(f"{previous} exists: pass --resume to continue, or choose another --out-dir")
    accelerator = Accelerator(cpu=cpu)
    set_seed(int(config.get("seed", 0)))

    frontend = resolve_frontend(text_frontend)
    if accelerator.is_main_process:
        print(f"text front end: {frontend.name}", file=sys.stderr)
    examples, skipped = prepare_examples(corpus, int(config["model_params"]["n_token"]), frontend)
    if not examples:
        raise ASRCheckpointError(f"{corpus.root}: no usable utterance ({'; '.join(skipped[:3])})")
    sampler = LengthBatches([e.frames for e in examples], int(config.get("batch_size", 64)), int(config.get("seed", 0)))
    loader = torch.utils.data.DataLoader(
        ASRDataset(examples, mel_cache or corpus.root / "asr_mels"),
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=int(config.get("num_workers", 0)),
    )
    model = build_asrcnn(config)
    lr = float(config["optimizer_params"]["lr"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4, betas=(0.9, 0.98), eps=1e-9)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=len(loader), pct_start=0.0, final_div_factor=5
    )
    steps, start_epoch = 0, 0
    if previous is not None:
        state = read_checkpoint(previous)
        try:
            accelerator.unwrap_model(model).load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError) as error:
            raise ASRCheckpointError(f"{previous} does not fit the model of {config_path}: {error}") from error
        plan = scheduler.state_dict()  # the schedule of this run's --epochs, from where the checkpoint stopped
        scheduler.load_state_dict(state["scheduler"] | {k: plan[k] for k in ("total_steps", "_schedule_phases")})
        steps, start_epoch = int(state["steps"]), int(state["epochs"])
        if start_epoch >= epochs:
            raise ASRCheckpointError(f"{previous}: already trained {start_epoch} epochs (asked for {epochs})")
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(config_path, out_dir / "config.yml")
        print(f"{len(examples)} utterances, {len(skipped)} left out", *skipped[:10], sep="\n  ")

    save_freq = int(config.get("save_freq", 5))
    guide = float(config.get("guided_attention", 0.0))
    bar = tqdm(
        total=(epochs - start_epoch) * len(loader),
        desc="asrcnn",
        unit="batch",
        disable=not progress or not accelerator.is_main_process,
    )
    last, started = None, time.perf_counter()
    model.train()
    for epoch in range(start_epoch + 1, epochs + 1):
        sampler.epoch = epoch
        totals = collections.Counter()
        for batch in loader:
            losses = compute_losses(model, batch, guide)
            optimizer.zero_grad()
            accelerator.backward(losses["loss"])
            accelerator.clip_grad_value_(model.parameters(), CLIP_VALUE)
            optimizer.step()
            scheduler.step()
            steps += 1
            for key, value in losses.items():
                totals[key] += value.item() / len(loader)
            bar.set_postfix({key: f"{value.item():.3f}" for key, value in losses.items()})
            bar.update()
        if accelerator.is_main_process:
            bar.write(
                f"epoch {epoch}: " + ", ".join(f"{key} {value:.3f}" for key, value in totals.items()) + ", "
                f"lr {scheduler.get_last_lr()[0]:.2e}, {time.perf_counter() - started:.0f} s"
            )
        if epoch % save_freq == 0 or epoch == epochs:
            last = out_dir / f"epoch_{epoch:05d}.pth"
            if accelerator.is_main_process:
                save_checkpoint(last, accelerator.unwrap_model(model), optimizer, scheduler, steps, epoch)
            accelerator.wait_for_everyone()
    bar.close()
    return last


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.asrcnn.train", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder (metadata.csv, wavs/)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="default: %(default)s")
    parser.add_argument("--out-dir", type=Path, help="where checkpoints go (default: outputs/asrcnn/CONFIG_NAME)")
    parser.add_argument("--epochs", type=int, help="total epochs (default: the config's)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out-dir")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is there")
    parser.add_argument("--mel-cache", type=Path, help="where ASR mels are cached (default: CORPUS/asr_mels)")
    parser.add_argument(
        "--text-frontend",
        help=FRONTEND_HELP,
    )
    args = parser.parse_args(argv)
    try:
        last = train(
            args.corpus, args.config, args.out_dir, args.epochs, args.resume, args.cpu, args.mel_cache,
            text_frontend=args.text_frontend,
        )  # fmt: skip
    except (ASRCheckpointError, MetadataError, UnknownSymbolError, CorpusError, FrontendError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"last checkpoint: {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
