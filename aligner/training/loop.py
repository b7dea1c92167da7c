"""Train the Wav2Vec2 CTC aligner on Matcha's IPA tokens.

    accelerate launch aligner/train.py CONFIG.yaml [--corpus C] [--output_dir D] [--max_steps N] [--key value ...]
    python aligner/train.py CONFIG.yaml ...                                   (one process)
    accelerate launch --multi_gpu --num_processes N aligner/train.py ...      (N processes: GPUs, or CPU+gloo
                                                                                without GPU / ACCELERATE_USE_CPU=1)
Note: ``accelerate launch --cpu --num_processes N`` starts a single process (accelerate needs mpirun for that).

CONFIG.yaml (see configs/aligner/) gives the values of the fields listed below; flags override them.
The corpus is prepared once and cached (aligner.training.data); training runs with accelerate (one or several
processes, CPU or GPU, mixed precision on GPU), evaluates the phone error rate (greedy CTC) on the
held-out split every ``eval_steps``, logs to TensorBoard (D/tensorboard), saves resumable states in
D/checkpoints/ (a rerun of the same command continues from the newest whole one: docs/training.md) and finally
writes to D: the model with the lowest held-out PER of all evaluations (the
last one included; safetensors) and processor, loadable with
``Wav2Vec2ForCTC.from_pretrained(D)`` and ``Wav2Vec2Processor.from_pretrained(D)``, README.md (model
card), train_config.yaml, data_report.json and train_results.json.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from accelerate import Accelerator, DistributedDataParallelKwargs
from accelerate.utils import set_seed
from tqdm.auto import tqdm
from transformers import Wav2Vec2ForCTC, get_scheduler

from aligner.acoustic.model import MODEL_FILE
from aligner.acoustic.settings import SETTINGS_FILE
from aligner.acoustic.train import fit_acoustic_stage
from aligner.corpus import CorpusError
from aligner.ctc.label_prior import LabelPrior
from aligner.ctc.model import ModelArguments, build_model, ctc_loss, feature_extractor_for, output_lengths
from aligner.ctc.vocab import build_processor
from aligner.durations import atomic_write
from aligner.processes import cpu_only_processes, process_state
from aligner.text.frontend import FrontendError
from aligner.training.augment import SpeedPerturbation, check_factors
from aligner.training.config import parse_config, to_dict
from aligner.training.data import CTCCollator, DataArguments, LengthGroupedSampler, PreparedData, prepare_data
from aligner.training.metrics import edit_distance, greedy_decode

logger = logging.getLogger("aligner.train")
MIXED_PRECISION = ("auto", "no", "fp16", "bf16")
SMALL_CORPUS_KEYS = ("model_config", "speed_perturbation")


@dataclass
class TrainArguments:
    """Optimisation, evaluation, logging and checkpoints."""

    output_dir: str = field(default="outputs/aligner/run", metadata={"help": "where the model and logs go"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    max_steps: int = field(default=1000, metadata={"help": "optimizer steps"})
    max_train_minutes: float = field(
        default=0.0, metadata={"help": "stop after this much training time, evaluation excluded (0: no limit)"}
    )
    per_device_train_batch_size: int = field(default=8, metadata={"help": "utterances per process and micro-batch"})
    per_device_eval_batch_size: int = field(default=8, metadata={"help": "utterances per process in evaluation"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    adam_beta2: float = field(default=0.999, metadata={"help": "AdamW beta2"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping (0: none)"})
    lr_scheduler_type: str = field(default="linear", metadata={"help": "transformers scheduler name"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps"})
    mixed_precision: str = field(
        default="auto", metadata={"help": "auto (bf16, else fp16, on GPU; none on CPU), no, fp16, bf16"}
    )
    group_by_length: bool = field(default=True, metadata={"help": "batch utterances of similar length"})
    dataloader_num_workers: int = field(default=0, metadata={"help": "data loader worker processes"})
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})
    eval_steps: int = field(default=200, metadata={"help": "evaluate every N steps (and at the end)"})
    save_steps: int = field(default=500, metadata={"help": "save a resumable checkpoint every N steps (0: never)"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept"})
    resume_from_checkpoint: str | None = field(
        default="latest",
        metadata={"help": "'latest' (the newest whole checkpoint in OUTPUT_DIR/checkpoints, if any, of a run with "
                  "these settings: a rerun continues a killed one), a checkpoint folder, or null (start afresh)"},
    )  # fmt: skip
    report_to: str = field(default="tensorboard", metadata={"help": "'tensorboard' or 'none'"})
    label_prior_weight: float = field(
        default=0.0,
        metadata={
            "help": "alpha of CTC with label priors (aligner.ctc.label_prior): less peaky posteriors; 0: plain CTC"
        },
    )
    label_prior_steps: int = field(default=100, metadata={"help": "re-estimate the label prior every N steps"})
    acoustic_rounds: int = field(
        default=10,
        metadata={"help": "at the end, Viterbi-train the acoustic stage on the corpus in at most N rounds "
                  "(aligner.acoustic.train; 0: skip it, extraction then needs --method mel)"},
    )  # fmt: skip
    acoustic_utterances: int = field(
        default=1000, metadata={"help": "fit the acoustic stage on at most this many utterances of the corpus"}
    )
    speed_perturbation: list[float] = field(
        default_factory=lambda: [1.0],
        metadata={"help": "speed factors, one drawn per utterance and epoch (aligner.training.augment), "
                  "e.g. [0.9, 1.0, 1.1]; [1.0]: none"},
    )  # fmt: skip

    small_corpus_hours: float = field(
        default=0.0,
        metadata={"help": "a corpus with less audio than this (hours, all its wavs) trains with the small_corpus "
                  "settings (0: never)"},
    )  # fmt: skip
    small_corpus: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "settings for a small corpus: model_config (merged into the model's) and "
                  "speed_perturbation, e.g. {model_config: {hidden_dropout: 0.1}, speed_perturbation: [0.9, 1, 1.1]}"},
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_factors("speed_perturbation", self.speed_perturbation)
        check_factors("small_corpus.speed_perturbation", self.small_corpus.get("speed_perturbation", [1.0]))
        unknown = sorted(set(self.small_corpus) - set(SMALL_CORPUS_KEYS))
        if unknown:
            raise ValueError(f"small_corpus: unknown keys {unknown} (known: {list(SMALL_CORPUS_KEYS)})")
        small_model = self.small_corpus.get("model_config", {})
        if not isinstance(small_model, dict):
            raise ValueError(f"small_corpus.model_config must be a mapping, got {small_model!r}")
        ModelArguments(model_config=small_model)  # checks its fields
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")
        if self.report_to not in ("tensorboard", "none"):
            raise ValueError(f"report_to must be 'tensorboard' or 'none', got {self.report_to!r}")


@dataclass
class TrainState:
    """Progress saved with every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # micro-batches of the current epoch already consumed
    seconds: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class BestModel:
    """The evaluation with the lowest held-out PER so far and a CPU copy of the model's weights then
    (checkpointed with the run, so a resumed run saves the same model as an uninterrupted one)."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.per = math.inf
        self.weights: dict[str, torch.Tensor] | None = None

    def update(self, model: torch.nn.Module, step: int, per: float) -> None:
        """Keep a copy of ``model``'s weights if ``per`` is lower than the best so far (NaN never is; a tie
        keeps the earlier). ``per`` is gathered over all processes: every process takes the same decision."""
        if per < self.per:
            self.step, self.per = step, per
            self.weights = {name: value.detach().to("cpu", copy=True) for name, value in model.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "per": self.per, "weights": self.weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step, self.per, self.weights = state["step"], state["per"], state["weights"]


def apply_small_corpus(model_args: ModelArguments, args: TrainArguments, hours: float) -> bool:
    """Merge ``args.small_corpus`` into ``model_args.model_config`` and ``args.speed_perturbation`` when the corpus
    holds less than ``args.small_corpus_hours`` of audio (``hours``); returns whether it did. A model from
    scratch overfits a small corpus (tiny.yaml on 200 utterances, 10 minutes of audio: training loss 0.02, the
    held-out loss rising from step 500), and dropout, time masking and speed perturbation slow a large one:
    benchmarks/small_corpus.py measures both (docs/training.md)."""
    if not 0 < hours < args.small_corpus_hours:
        return False
    model_args.model_config = {**model_args.model_config, **args.small_corpus.get("model_config", {})}
    args.speed_perturbation = list(args.small_corpus.get("speed_perturbation", args.speed_perturbation))
    return True


def resolve_mixed_precision(requested: str, device: torch.device) -> str:
    """accelerate's mixed_precision for ``requested`` on ``device`` (always 'no' off GPU)."""
    if device.type != "cuda":
        return "no"
    if requested == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return requested


