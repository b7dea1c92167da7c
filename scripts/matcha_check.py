"""Prove the durations inside upstream Matcha-TTS (matcha-tts 0.0.7.2) installed beside this project.

    make matcha-check            # a venv with both (.venv-matcha), then this script, in both install orders
    .venv-matcha/bin/python scripts/matcha_check.py --work outputs/matcha_check [--imports-only]

Run it with the Python of a venv where ``matcha-tts==0.0.7.2`` and this project are installed together.

1. Imports: ``from matcha.models.matcha_tts import MatchaTTS`` and ``python -m matcha.utils.extract_durations
   --help`` both work (``--imports-only`` stops here: the Makefile runs it again after reinstalling
   upstream over this project).
2. A small English corpus (``aligner.demo.corpus``, en-us, one speaker), its mels, a tiny.yaml aligner trained
   for a few steps on it, and its durations written twice: ``.pt`` and ``--format upstream-npy``.
3. Lengths: for every utterance, upstream's ``text_to_sequence(text, ["english_cleaners2"])`` interspersed
   with 0 has exactly the length of both duration files, the same ids as this project's tokens, and the npy
   file lies where upstream's ``get_durations`` reads it.
4. Loader: upstream's ``TextMelDataModule`` (24 kHz, hop 256, ``load_durations: true``) loads every
   utterance (its own length assert), and every duration vector sums to the mel upstream computes.
5. Training: a ``MatchaTTS`` with upstream's default model configs runs ``--steps`` (50) Adam steps on the
   CPU with ``use_precomputed_durations``: every loss finite, the duration loss lower at the end (mean of
   the last 5 steps) than at the start (first 5).

Prints its figures; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import espeakng_loader
import numpy as np
import soundfile
import torch

# Upstream's matcha.text builds an espeak backend at import time: point phonemizer at espeakng-loader's.
os.environ.setdefault("PHONEMIZER_ESPEAK_LIBRARY", espeakng_loader.get_library_path())
os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RATE, HOP = 24000, 256
# Upstream's configs/model/{encoder,decoder,cfm}/default.yaml and optimizer/adam.yaml (v0.0.7.2 defaults).
ENCODER = {
    "encoder_type": "RoPE Encoder",
    "encoder_params": {
        "n_feats": 80, "n_channels": 192, "filter_channels": 768, "filter_channels_dp": 256, "n_heads": 2,
        "n_layers": 6, "kernel_size": 3, "p_dropout": 0.1, "spk_emb_dim": 64, "n_spks": 1, "prenet": True,
    },
    "duration_predictor_params": {"filter_channels_dp": 256, "kernel_size": 3, "p_dropout": 0.1},
}  # fmt: skip
DECODER = {
    "channels": [256, 256], "dropout": 0.05, "attention_head_dim": 64, "n_blocks": 1, "num_mid_blocks": 2,
    "num_heads": 2, "act_fn": "snakebeta",
}  # fmt: skip
CFM = {"name": "CFM", "solver": "euler", "sigma_min": 1e-4}
LEARNING_RATE = 1e-4
# Training here keeps upstream's model but runs the decoder on 128-frame (1.4 s) mel segments (upstream's
# out_size; its default null decodes whole utterances, 20 s a step on 2 CPU cores) and batches of 4.
OUT_SIZE, BATCH_SIZE = 128, 4


class Checks:
    """Named pass/fail results, printed as they come."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, name: str, ok: bool, detail: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failed.append(name)


def check_imports(checks: Checks) -> None:
    """Upstream's model and this project's command line import in this one environment."""
    try:
        from matcha.models.matcha_tts import MatchaTTS  # noqa: F401

        checks("from matcha.models.matcha_tts import MatchaTTS", True)
    except Exception as error:  # noqa: BLE001 - any failure to import is the finding
        checks("from matcha.models.matcha_tts import MatchaTTS", False, repr(error))
    result = subprocess.run(
        [sys.executable, "-m", "matcha.utils.extract_durations", "--help"], capture_output=True, text=True
    )
    checks(
        "python -m matcha.utils.extract_durations --help",
        result.returncode == 0 and "--corpus" in result.stdout,
        f"exit {result.returncode} {result.stderr.strip()[-300:]}",
    )


