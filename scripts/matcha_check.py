"""Prove the durations inside upstream Matcha-TTS (matcha-tts 0.0.7.2) on upstream's own two recipes.

    make matcha-check            # a venv with both (.venv-matcha), then this script, in both install orders
    .venv-matcha/bin/python scripts/matcha_check.py --work outputs/matcha_check [--recipes ljspeech vctk]
    .venv-matcha/bin/python scripts/matcha_check.py --imports-only

Run it with the Python of a venv where ``matcha-tts==0.0.7.2`` and this project are installed together.

1. Imports: ``from matcha.models.matcha_tts import MatchaTTS`` and ``python -m matcha.utils.extract_durations
   --help`` both work (``--imports-only`` stops here: the Makefile runs it again after reinstalling
   upstream over this project).
2. An upstream-shaped Matcha root, WORK/upstream-root: ``configs/data/ljspeech.yaml`` and ``vctk.yaml`` are
   upstream's own (copied from scripts/matcha_fixture/, upstream v0.0.7.2's files: ljspeech.yaml with only its
   two filelist paths changed to ``data/filelists/ljs_audio_text_{train,val}_filelist.txt``, vctk.yaml as it
   is: ``defaults: [ljspeech, _self_]``, ``n_spks: 109``); the audio is the demo synthesiser's
   (``aligner.demo.corpus``, en-us, 24 kHz) resampled with soxr to the YAML's 22050 Hz, the texts kept exactly;
   no mel files (upstream's loader computes them). Two recipes, each as upstream lays it out:

   - ljspeech: one speaker, ``data/LJSpeech-1.1/wavs/LJ001-0001.wav``, filelist lines ``wav_path|text``;
   - vctk: four speakers (speaker ids 0, 17, 54 and 108 of the YAML's 109), ``data/VCTK/wav/p017/p017_003.wav``
     (stems unique: upstream's loader keeps only the stem), filelist lines ``wav_path|spk_id|text``.

   From that root, as a user runs them: ``python -m aligner.train CONFIGS/aligner/tiny.yaml --data_config
   configs/data/X.yaml ...`` (a few steps) and ``python -m matcha.utils.extract_durations --data-config
   configs/data/X.yaml --checkpoint DIR --device cpu`` (durations by default where upstream's
   ``get_durations`` reads them: ``<wav's grandparent>/durations/<stem>.npy``).
3. Lengths: every filelist line has its npy file there (and no other file is there), whose length is
   ``len(intersperse(text_to_sequence(text, cleaners), 0))`` with upstream's own code and the YAML's cleaners;
   this project's built-in front end gives the same ids.
4. Loader: upstream's ``TextMelDataModule``, instantiated by hydra from the data YAML as upstream's train.py
   composes it (``data=X``, seed 1234; vctk.yaml merged over ljspeech.yaml by hydra itself) with
   ``load_durations=true`` and the mel statistics upstream's ``compute_data_statistics`` gives for this audio,
   loads every utterance of both filelists (its own length assert, its own 22050 Hz assert), and every
   duration vector sums to the mel frame count upstream computes. vctk: ``n_spks`` > 1 and speaker ids in
   every batch.
5. Training: a ``MatchaTTS`` with upstream's default model configs (``n_spks`` the YAML's, a speaker embedding
   when > 1) runs ``--steps`` (50) Adam steps on the CPU with ``use_precomputed_durations``: every loss finite,
   the duration loss lower at the end (mean of the last 5 steps) than at the start (first 5); vctk: the
   embedding rows of the four speakers trained, the other 105 untouched.

Prints its figures; exits 1 when any check fails. Every step's full output is in WORK/logs/.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader
import numpy as np
import soundfile
import torch

# Upstream's matcha.text builds an espeak backend at import time: point phonemizer at espeakng-loader's.
os.environ.setdefault("PHONEMIZER_ESPEAK_LIBRARY", espeakng_loader.get_library_path())
os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "scripts" / "matcha_fixture"  # upstream's configs/data/{ljspeech,vctk}.yaml (v0.0.7.2)
TINY = REPO / "configs" / "aligner" / "tiny.yaml"
SEED = 1234  # upstream's configs/train.yaml seed, which the data YAML's `seed: ${seed}` reads
DEMO_RATE = 24000  # what aligner.demo.corpus writes
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
# Training here keeps upstream's model but runs the decoder on 128-frame (1.5 s) mel segments (upstream's
# out_size; its default null decodes whole utterances, 20 s a step on 2 CPU cores) and batches of 4.
OUT_SIZE, BATCH_SIZE = 128, 4
VALID_UTTERANCES = 4  # per recipe, in the valid filelist (the rest in the train filelist)


@dataclass(frozen=True)
class Recipe:
    """One of upstream's data recipes: its YAML, its speakers and where its wavs lie."""

    name: str  # configs/data/{name}.yaml
    speaker_ids: tuple[int, ...]  # the filelist's spk_id of demo speaker 0, 1, ...; one: no spk_id field
    wav: str  # the wav path of a line, relative to the Matcha root ({sid}, {index}: 1-based per speaker)

    def wav_path(self, sid: int, index: int) -> str:
        return self.wav.format(sid=sid, index=index)