PARTIAL_PREFIX = ".partial-"  # a folder being written: renamed into place once whole


RUN_FILE = "run.json"  # in each checkpoint: the settings and data a resuming run must share (run_identity)


FREE_ON_RESUME = (  # settings a run resumed from 'latest' may change: where things are, logging, saving, the guard,
    # the acoustic fit at the end (the corpus itself is compared through its prepared data)
    "output_dir", "corpus", "data_config", "cache_dir", "num_proc", "resume_from_checkpoint", "max_train_minutes",
    "report_to", "logging_steps", "save_steps", "save_total_limit", "dataloader_num_workers", "acoustic_rounds",
    "acoustic_utterances",
)  # fmt: skip


def find_checkpoint(output_dir: Path, resume: str) -> Path | None:
    """The checkpoint to resume from: ``resume`` itself, or for 'latest' the newest whole one in
    OUTPUT_DIR/checkpoints (None if none). A save a kill interrupted left a ``.partial-step_N`` folder, never a
    ``step_N`` one (``save_checkpoint``): 'latest' skips it and says so."""
    if resume != "latest":
        path = Path(resume)
        if not path.is_dir() or path.name.startswith(PARTIAL_PREFIX):
            raise FileNotFoundError(f"resume_from_checkpoint: {path} is not a checkpoint folder")
        return path
    folder = output_dir / "checkpoints"
    for partial in sorted(folder.glob(f"{PARTIAL_PREFIX}step_*")):
        logger.warning("skipping %s: its save did not finish (the run was stopped during it)", partial)
    found = sorted(folder.glob("step_*"))
    return found[-1] if found else None