def run(*command: str) -> None:
    """Run a step of this project in a subprocess; stop the check when it fails."""
    print("$", " ".join(command), flush=True)
    result = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True)
    if result.returncode not in (0,):
        sys.exit(f"step failed (exit {result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")


def build(work: Path, n_utterances: int, aligner_steps: int) -> Path:
    """Corpus, mels, a briefly trained aligner and its durations (.pt and npy) under ``work``."""
    corpus, checkpoint = work / "corpus", work / "aligner"
    if not (corpus / "metadata.csv").exists():
        run("-m", "aligner.demo.corpus", "--out", str(corpus), "--n", str(n_utterances),
            "--languages", "en-us", "--speakers", "1", "--quiet")  # fmt: skip
        run("-m", "aligner.mels", "--corpus", str(corpus))
    if not (checkpoint / "alignment.json").exists():
        run("aligner/train.py", "configs/aligner/tiny.yaml", "--corpus", str(corpus), "--output_dir", str(checkpoint),
            "--max_steps", str(aligner_steps), "--eval_steps", str(aligner_steps), "--save_steps", "0",
            "--warmup_steps", "10", "--report_to", "none", "--acoustic_rounds", "2")  # fmt: skip
    run("-m", "matcha.utils.extract_durations", "--corpus", str(corpus), "--checkpoint", str(checkpoint), "--overwrite")
    run("-m", "matcha.utils.extract_durations", "--corpus", str(corpus), "--checkpoint", str(checkpoint),
        "--format", "upstream-npy", "--overwrite")  # fmt: skip
    return corpus


def check_lengths(checks: Checks, corpus: Path) -> list[tuple[str, str]]:
    """Step 3; returns (wav path, text) of every utterance, for upstream's filelist."""
    from matcha.text import text_to_sequence
    from matcha.utils.utils import intersperse

    from aligner.corpus import read_metadata, wav_path
    from aligner.durations import load_durations
    from aligner.text import intersperse as our_intersperse
    from aligner.text import phonemes_to_ids, to_phonemes

    rows, bad_length, bad_ids, bad_npy = [], [], [], []
    for utterance in read_metadata(corpus):
        ids, _ = text_to_sequence(utterance.text, ["english_cleaners2"])
        upstream = intersperse(ids, 0)
        ours = our_intersperse(phonemes_to_ids(to_phonemes(utterance.text, utterance.language)))
        durations = load_durations(corpus / "durations" / f"{utterance.rel_path}.pt")
        wav = wav_path(corpus, utterance.rel_path)
        npy = wav.parent.parent / "durations" / f"{wav.stem}.npy"  # upstream's get_durations
        if len(durations) != len(upstream):
            bad_length.append(utterance.rel_path)
        if ours != upstream:
            bad_ids.append(utterance.rel_path)
        if not npy.is_file() or not np.array_equal(np.load(npy).astype(int), durations.numpy()):
            bad_npy.append(utterance.rel_path)
        rows.append((str(wav), utterance.text))
    checks(f"duration length == len(intersperse(text_to_sequence)) for {len(rows)} utterances", not bad_length,
           f"differ: {bad_length[:5]}")  # fmt: skip
    checks("this project's token ids == upstream's", not bad_ids, f"differ: {bad_ids[:5]}")
    checks("npy files where upstream's get_durations reads them, equal to the .pt files", not bad_npy,
           f"missing or different: {bad_npy[:5]}")  # fmt: skip
    return rows


def soundfile_load(path: str) -> tuple[torch.Tensor, int]:
    """``torchaudio.load``'s result ([channels, samples] float32 in [-1, 1], sample rate), read by soundfile."""
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate


def wav_reader(checks: Checks, wav: str) -> None:
    """torchaudio 2.9+ decodes through torchcodec and FFmpeg; where they are missing, upstream's loader
    reads its wavs with soundfile instead (the same samples): said, not hidden."""
    from matcha.data import text_mel_datamodule

    try:
        text_mel_datamodule.ta.load(wav)
        checks("upstream's loader reads wavs with torchaudio.load", True)
    except (ImportError, RuntimeError) as error:
        text_mel_datamodule.ta.load = soundfile_load
        print(f"note: torchaudio.load fails here ({str(error)[:120]}); upstream's loader reads wavs with "
              "soundfile in this check. A Matcha training environment needs torchcodec and FFmpeg.")  # fmt: skip


def data_module(work: Path, rows: list[tuple[str, str]], statistics: dict):
    """Upstream's TextMelDataModule over ``rows`` (train and valid: the same filelist)."""
    from matcha.data.text_mel_datamodule import TextMelDataModule

    filelist = work / "filelist.txt"
    filelist.write_text("".join(f"{wav}|{text}\n" for wav, text in rows), encoding="utf-8")
    module = TextMelDataModule(
        name="matcha_check", train_filelist_path=str(filelist), valid_filelist_path=str(filelist),
        batch_size=BATCH_SIZE, num_workers=0, pin_memory=False, cleaners=["english_cleaners2"], add_blank=True,
        n_spks=1, n_fft=1024, n_feats=80, sample_rate=SAMPLE_RATE, hop_length=HOP, win_length=1024, f_min=0, f_max=8000,
        data_statistics=statistics, seed=1234, load_durations=True,
    )  # fmt: skip
    module.setup()
    return module


def mel_statistics(corpus: Path) -> dict:
    """Mean and standard deviation of the corpus's mels (what upstream's matcha-data-stats computes)."""
    mels = np.concatenate([np.load(path) for path in sorted((corpus / "mels").rglob("*.npy"))], axis=1)
    return {"mel_mean": float(mels.mean()), "mel_std": float(mels.std())}


def check_loader(checks: Checks, module) -> None:
    """Step 4: every batch of upstream's loader, durations summing to upstream's own mel length."""
    loaded, wrong_sum = 0, 0
    try:
        for batch in module.train_dataloader():
            sums = batch["durations"].sum(1)
            wrong_sum += int((sums != batch["y_lengths"]).sum())
            loaded += len(sums)
        checks(f"upstream's TextMelDataModule loads {loaded} utterances with their durations", loaded > 0)
    except Exception as error:  # noqa: BLE001 - upstream's own assert or a missing file is the finding
        checks("upstream's TextMelDataModule loads every utterance", False, repr(error))
        return
    checks("every duration vector sums to upstream's mel frame count", wrong_sum == 0, f"{wrong_sum} differ")


def to_device(batch: dict, device: torch.device) -> dict:
    """A batch of upstream's loader with its tensors on ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def train_matcha(module, statistics: dict, steps: int, precomputed: bool, device: torch.device):
    """A MatchaTTS of upstream's default configs after ``steps`` Adam steps on upstream's loader, with this
    project's durations (``precomputed``) or Matcha's own MAS; returns the model and each step's losses."""
    from matcha.models.matcha_tts import MatchaTTS
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    model = MatchaTTS(
        n_vocab=178, n_spks=1, spk_emb_dim=64, n_feats=80, encoder=OmegaConf.create(ENCODER),
        decoder=OmegaConf.create(DECODER), cfm=OmegaConf.create(CFM), data_statistics=statistics, out_size=OUT_SIZE,
        prior_loss=True, use_precomputed_durations=precomputed,
    ).to(device)  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    model.train()
    history: list[dict[str, float]] = []
    batches = iter(())
    while len(history) < steps:
        batch = next(batches, None)
        if batch is None:
            batches = iter(module.train_dataloader())
            continue
        losses = model.get_losses(to_device(batch, device))
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
        history.append({name: float(value.detach()) for name, value in losses.items()})
        if len(history) % max(steps // 10, 1) == 0 or len(history) == 1:
            print(f"  step {len(history):4d}: " + ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items()), flush=True)
    return model, history