RECIPES = {
    "ljspeech": Recipe("ljspeech", (0,), "data/LJSpeech-1.1/wavs/LJ001-{index:04d}.wav"),
    "vctk": Recipe("vctk", (0, 17, 54, 108), "data/VCTK/wav/p{sid:03d}/p{sid:03d}_{index:03d}.wav"),
}


class Checks:
    """Named pass/fail results, printed as they come; ``detail`` is printed always, ``failure`` on failure."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.warnings: list[str] = []

    def __call__(self, name: str, ok: bool, detail: str = "", failure: str = "") -> None:
        detail = ", ".join(part for part in (detail, "" if ok else failure) if part)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failed.append(name)

    def warn(self, name: str, ok: bool, failure: str) -> None:
        """A finding that does not fail the check (printed as WARN, counted at the end)."""
        if not ok:
            print(f"WARN {name}: {failure}", flush=True)
            self.warnings.append(name)


class StepFailed(RuntimeError):
    """A command of a recipe exited with an error: the recipe's later checks cannot run."""


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
        failure=f"exit {result.returncode} {result.stderr.strip()[-300:]}",
    )


def run(logs: Path, name: str, command: list[str], cwd: Path, show: tuple[str, ...] = ()) -> float:
    """Run ``python COMMAND`` in ``cwd``, its output in ``logs/name.log``; print the lines of stderr that start
    with one of ``show`` and the last lines of stdout. Returns the wall time; ``StepFailed`` on an error exit."""
    print(f"$ (cd {cwd} && python {' '.join(command)})", flush=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{name}.log").write_text(f"$ python {' '.join(command)}\n{result.stdout}\n--- stderr\n{result.stderr}")
    for line in result.stderr.splitlines():
        if line.startswith(show) and show:
            print(f"  | {line}")
    for line in [line for line in result.stdout.splitlines() if line.strip()][-6:]:
        print(f"  | {line}")
    print(f"  ({seconds:.0f} s, exit {result.returncode}; log {logs / name}.log)", flush=True)
    if result.returncode != 0:
        raise StepFailed(f"exit {result.returncode}: python {' '.join(command)}\n{result.stderr[-3000:]}")
    return seconds


@contextlib.contextmanager
def working_directory(path: Path):
    """The current folder is ``path`` inside the block (upstream reads its filelists' wav paths from there)."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def compose_data_config(root: Path, name: str) -> dict:
    """``configs/data/{name}.yaml`` of ``root`` as upstream's train.py composes it: hydra's config group
    ``data`` (its ``defaults:`` list merged by hydra) under a root config with upstream's ``seed``."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(root / "configs"), version_base="1.3"):
        config = compose(overrides=[f"+data={name}", f"+seed={SEED}"])
    return OmegaConf.to_container(config.data, resolve=True)


def write_audio(source: Path, target: Path, rate: int) -> None:
    """The 16-bit mono wav ``source`` resampled with soxr to ``rate`` as 16-bit PCM (scaled down, never
    clipped, where resampling overshoots full scale, as the demo synthesiser does)."""
    import soxr

    audio, source_rate = soundfile.read(str(source), dtype="float64")
    if source_rate != DEMO_RATE or audio.ndim != 1:
        raise ValueError(f"{source}: expected mono {DEMO_RATE} Hz, got {source_rate} Hz, shape {audio.shape}")
    audio = soxr.resample(audio, source_rate, rate, quality="VHQ")
    peak = float(np.abs(audio).max(initial=0.0))
    if peak * 32768 > 32767:
        audio = audio * (32767 / 32768 / peak)
    target.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(target), np.round(audio * 32768).astype(np.int16), rate, subtype="PCM_16")