def run_identity(config: dict[str, Any], data: PreparedData, corpus: Path, processes: int) -> dict[str, Any]:
    """What a checkpoint records of its run, as JSON values: every setting of ``config`` (the run's merged
    arguments) but ``FREE_ON_RESUME``, the number of processes (the schedule, the batches consumed and the
    random states are per process), and under ``prepared_data`` the prepared data's cache key (it changes with
    the corpus's texts and wavs, and with their file times) and the corpus folder."""
    identity = {key: value for key, value in config.items() if key not in FREE_ON_RESUME}
    identity["num_processes"] = processes
    identity["prepared_data"] = {"key": data.path.name, "corpus": str(corpus.resolve())}
    return json.loads(json.dumps(identity))


def run_differences(checkpoint: Path, identity: dict[str, Any]) -> tuple[str, bool]:
    """How ``checkpoint``'s run (its ``RUN_FILE``) differs from ``identity`` (``run_identity``): the settings
    both know that differ, as ``key: then -> now`` pairs, ``corpus`` when its data came from another corpus
    folder, or the missing ``RUN_FILE`` of a checkpoint saved before it was written (empty when none); and
    whether the prepared data of the same corpus changed."""
    path = checkpoint / RUN_FILE
    if not path.is_file():
        return f"no {RUN_FILE} (saved by an earlier version: its settings are unknown)", False
    saved = json.loads(path.read_text(encoding="utf-8"))
    then, now = saved.pop("prepared_data", {}), identity["prepared_data"]
    keys = sorted(key for key in saved.keys() & identity.keys() if saved[key] != identity[key])
    differences = [f"{key}: {saved[key]!r} -> {identity[key]!r}" for key in keys]
    data_changed = then.get("key") != now["key"]
    if data_changed and then.get("corpus") != now["corpus"]:
        differences.append(f"corpus: {then.get('corpus')} -> {now['corpus']}")
    return ", ".join(differences), data_changed and not differences