def check_training(checks: Checks, module, statistics: dict, steps: int) -> None:
    """Step 5: MatchaTTS with precomputed durations, ``steps`` Adam steps on the CPU."""
    _, history = train_matcha(module, statistics, steps, precomputed=True, device=torch.device("cpu"))
    finite = all(math.isfinite(v) for row in history for v in row.values())
    start = np.mean([row["dur_loss"] for row in history[:5]])
    end = np.mean([row["dur_loss"] for row in history[-5:]])
    checks(f"{steps} MatchaTTS training steps with use_precomputed_durations, every loss finite", finite)
    detail = f"first 5 steps {start:.4f}, last 5 {end:.4f}"
    checks("duration loss lower at the end than at the start", end < start, detail)


@torch.no_grad()
def blank_share(module, model=None, device: str = "cpu") -> float:
    """Share of all mel frames held by blank tokens (even positions): this project's durations, or the
    path ``model``'s own MAS takes (its forward pass without durations)."""
    blank = total = 0
    if model is not None:
        model.eval()
    for batch in module.train_dataloader():
        batch = to_device(batch, device)
        if model is None:
            durations = batch["durations"]
        else:
            *_, attn = model(batch["x"], batch["x_lengths"], batch["y"], batch["y_lengths"], spks=batch["spks"])
            durations = attn.squeeze(1).sum(-1)
        blank += float(durations[:, 0::2].sum())
        total += float(durations.sum())
    return blank / total


def compare_with_own_mas(module, statistics: dict, steps: int, device: torch.device) -> dict:
    """Train MatchaTTS ``steps`` steps with this project's durations and again with its own MAS; the mean
    losses of the last tenth of the steps and the blank share of frames in each alignment."""
    result = {"steps": steps, "device": str(device), "ours_blank_share": blank_share(module)}
    for name, precomputed in (("precomputed", True), ("own_mas", False)):
        model, history = train_matcha(module, statistics, steps, precomputed, device)
        tail = history[-max(steps // 10, 1) :]
        result[name] = {k: float(np.mean([row[k] for row in tail])) for k in tail[0]}
        if not precomputed:
            result["own_mas_blank_share"] = blank_share(module, model, str(device))
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "outputs/matcha_check", help="folder for the corpus")
    parser.add_argument("--utterances", type=int, default=48, help="size of the English corpus")
    parser.add_argument("--aligner-steps", type=int, default=150, help="tiny.yaml training steps")
    parser.add_argument("--steps", type=int, default=50, help="MatchaTTS training steps")
    parser.add_argument("--imports-only", action="store_true", help="only step 1")
    parser.add_argument(
        "--compare-mas",
        type=int,
        default=0,
        metavar="STEPS",
        help="after the checks, train MatchaTTS STEPS steps with these durations and again with its own MAS "
        "(on --device; scripts/gpu_check.sh runs it on a GPU) and report the losses and blank shares",
    )
    parser.add_argument("--device", default="cpu", help="device of --compare-mas (default: cpu)")
    parser.add_argument("--json", type=Path, help="write the --compare-mas figures here")
    args = parser.parse_args(argv)
    if args.steps < 10:
        parser.error("--steps must be at least 10: the first 5 and the last 5 steps are compared")
    checks = Checks()
    check_imports(checks)
    if not args.imports_only:
        args.work.mkdir(parents=True, exist_ok=True)
        corpus = build(args.work, args.utterances, args.aligner_steps)
        rows = check_lengths(checks, corpus)
        statistics = mel_statistics(corpus)
        wav_reader(checks, rows[0][0])
        module = data_module(args.work, rows, statistics)
        check_loader(checks, module)
        check_training(checks, module, statistics, args.steps)
        if args.compare_mas:
            figures = compare_with_own_mas(module, statistics, args.compare_mas, torch.device(args.device))
            print(json.dumps(figures, indent=1))
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(figures, indent=1))
    print(f"matcha-check: {len(checks.failed)} failed" + (f" ({', '.join(checks.failed)})" if checks.failed else ""))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