def build_root(root: Path, demo: Path, recipe: Recipe, config: dict, n_utterances: int, logs: Path) -> None:
    """The demo synthesiser's speech, resampled to the YAML's rate, laid out as ``recipe`` in ``root``, with the
    YAML's two filelists (the last utterances of each speaker in the valid one)."""
    speakers = len(recipe.speaker_ids)
    run(logs, f"{recipe.name}-demo-corpus", ["-m", "aligner.demo.corpus", "--out", str(demo), "--n", str(n_utterances),
        "--speakers", str(speakers), "--languages", "en-us", "--quiet"], REPO)  # fmt: skip
    rows = [line.split("|", 3) for line in (demo / "metadata.csv").read_text(encoding="utf-8").splitlines() if line]
    per_speaker: dict[int, list[tuple[str, str]]] = {}
    for rel_path, spk, _language, text in rows:
        if "|" in text or text != text.strip():
            raise ValueError(f"{rel_path}: a text upstream's parse_filelist would not read back ({text!r})")
        per_speaker.setdefault(int(spk), []).append((rel_path, text))
    valid_each = -(-VALID_UTTERANCES // speakers)
    train, valid = [], []
    for spk, utterances in sorted(per_speaker.items()):
        sid = recipe.speaker_ids[spk]
        for index, (rel_path, text) in enumerate(utterances, start=1):
            wav = recipe.wav_path(sid, index)
            write_audio(demo / "wavs" / f"{rel_path}.wav", root / wav, int(config["sample_rate"]))
            line = f"{wav}|{text}\n" if speakers == 1 else f"{wav}|{sid}|{text}\n"
            (valid if index > len(utterances) - valid_each else train).append(line)
    for key, lines in (("train_filelist_path", train), ("valid_filelist_path", valid)):
        path = root / config[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
    print(f"  {len(train)} + {len(valid)} utterances of {speakers} speaker(s) at {config['sample_rate']} Hz in "
          f"{config['train_filelist_path']} and {config['valid_filelist_path']}, e.g.:")  # fmt: skip
    print(f"  | {(train or valid)[0].strip()}")


def filelist_rows(config: dict) -> list[tuple[str, int | None, str]]:
    """(wav path, spk_id or None, text) of both filelists, split as upstream's parse_filelist/get_datapoint."""
    rows = []
    for key in ("train_filelist_path", "valid_filelist_path"):
        for line in Path(config[key]).read_text(encoding="utf-8").splitlines():
            fields = line.strip().split("|")
            if config["n_spks"] > 1:
                rows.append((fields[0], int(fields[1]), fields[2]))
            else:
                rows.append((fields[0], None, fields[1]))
    return rows


def check_lengths(checks: Checks, recipe: Recipe, config: dict) -> None:
    """Step 3 (in the Matcha root): the npy files where upstream's get_durations reads them, of upstream's
    token count, and this project's built-in front end's ids equal to upstream's."""
    from matcha.text import text_to_sequence
    from matcha.utils.utils import intersperse

    from aligner.text import intersperse as our_intersperse
    from aligner.text import phonemes_to_ids, to_phonemes

    rows = filelist_rows(config)
    missing, bad_length, bad_ids, not_positive, expected = [], [], [], [], set()
    for wav, _spk, text in rows:
        ids, _ = text_to_sequence(text, config["cleaners"])
        upstream = intersperse(ids, 0) if config["add_blank"] else ids
        ours = phonemes_to_ids(to_phonemes(text, "en-us"))
        if (our_intersperse(ours) if config["add_blank"] else ours) != upstream:
            bad_ids.append(wav)
        npy = Path(wav).parent.parent / "durations" / f"{Path(wav).stem}.npy"  # upstream's get_durations
        expected.add(npy.resolve())
        if not npy.is_file():
            missing.append(wav)
            continue
        durations = np.load(npy)
        if len(durations) != len(upstream):
            bad_length.append(f"{wav} ({len(durations)} != {len(upstream)})")
        if durations.min(initial=1) < 1:
            not_positive.append(wav)
    folders = {path.parent for path in expected}
    written = {path.resolve() for folder in folders for path in folder.glob("*.npy")}
    others = sorted(str(path) for path in written - expected)  # npy files of no filelist line
    where = ", ".join(str(Path(folder).relative_to(Path.cwd().resolve())) for folder in sorted(folders))
    checks(f"{recipe.name}: durations written: {len(expected) - len(missing)} of {len(rows)} utterances, in {where}/",
           not missing and not others, failure=f"missing: {missing[:5]}, other files: {others[:5]}")  # fmt: skip
    checks(f"{recipe.name}: duration length == len(intersperse(text_to_sequence(text, {config['cleaners']})))",
           not bad_length and not missing, failure=f"differ: {bad_length[:5]}")  # fmt: skip
    checks(f"{recipe.name}: every duration >= 1", not not_positive, failure=f"a zero in: {not_positive[:5]}")
    checks(f"{recipe.name}: this project's built-in front end's ids == upstream's", not bad_ids,
           failure=f"differ: {bad_ids[:5]}")  # fmt: skip


def soundfile_load(path: str) -> tuple[torch.Tensor, int]:
    """``torchaudio.load``'s result ([channels, samples] float32 in [-1, 1], sample rate), read by soundfile."""
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate


def wav_reader(checks: Checks, wav: str) -> None:
    """torchaudio 2.9+ decodes through torchcodec and FFmpeg; where they are missing, upstream's loader
    reads its wavs with soundfile instead (the same samples): said, not hidden."""
    from matcha.data import text_mel_datamodule

    if text_mel_datamodule.ta.load is soundfile_load:
        return
    try:
        text_mel_datamodule.ta.load(wav)
        checks("upstream's loader reads wavs with torchaudio.load", True)
    except (ImportError, RuntimeError) as error:
        text_mel_datamodule.ta.load = soundfile_load
        print(f"note: torchaudio.load fails here ({str(error)[:120]}); upstream's loader reads wavs with "
              "soundfile in this check. A Matcha training environment needs torchcodec and FFmpeg.")  # fmt: skip


def data_module(config: dict, statistics: dict | None, load_durations: bool):
    """Upstream's TextMelDataModule instantiated by hydra from the composed data YAML, set up; batches of 4 in
    this process; ``statistics`` None: mean 0, std 1 (as upstream's matcha-data-stats loads the data)."""
    from hydra.utils import instantiate

    module = instantiate(
        config, batch_size=BATCH_SIZE, num_workers=0, pin_memory=False, load_durations=load_durations,
        data_statistics=statistics or {"mel_mean": 0.0, "mel_std": 1.0},
    )  # fmt: skip
    module.setup()
    return module


def mel_statistics(config: dict) -> dict:
    """The mel mean and standard deviation of the train filelist, by upstream's own ``compute_data_statistics``
    (what ``matcha-data-stats`` prints for a data YAML)."""
    from matcha.utils.generate_data_statistics import compute_data_statistics

    module = data_module(config, None, load_durations=False)
    with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bar
        return compute_data_statistics(module.train_dataloader(), config["n_feats"])


def check_loader(checks: Checks, recipe: Recipe, module) -> None:
    """Step 4: every batch of upstream's loaders (train and valid), durations summing to upstream's own mel
    length; several speakers: speaker ids in every batch."""
    loaded, wrong_sum, speakers = 0, 0, set()
    expected = len(module.trainset) + len(module.validset)
    try:
        for batch in [*module.train_dataloader(), *module.val_dataloader()]:
            sums = batch["durations"].sum(1)
            wrong_sum += int((sums != batch["y_lengths"]).sum())
            loaded += len(sums)
            if module.hparams.n_spks > 1:
                speakers.update(batch["spks"].tolist())
    except Exception as error:  # noqa: BLE001 - upstream's own assert or a missing file is the finding
        checks(f"{recipe.name}: upstream's TextMelDataModule loads every utterance", False, failure=repr(error))
        return
    checks(f"{recipe.name}: upstream's TextMelDataModule ({module.hparams.sample_rate} Hz, hop "
           f"{module.hparams.hop_length}, load_durations) loads {loaded} of {expected} utterances "
           f"({len(module.trainset)} train + {len(module.validset)} valid) with their durations",
           loaded == expected > 0)  # fmt: skip
    checks(f"{recipe.name}: every duration vector sums to upstream's mel frame count", wrong_sum == 0,
           failure=f"{wrong_sum} differ")  # fmt: skip
    if len(recipe.speaker_ids) > 1:
        checks(f"{recipe.name}: n_spks {module.hparams.n_spks} > 1, speaker ids {sorted(speakers)} in the batches",
               module.hparams.n_spks > 1 and speakers == set(recipe.speaker_ids))  # fmt: skip


def to_device(batch: dict, device: torch.device) -> dict:
    """A batch of upstream's loader with its tensors on ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def make_model(n_spks: int, statistics: dict, precomputed: bool, device: torch.device):
    """A MatchaTTS of upstream's default configs (configs/model/matcha.yaml: n_spks the data YAML's)."""
    from matcha.models.matcha_tts import MatchaTTS
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    return MatchaTTS(
        n_vocab=178, n_spks=n_spks, spk_emb_dim=64, n_feats=80, encoder=OmegaConf.create(ENCODER),
        decoder=OmegaConf.create(DECODER), cfm=OmegaConf.create(CFM), data_statistics=statistics, out_size=OUT_SIZE,
        prior_loss=True, use_precomputed_durations=precomputed,
    ).to(device)  # fmt: skip


def train_matcha(model, module, steps: int, device: torch.device) -> list[dict[str, float]]:
    """``steps`` Adam steps of ``model`` on upstream's train loader; each step's losses."""
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
    return history


def check_training(checks: Checks, recipe: Recipe, module, statistics: dict, steps: int) -> None:
    """Step 5: MatchaTTS with precomputed durations, ``steps`` Adam steps on the CPU."""
    n_spks = module.hparams.n_spks
    model = make_model(n_spks, statistics, precomputed=True, device=torch.device("cpu"))
    embedding = model.spk_emb.weight.detach().clone() if n_spks > 1 else None
    history = train_matcha(model, module, steps, torch.device("cpu"))
    finite = all(math.isfinite(v) for row in history for v in row.values())
    start = np.mean([row["dur_loss"] for row in history[:5]])
    end = np.mean([row["dur_loss"] for row in history[-5:]])
    checks(f"{recipe.name}: {steps} MatchaTTS (n_spks {n_spks}) training steps with use_precomputed_durations, "
           "every loss finite", finite)  # fmt: skip
    checks(f"{recipe.name}: duration loss lower at the end than at the start", end < start,
           f"first 5 steps {start:.4f}, last 5 {end:.4f}")  # fmt: skip
    if embedding is not None:
        changed = (model.spk_emb.weight.detach() != embedding).any(1)
        trained = sorted(torch.nonzero(changed).flatten().tolist())
        checks(f"{recipe.name}: speaker embedding {tuple(model.spk_emb.weight.shape)}: the rows of speakers "
               f"{trained} trained, the other {n_spks - len(trained)} untouched",
               trained == sorted(recipe.speaker_ids))  # fmt: skip


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


def compare_with_own_mas(recipe: Recipe, module, statistics: dict, steps: int, device: torch.device) -> dict:
    """Train MatchaTTS ``steps`` steps with this project's durations and again with its own MAS; the mean
    losses of the last tenth of the steps and the blank share of frames in each alignment."""
    result = {"recipe": recipe.name, "steps": steps, "device": str(device), "ours_blank_share": blank_share(module)}
    for name, precomputed in (("precomputed", True), ("own_mas", False)):
        model = make_model(module.hparams.n_spks, statistics, precomputed, device)
        history = train_matcha(model, module, steps, device)
        tail = history[-max(steps // 10, 1) :]
        result[name] = {k: float(np.mean([row[k] for row in tail])) for k in tail[0]}
        if not precomputed:
            result["own_mas_blank_share"] = blank_share(module, model, str(device))
    return result


def run_recipe(checks: Checks, recipe: Recipe, work: Path, args: argparse.Namespace) -> dict | None:
    """Steps 2-5 of one recipe in WORK/upstream-root; the --compare-mas figures when asked (ljspeech)."""
    root, logs = work / "upstream-root", work / "logs"
    print(f"\n== recipe {recipe.name}: configs/data/{recipe.name}.yaml in {root}", flush=True)
    start = time.perf_counter()
    config = compose_data_config(root, recipe.name)
    print("  data config (hydra): " + ", ".join(f"{k} {config[k]}" for k in (
        "sample_rate", "hop_length", "n_fft", "win_length", "n_feats", "f_min", "f_max", "cleaners", "add_blank",
        "n_spks", "data_statistics", "load_durations")))  # fmt: skip
    demo = work / f"demo-{recipe.name}"
    shutil.rmtree(demo, ignore_errors=True)
    build_root(root, demo, recipe, config, args.utterances, logs)
    checkpoint = f"checkpoints/aligner-{recipe.name}"
    yaml_path = f"configs/data/{recipe.name}.yaml"
    try:
        train_s = run(logs, f"{recipe.name}-train", ["-m", "aligner.train", str(TINY), "--data_config", yaml_path,
            "--output_dir", checkpoint, "--max_steps", str(args.aligner_steps), "--eval_steps", str(args.aligner_steps),
            "--save_steps", "0", "--warmup_steps", "10", "--report_to", "none", "--acoustic_rounds", "2"],
            root)  # fmt: skip
        extract_s = run(logs, f"{recipe.name}-extract", ["-m", "matcha.utils.extract_durations", "--data-config",
            yaml_path, "--checkpoint", checkpoint, "--device", "cpu"], root,
            show=("text front end:", "mel grid:"))  # fmt: skip
    except StepFailed as error:
        checks(f"{recipe.name}: the aligner's commands run", False, failure=str(error))
        return None
    figures = None
    with working_directory(root):
        check_lengths(checks, recipe, config)
        wav_reader(checks, filelist_rows(config)[0][0])
        statistics = mel_statistics(config)
        print(f"  mel statistics of this audio (upstream's compute_data_statistics): {statistics}")
        module = data_module(config, statistics, load_durations=True)
        check_loader(checks, recipe, module)
        check_training(checks, recipe, module, statistics, args.steps)
        if args.compare_mas and recipe.name == "ljspeech":
            figures = compare_with_own_mas(recipe, module, statistics, args.compare_mas, torch.device(args.device))
            print(json.dumps(figures, indent=1))
    print(
        f"  recipe {recipe.name}: {time.perf_counter() - start:.0f} s (aligner training {train_s:.0f} s, "
        f"extraction {extract_s:.0f} s)",
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "outputs/matcha_check", help="folder for the recipes")
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES), help="default: both")
    parser.add_argument("--utterances", type=int, default=48, help="utterances per recipe (default 48)")
    parser.add_argument("--aligner-steps", type=int, default=150, help="tiny.yaml training steps")
    parser.add_argument("--steps", type=int, default=50, help="MatchaTTS training steps")
    parser.add_argument("--imports-only", action="store_true", help="only step 1")
    parser.add_argument(
        "--compare-mas",
        type=int,
        default=0,
        metavar="STEPS",
        help="after the ljspeech recipe's checks, train MatchaTTS STEPS steps with these durations and again with "
        "its own MAS (on --device; scripts/gpu_check.sh runs it on a GPU) and report the losses and blank shares",
    )
    parser.add_argument("--device", default="cpu", help="device of --compare-mas (default: cpu)")
    parser.add_argument("--json", type=Path, help="write the --compare-mas figures here")
    args = parser.parse_args(argv)
    if args.steps < 10:
        parser.error("--steps must be at least 10: the first 5 and the last 5 steps are compared")
    start = time.perf_counter()
    checks = Checks()
    check_imports(checks)
    if not args.imports_only:
        work = args.work.resolve()
        root = work / "upstream-root"
        for stale in (root, work / "logs"):  # every run builds, trains and extracts afresh
            shutil.rmtree(stale, ignore_errors=True)
        shutil.copytree(FIXTURE, root)
        for name in args.recipes:
            figures = run_recipe(checks, RECIPES[name], work, args)
            if figures and args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(figures, indent=1))
    print(f"matcha-check: {len(checks.failed)} failed" + (f" ({', '.join(checks.failed)})" if checks.failed else "")
          + f"; {time.perf_counter() - start:.0f} s")  # fmt: skip
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