def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, keep: int, identity: dict[str, Any]) -> None:
    """``save_state`` into OUTPUT_DIR/checkpoints/.partial-step_N with the run's ``identity``
    (``run_identity``, in ``RUN_FILE``), renamed to step_N once every process has written its part, so that a
    step_N folder is always whole; keeps the newest ``keep`` and removes what interrupted saves left."""
    folder = output_dir / "checkpoints"
    final = folder / f"step_{step:07d}"
    partial = folder / f"{PARTIAL_PREFIX}{final.name}"
    if accelerator.is_main_process:
        for stale in folder.glob(f"{PARTIAL_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (partial / RUN_FILE).write_text(json.dumps(identity, indent=1), encoding="utf-8")
        replaced = folder / f"{PARTIAL_PREFIX}replaced-{final.name}"
        if final.exists():  # saved again (a run resumed from an earlier checkpoint): the old one goes aside first
            final.rename(replaced)
        partial.rename(final)
        shutil.rmtree(replaced, ignore_errors=True)
        for old in sorted(folder.glob("step_*"))[: -max(keep, 1)]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def save_model(
    accelerator: Accelerator, model: Wav2Vec2ForCTC, processor: Any, output_dir: Path, texts: dict[str, str]
) -> None:
    """The final ``model``, its ``processor`` and ``texts`` (file name -> content) into ``output_dir``: all
    written into OUTPUT_DIR/.partial-model first, then the acoustic stage of the model they replace removed (it
    was fitted on that model's posteriors) and every file renamed into place, so each appears whole or not at
    all."""
    partial = output_dir / f"{PARTIAL_PREFIX}model"
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:  # the weights are the same in every process (DDP)
        model.save_pretrained(partial)
        processor.save_pretrained(partial)
        for name, text in texts.items():
            (partial / name).write_text(text, encoding="utf-8")
        for name in (SETTINGS_FILE, MODEL_FILE):
            (output_dir / name).unlink(missing_ok=True)
        for path in sorted(partial.iterdir()):
            os.replace(path, output_dir / path.name)
        partial.rmdir()
    accelerator.wait_for_everyone()


@torch.no_grad()
def evaluate(
    accelerator: Accelerator, model: torch.nn.Module, raw: Wav2Vec2ForCTC, loader, use_mask: bool
) -> dict[str, float]:
    """Phone error rate (greedy CTC) and mean CTC loss over the held-out split, all processes together."""
    model.eval()
    errors, lengths, losses = [], [], []
    for batch in loader:
        logits = model(batch["input_values"], attention_mask=batch["attention_mask"] if use_mask else None).logits
        frames = output_lengths(raw, batch["input_lengths"])
        references = [row[:n].tolist() for row, n in zip(batch["labels"], batch["label_lengths"], strict=True)]
        hypotheses = greedy_decode(logits, frames)
        error = torch.tensor([edit_distance(h, r) for h, r in zip(hypotheses, references, strict=True)])
        loss = ctc_loss(raw, logits, batch, reduction="none") / batch["label_lengths"]
        gathered = accelerator.gather_for_metrics((error.to(logits.device), batch["label_lengths"], loss))
        errors.append(gathered[0].cpu())
        lengths.append(gathered[1].cpu())
        losses.append(gathered[2].float().cpu())
    model.train()
    if not errors:
        return {"per": float("nan"), "eval_loss": float("nan")}
    per = torch.cat(errors).sum().item() / max(torch.cat(lengths).sum().item(), 1)
    return {"per": per, "eval_loss": torch.cat(losses).mean().item()}


def make_loaders(data: PreparedData, args: TrainArguments, speed: SpeedPerturbation | None) -> tuple[Any, Any]:
    """Training loader (length-grouped, reshuffled per epoch by its ``set_epoch``; audio through ``speed`` when given)
    and held-out loader (by length, never perturbed)."""
    lengths = [int(n) for n in data.train["input_length"]]
    group = args.per_device_train_batch_size if args.group_by_length else 1
    sampler = LengthGroupedSampler(lengths, group, args.seed)
    train_loader = torch.utils.data.DataLoader(
        data.train,
        batch_size=args.per_device_train_batch_size,
        sampler=sampler,
        collate_fn=CTCCollator(speed),
        num_workers=args.dataloader_num_workers,
        # its own generator: each pass over a DataLoader draws a seed, by default from the global RNG, which
        # a resumed run's first pass (a new loader, skipping batches) would then draw once more than the
        # uninterrupted run, shifting every dropout and time-mask draw after it
        generator=torch.Generator().manual_seed(args.seed),
    )
    eval_lengths = [int(n) for n in data.eval["input_length"]]
    eval_order = sorted(range(len(eval_lengths)), key=eval_lengths.__getitem__, reverse=True)
    eval_loader = torch.utils.data.DataLoader(
        data.eval, batch_size=args.per_device_eval_batch_size, sampler=eval_order, collate_fn=CTCCollator()
    )
    return train_loader, eval_loader


def make_optimizer(model: torch.nn.Module, args: TrainArguments, num_processes: int) -> tuple[Any, Any]:
    """AdamW (no weight decay on biases and norms) and the warm-up scheduler."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.learning_rate,
        betas=(0.9, args.adam_beta2),
    )
    # accelerate steps a prepared scheduler once per process at every optimizer step.
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.warmup_steps * num_processes,
        num_training_steps=args.max_steps * num_processes,
    )
    return optimizer, scheduler


def model_card(model_args: ModelArguments, data_args: DataArguments, data: PreparedData, results: dict) -> str:
    """README.md written beside the trained model."""
    start = model_args.model_name_or_path or "a Wav2Vec2 built from its config (from scratch)"
    report = data.report
    return f"""# Matcha-TTS CTC aligner

Wav2Vec2ForCTC whose output `i` is `aligner.text.symbols[i]` (CTC blank = pad `_` = id 0), trained with
`aligner/train.py` to give phone posteriors for Matcha-TTS duration extraction.

- Start: {start}{" (CTC head rows of shared symbols transferred)" if model_args.head_transfer else ""}
- CTC targets: `{data_args.ctc_targets}`
- Data: `{data_args.corpus}`: {report.train} training utterances ({report.train_hours:.2f} h), {report.eval} held out,
  {sum(report.excluded.values())} left out ({json.dumps(report.excluded, ensure_ascii=False)})
- Training: {results["steps"]} steps ({results["epochs"]:.1f} epochs), batch {results["total_batch_size"]},
  {results["num_processes"]} process(es), {results["train_seconds"] / 60:.1f} min
- Saved: the weights of step {results["best_step"]}, the lowest held-out phone error rate (greedy CTC) of
  {len(results["per_curve"])} evaluations: {results["best_per"]:.2%}
  (at the last step, {results["steps"]}: {results["final_per"]:.2%})

Load with `Wav2Vec2ForCTC.from_pretrained(folder)` and `Wav2Vec2Processor.from_pretrained(folder)`;
audio: 16 kHz mono. `train_config.yaml` holds the full configuration, `train_results.json` the PER curve.
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    model_args, data_args, args = parse_config(
        (ModelArguments, DataArguments, TrainArguments), argv, prog="aligner/train.py", description=__doc__
    )
    output_dir = Path(args.output_dir)
    process = process_state()
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=logging.INFO if process.is_main_process else logging.WARNING,
    )
    logging.getLogger("accelerate.checkpointing").setLevel(logging.WARNING)
    try:
        corpus = data_args.open_corpus()
        hours = corpus.audio_hours if args.small_corpus_hours > 0 else 0.0
    except CorpusError as error:
        logger.error("%s", error)
        return 2
    if apply_small_corpus(model_args, args, hours):
        logger.info(
            "%.2f h of audio, less than small_corpus_hours (%g): training with the small_corpus settings %s",
            hours, args.small_corpus_hours, args.small_corpus,
        )  # fmt: skip
    set_seed(args.seed)
    model = build_model(model_args)
    model.config.ctc_targets = data_args.ctc_targets
    if model_args.freeze_feature_encoder:
        model.freeze_feature_encoder()
    if model_args.gradient_checkpointing:
        model.activation_checkpointing_enable()  # non-reentrant: safe with DDP and a frozen encoder
    accelerator = Accelerator(
        cpu=cpu_only_processes(),
        mixed_precision=resolve_mixed_precision(args.mixed_precision, process.device),
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with="tensorboard" if args.report_to == "tensorboard" else None,
        project_dir=str(output_dir),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=model.config.layerdrop > 0)],
    )
    extractor = feature_extractor_for(model_args, model)
    processor = build_processor(extractor)
    use_mask = bool(extractor.return_attention_mask)

    with accelerator.main_process_first():
        try:
            data = prepare_data(data_args, extractor, model.config.conv_kernel, model.config.conv_stride, corpus)
        except (CorpusError, FrontendError) as error:
            logger.error("%s", error)
            return 2
    logger.info("text front end: %s", data.frontend)
    logger.info("data (%s%s):\n%s", data.path, ", from cache" if data.from_cache else "", data.report.summary())
    model.config.text_frontend = data.frontend
    if len(data.train) == 0:
        logger.error("no training utterance left")
        return 1

    speed = None
    if set(args.speed_perturbation) != {1.0}:
        speed = SpeedPerturbation(
            tuple(args.speed_perturbation), args.seed, model.config.conv_kernel, model.config.conv_stride,
            normalise=bool(extractor.do_normalize),
        )  # fmt: skip
    train_loader, eval_loader = make_loaders(data, args, speed)
    optimizer, scheduler = make_optimizer(model, args, accelerator.num_processes)
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler
    )
    raw: Wav2Vec2ForCTC = accelerator.unwrap_model(model)
    state = TrainState()
    prior = LabelPrior(raw.config.vocab_size)
    best = BestModel()
    accelerator.register_for_checkpointing(state)
    accelerator.register_for_checkpointing(prior)
    accelerator.register_for_checkpointing(best)
    config = to_dict(model_args, data_args, args)
    identity = run_identity(config, data, corpus.root, accelerator.num_processes)
    checkpoint = find_checkpoint(output_dir, args.resume_from_checkpoint) if args.resume_from_checkpoint else None
    if checkpoint is not None:
        differences, data_changed = run_differences(checkpoint, identity)
        if data_changed:
            logger.warning(
                "the prepared data differ from those %s trained on (the corpus's texts or wavs changed, or only "
                "their file times): resuming on these", checkpoint,
            )  # fmt: skip
        if differences and args.resume_from_checkpoint == "latest":
            logger.error(
                "%s is of a run with other settings (%s): resuming it would mix two trainings; start afresh in "
                "this folder with --resume_from_checkpoint null (its checkpoints are removed), use another "
                "--output_dir, or give the checkpoint folder itself to resume it anyway", checkpoint, differences,
            )  # fmt: skip
            return 2
        if differences:
            logger.warning("resuming %s, of a run with other settings: %s", checkpoint, differences)
        accelerator.load_state(str(checkpoint))
        logger.info("resumed from %s at step %d of %d", checkpoint, state.step, args.max_steps)
    elif not args.resume_from_checkpoint and accelerator.is_main_process:
        earlier = sorted((output_dir / "checkpoints").glob("step_*"))
        if earlier:
            logger.warning(
                "starting afresh: removing %d checkpoints of an earlier run in %s", len(earlier), earlier[0].parent
            )
        for folder in earlier:  # renamed first: a kill while deleting leaves no half step_N for 'latest'
            removed = folder.with_name(f"{PARTIAL_PREFIX}removed-{folder.name}")
            folder.rename(removed)
            shutil.rmtree(removed)
    accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        config_text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        report_text = json.dumps(dataclasses.asdict(data.report), indent=1)
        atomic_write(output_dir / "train_config.yaml", lambda tmp: Path(tmp).write_text(config_text, encoding="utf-8"))
        atomic_write(output_dir / "data_report.json", lambda tmp: Path(tmp).write_text(report_text, encoding="utf-8"))
    if args.report_to == "tensorboard":
        hparams = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in config.items()}
        accelerator.init_trackers("tensorboard", config=hparams)

    total_batch = args.per_device_train_batch_size * accelerator.num_processes * args.gradient_accumulation_steps
    logger.info(
        "training %d steps: %d utterances, batch %d (%d per process x %d processes x %d accumulation), "
        "%s, mixed precision %s",
        args.max_steps, len(data.train), total_batch, args.per_device_train_batch_size,
        accelerator.num_processes, args.gradient_accumulation_steps, accelerator.device, accelerator.mixed_precision,
    )  # fmt: skip

    def run_eval() -> None:
        metrics = evaluate(accelerator, model, raw, eval_loader, use_mask)
        state.curve.append({"step": state.step, "seconds": round(state.seconds, 1), **metrics})
        best.update(raw, state.step, metrics["per"])
        accelerator.log(metrics, step=state.step)
        logger.info(
            "step %d: held-out PER %.2f%%, eval loss %.3f", state.step, 100 * metrics["per"], metrics["eval_loss"]
        )

    progress = tqdm(
        total=args.max_steps, initial=state.step, disable=not accelerator.is_local_main_process, desc="train"
    )
    running, counted = torch.zeros((), device=accelerator.device), 0
    limit = args.max_train_minutes * 60
    clock = time.monotonic()
    stop = state.step >= args.max_steps or bool(limit and state.seconds >= limit)  # a resumed run: no extra step
    while not stop:
        if speed is not None:
            speed.set_epoch(state.epoch)
        loader = accelerator.skip_first_batches(train_loader, state.batch) if state.batch else train_loader
        # accelerate's loader sets its sampler's epoch from its own count of iterations, which a resumed run
        # starts at 0: the epoch is set on the loader that iterates (it passes it to the sampler)
        loader.set_epoch(state.epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                mask = batch["attention_mask"] if use_mask else None
                logits = model(batch["input_values"], attention_mask=mask).logits
                loss = ctc_loss(raw, logits, batch, log_prior=prior.log_prior, prior_weight=args.label_prior_weight)
                if args.label_prior_weight > 0:
                    prior.accumulate(logits, output_lengths(raw, batch["input_lengths"]))
                accelerator.backward(loss)
                if accelerator.sync_gradients and args.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            state.batch += 1
            running += loss.detach().float()
            counted += 1
            if not accelerator.sync_gradients:
                continue
            state.step += 1
            now = time.monotonic()
            state.seconds += now - clock
            clock = now
            progress.update(1)
            if args.label_prior_weight > 0 and state.step % args.label_prior_steps == 0:
                sums = accelerator.reduce(prior.sums.to(accelerator.device), reduction="sum").cpu()
                frames = accelerator.reduce(torch.tensor(prior.frames, device=accelerator.device), reduction="sum")
                prior.update(sums, int(frames))
            if state.step % args.logging_steps == 0:
                mean_loss = accelerator.reduce(running / counted, reduction="mean").item()
                running, counted = torch.zeros((), device=accelerator.device), 0
                lr = scheduler.get_last_lr()[0]
                accelerator.log({"loss": mean_loss, "lr": lr, "epoch": state.epoch}, step=state.step)
                progress.set_postfix(loss=f"{mean_loss:.3f}", lr=f"{lr:.2e}")
            if limit and state.seconds >= limit:
                logger.warning(
                    "max_train_minutes=%g reached at step %d of %d: stopping (a guard; on a busy machine the "
                    "model then trains less)", args.max_train_minutes, state.step, args.max_steps,
                )  # fmt: skip
                accelerator.set_trigger()
            stop = accelerator.check_trigger() or state.step >= args.max_steps
            if args.eval_steps and state.step % args.eval_steps == 0 and not stop:
                run_eval()
            if args.save_steps and (
                state.step % args.save_steps == 0 or stop
            ):  # the last: a kill after it loses no step
                save_checkpoint(accelerator, output_dir, state.step, args.save_total_limit, identity)
            clock = time.monotonic()
            if stop:
                break
        else:
            state.epoch += 1
            state.batch = 0
    progress.close()
    run_eval()
    if best.weights is None:  # no PER (no held-out utterance): the last weights
        best.step, best.per = state.step, state.curve[-1]["per"]
    else:
        raw.load_state_dict(best.weights)

    results = {
        "steps": state.step,
        "epochs": state.epoch + state.batch / max(len(train_loader), 1),
        "train_seconds": state.seconds,
        "steps_per_second": state.step / state.seconds if state.seconds else math.nan,
        "total_batch_size": total_batch,
        "num_processes": accelerator.num_processes,
        "final_per": state.curve[-1]["per"],
        "final_eval_loss": state.curve[-1]["eval_loss"],
        "best_step": best.step,
        "best_per": best.per,
        "per_curve": state.curve,
        "train_utterances": len(data.train),
        "eval_utterances": len(data.eval),
        "train_hours": data.report.train_hours,
    }
    accelerator.wait_for_everyone()
    if args.label_prior_weight > 0:
        raw.config.label_log_prior = [round(v, 4) for v in prior.log_prior.tolist()]
    texts = {
        "README.md": model_card(model_args, data_args, data, results),
        "train_results.json": json.dumps(results, indent=1),
    }
    save_model(accelerator, raw, processor, output_dir, texts)
    if accelerator.is_main_process:
        logger.info(
            "saved to %s: the model of step %d, held-out PER %.2f%% (lowest of %d evaluations; %.2f%% at the "
            "last step, %d)",
            output_dir, best.step, 100 * best.per, len(state.curve), 100 * state.curve[-1]["per"], state.step,
        )  # fmt: skip
        if args.acoustic_rounds > 0:
            fitted = fit_acoustic_stage(
                output_dir, corpus, args.acoustic_rounds, args.acoustic_utterances, device=str(raw.device),
                text_frontend=data_args.text_frontend,
            )  # fmt: skip
            logger.info(
                "acoustic stage fitted on %d utterances of %s in %d rounds; CTC frame offset %.2f ms",
                fitted["utterances"], corpus.root, len(fitted["rounds"]), fitted["offset_ms"],
            )  # fmt: skip
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0
