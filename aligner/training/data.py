"""Corpus -> ``datasets.Dataset`` of 16 kHz normalised audio and Matcha-id CTC targets, cached on disk.

Steps: read the corpus's filelists (``aligner.corpus``); turn every text into the installed Matcha's
tokens (``aligner.text.frontend``: the run's front end is recorded in the checkpoint) and map them by
symbol to the CTC head's ids; split off a held-out set (deterministic: utterances ordered by a hash of their text, so
an utterance keeps its side when the corpus grows and a sentence read by several speakers is never on
both sides); decode the wavs with soundfile, resample them to 16 kHz with soxr and normalise them as
the feature extractor does (multi-process ``map``); leave out, and report with counts and examples,
utterances whose text has an unknown symbol or gives no target, whose wav is unreadable, that are
shorter or longer than the configured limits, or whose audio gives fewer CTC frames than their
targets need (targets + a blank between equal neighbours).

The result is saved under ``cache_dir/<fingerprint>/`` (train, eval, report.json). The fingerprint
covers the filelists, every wav's size and mtime, the symbol table, the front end (its name and source
files) and the phonemiser versions, the data arguments and the model's frame rate, so a second run with
the same inputs loads it at once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor

from aligner.audio import AudioError
from aligner.corpus import Corpus, MetadataError
from aligner.ctc.input import load_audio, output_frames
from aligner.ctc.vocab import SAMPLING_RATE, ctc_targets
from aligner.search.forced_align import frames_needed
from aligner.text import (
    NON_PHONE_IDS,
    symbols,
)
from aligner.text.frontend import TextFrontend, resolve_frontend
from aligner.tokens import TokenError, tokenise
from aligner.training.augment import SpeedPerturbation

PIPELINE_VERSION = 4  # 4: the installed Matcha's front end, every filelist of the corpus
MAX_EXAMPLES = 5
TEXT_FEATURES = datasets.Features(
    {
        "rel_path": datasets.Value("string"),
        "spk_id": datasets.Value("int64"),
        "language": datasets.Value("string"),
        "text": datasets.Value("string"),
        "phonemes": datasets.Value("string"),
        "labels": datasets.List(datasets.Value("int64")),
        "path": datasets.Value("string"),
    }
)
AUDIO_FEATURES = datasets.Features(
    {
        **TEXT_FEATURES,
        "input_values": datasets.List(datasets.Value("float32")),
        "input_length": datasets.Value("int64"),
        "audio_error": datasets.Value("string"),
    }
)


@dataclass
class DataArguments:
    """Corpus, targets, filtering and split."""

    corpus: str = field(
        default="data/demo", metadata={"help": "corpus folder (*.csv filelists, wav/ or wavs/; see aligner.corpus)"}
    )
    data_config: str | None = field(
        default=None,
        metadata={"help": "a Matcha data YAML: its filelists (the corpus is then their folder) and add_blank"},
    )
    language: str | None = field(
        default=None,
        metadata={"help": "the espeak-ng language of upstream-style filelists (wav_path|text; default: the data "
                  "YAML's cleaners say it, english_cleaners2 = en-us)"},
    )  # fmt: skip
    text_frontend: str | None = field(
        default=None,
        metadata={"help": "module:function (text, language) -> phonemes, or 'builtin' (default: the installed "
                  "Matcha's matcha.text, else builtin)"},
    )  # fmt: skip
    cache_dir: str | None = field(
        default=None, metadata={"help": "prepared-data cache (default: CORPUS/.cache/aligner)"}
    )
    ctc_targets: str = field(
        default="phones",
        metadata={"help": "'phones': targets without space/punctuation; 'all': every Matcha token"},
    )
    min_duration_s: float = field(default=0.3, metadata={"help": "leave out shorter utterances"})
    max_duration_s: float = field(default=20.0, metadata={"help": "leave out longer utterances"})
    eval_fraction: float = field(default=0.05, metadata={"help": "share of utterances held out for evaluation"})
    max_eval_utterances: int = field(default=200, metadata={"help": "at most this many held-out utterances"})
    split_seed: int = field(default=0, metadata={"help": "seed of the hash that chooses the held-out set"})
    num_proc: int = field(default=1, metadata={"help": "processes for decoding/resampling audio"})

    def __post_init__(self) -> None:
        ctc_targets([], self.ctc_targets)  # validates the mode
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"eval_fraction must be in [0, 1), got {self.eval_fraction}")

    def open_corpus(self) -> Corpus:
        """The corpus these arguments name (with ``data_config``: the folder of its train filelist)."""
        return Corpus.open(None if self.data_config else self.corpus, self.data_config, self.language)


@dataclass
class FilterReport:
    """What was kept and what was left out, with examples."""

    total: int = 0
    train: int = 0
    eval: int = 0
    train_hours: float = 0.0
    excluded: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def exclude(self, reason: str, rel_path: str, detail: str) -> None:
        """Count one left-out utterance; keep the first few as examples."""
        self.excluded[reason] = self.excluded.get(reason, 0) + 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(f"{rel_path}: {detail}")

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        lines = [
            f"{self.total} utterances: {self.train} train ({self.train_hours:.2f} h), {self.eval} held out, "
            f"{sum(self.excluded.values())} left out"
        ]
        for reason, count in sorted(self.excluded.items()):
            lines.append(f"  left out, {reason}: {count}")
            lines.extend(f"    e.g. {example}" for example in self.examples[reason])
        return "\n".join(lines)


@dataclass
class PreparedData:
    """Train and held-out datasets (numpy format) with their report."""

    train: datasets.Dataset
    eval: datasets.Dataset
    report: FilterReport
    path: Path
    from_cache: bool
    frontend: str


def _split_key(text: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{' '.join(text.lower().split())}".encode()).hexdigest()


def split_order(texts: list[str], seed: int) -> list[int]:
    """Indices of ``texts`` ordered by a seeded hash of the text (equal texts next to each other)."""
    keys = [_split_key(t, seed) for t in texts]
    return sorted(range(len(texts)), key=lambda i: (keys[i], i))


def held_out(texts: list[str], fraction: float, maximum: int, seed: int) -> set[int]:
    """Indices of the held-out utterances: the head of :func:`split_order`, never splitting a text."""
    order = split_order(texts, seed)
    n = n_held_out(len(texts), fraction, maximum)
    if n == 0:
        return set()
    last = _split_key(texts[order[n - 1]], seed)
    return set(order[:n]) | {i for i in order[n:] if _split_key(texts[i], seed) == last}


def n_held_out(n: int, fraction: float, maximum: int) -> int:
    """Size of the held-out set: ``fraction`` of ``n``, at least 1 when fraction > 0 and n > 1."""
    if fraction <= 0 or n < 2:
        return 0
    return min(max(1, round(fraction * n)), maximum, n - 1)


def fingerprint(
    args: DataArguments,
    corpus: Corpus,
    frontend: TextFrontend,
    feature_extractor: Wav2Vec2FeatureExtractor,
    conv: dict[str, list[int]],
) -> str:
    """Hash of everything the prepared data depends on."""
    digest = hashlib.sha256()
    state: dict[str, Any] = {
        "pipeline": PIPELINE_VERSION,
        "symbols": symbols,
        "non_phone_ids": sorted(NON_PHONE_IDS),
        "versions": [version("phonemizer"), version("espeakng-loader"), version("soxr")],
        "args": {k: v for k, v in asdict(args).items() if k not in ("corpus", "cache_dir", "num_proc")},
        "frontend": [frontend.name, frontend.source_digest()],
        "sampling_rate": feature_extractor.sampling_rate,
        "do_normalize": feature_extractor.do_normalize,
        "conv": conv,
    }
    digest.update(json.dumps(state, sort_keys=True).encode())
    for filelist in corpus.filelists:
        digest.update(filelist.read_bytes())
    for utterance in corpus.read(problems=[]):
        path = utterance.wav
        stat = path.stat() if path.exists() else None
        digest.update(f"{utterance.rel_path}:{stat and stat.st_size}:{stat and stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _phonemise(corpus: Corpus, frontend: TextFrontend, mode: str, report: FilterReport) -> dict[str, list]:
    """Rows (as columns) of the utterances that have tokens (``aligner.tokens``), with their CTC targets; the
    others are left out under their cause."""
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    for problem in problems:
        report.exclude(MetadataError.cause, problem.rel_path or f"line {problem.line}", str(problem))
    report.total = len(utterances) + len(problems)
    columns: dict[str, list] = defaultdict(list)
    for tokens in tokenise(utterances, frontend):
        if isinstance(tokens, TokenError):
            report.exclude(tokens.cause, tokens.utterance.rel_path, str(tokens))
            continue
        utterance = tokens.utterance
        columns["rel_path"].append(utterance.rel_path)
        columns["spk_id"].append(utterance.spk_id)
        columns["language"].append(utterance.language)
        columns["text"].append(utterance.text)
        columns["phonemes"].append(tokens.ipa)
        columns["labels"].append(ctc_targets(tokens.ids, mode))
        columns["path"].append(str(utterance.wav))
    return columns


def _decode(row: dict[str, Any], feature_extractor: Wav2Vec2FeatureExtractor) -> dict[str, Any]:
    try:
        audio = load_audio(row["path"], feature_extractor)
        error = ""
    except AudioError as exc:
        audio, error = np.zeros(0, np.float32), str(exc)
    return {"input_values": audio, "input_length": len(audio), "audio_error": error}


def _keep(row: dict[str, Any], args: DataArguments, conv: dict[str, list[int]], report: FilterReport) -> bool:
    rel_path, n = row["rel_path"], row["input_length"]
    seconds = n / SAMPLING_RATE
    if row["audio_error"]:
        report.exclude("unreadable audio", rel_path, row["audio_error"])
    elif seconds < args.min_duration_s:
        report.exclude("too short", rel_path, f"{seconds:.2f} s < min_duration_s {args.min_duration_s}")
    elif seconds > args.max_duration_s:
        report.exclude("too long", rel_path, f"{seconds:.2f} s > max_duration_s {args.max_duration_s}")
    elif output_frames(n, **conv) < frames_needed(row["labels"]):
        report.exclude(
            "fewer frames than targets",
            rel_path,
            f"{output_frames(n, **conv)} frames for {len(row['labels'])} targets "
            f"({frames_needed(row['labels'])} with repeats)",
        )
    else:
        return True
    return False


def _build(
    args: DataArguments,
    corpus: Corpus,
    frontend: TextFrontend,
    feature_extractor: Wav2Vec2FeatureExtractor,
    conv: dict,
    target: Path,
) -> None:
    report = FilterReport()
    columns = _phonemise(corpus, frontend, args.ctc_targets, report)
    tmp = target.with_name(f"{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    table = datasets.Dataset.from_dict(dict(columns), features=TEXT_FEATURES)
    table = table.map(
        _decode,
        fn_kwargs={"feature_extractor": feature_extractor},
        features=AUDIO_FEATURES,
        num_proc=args.num_proc if args.num_proc > 1 and len(table) > 1 else None,
        desc="decoding audio",
        # the decoded audio goes to a file as it comes: a dataset made in memory would keep it all in memory
        cache_file_name=str(tmp / "decoded" / "audio.arrow"),
    )
    rows = table.remove_columns(["input_values"]).to_list()
    kept = {i for i, row in enumerate(rows) if _keep(row, args, conv, report)}
    texts = [f"{row['language']}:{row['text']}" for row in rows]
    evaluation = held_out(texts, args.eval_fraction, args.max_eval_utterances, args.split_seed)
    train_idx = [i for i in range(len(rows)) if i in kept and i not in evaluation]
    eval_idx = [i for i in range(len(rows)) if i in kept and i in evaluation]
    report.train, report.eval = len(train_idx), len(eval_idx)
    report.train_hours = sum(rows[i]["input_length"] for i in train_idx) / SAMPLING_RATE / 3600
    table = table.remove_columns(["audio_error"])
    for split, indices in (("train", train_idx), ("eval", eval_idx)):
        if indices:  # datasets cannot load back an empty saved dataset
            table.select(indices).save_to_disk(str(tmp / split))
    del table
    shutil.rmtree(tmp / "decoded")
    (tmp / "report.json").write_text(json.dumps(asdict(report), indent=1, ensure_ascii=False), encoding="utf-8")
    try:
        tmp.rename(target)
    except OSError:  # another run prepared the same data meanwhile
        if not target.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_data(
    args: DataArguments,
    feature_extractor: Wav2Vec2FeatureExtractor,
    conv_kernel: list[int],
    conv_stride: list[int],
    corpus: Corpus | None = None,
) -> PreparedData:
    """Prepared train/held-out datasets for ``args``'s corpus (``corpus``: that corpus already opened, so its
    wav headers are read once), from the cache when it holds them; the ``PreparedData.frontend`` names the
    text front end used."""
    conv = {"conv_kernel": list(conv_kernel), "conv_stride": list(conv_stride)}
    corpus = corpus or args.open_corpus()
    corpus.check_rates()  # a data YAML of another rate than its wavs: stop before any work (CorpusError)
    frontend = resolve_frontend(args.text_frontend)
    cache_root = Path(args.cache_dir) if args.cache_dir else corpus.root / ".cache" / "aligner"
    target = cache_root / fingerprint(args, corpus, frontend, feature_extractor, conv)
    from_cache = target.exists()
    if not from_cache:
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(args, corpus, frontend, feature_extractor, conv, target)
    report = FilterReport(**json.loads((target / "report.json").read_text(encoding="utf-8")))
    train, evaluation = (_load_split(target / split) for split in ("train", "eval"))
    return PreparedData(train, evaluation, report, target, from_cache, frontend.name)


def _load_split(path: Path) -> datasets.Dataset:
    if path.exists():
        dataset = datasets.load_from_disk(str(path))
    else:
        features = datasets.Features({k: v for k, v in AUDIO_FEATURES.items() if k != "audio_error"})
        dataset = datasets.Dataset.from_dict({k: [] for k in features}, features=features)
    return dataset.with_format("numpy")


class LengthGroupedSampler(torch.utils.data.Sampler[int]):
    """Shuffled indices in which every run of ``batch_size`` has similar lengths (less padding).

    Indices are shuffled (seed + epoch), cut into mega-batches of ``batch_size * mega`` that are
    sorted by length, and the batches are shuffled again; ``set_epoch`` changes the order.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int, mega: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.mega, self.epoch = list(lengths), batch_size, seed, mega, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of epoch ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        size = self.batch_size * self.mega
        grouped = [
            sorted(order[i : i + size].tolist(), key=self.lengths.__getitem__, reverse=True)
            for i in range(0, len(order), size)
        ]
        flat = [i for group in grouped for i in group]
        batches = [flat[i : i + self.batch_size] for i in range(0, len(flat), self.batch_size)]
        for b in rng.permutation(len(batches)):
            yield from batches[b]


@dataclass
class CTCCollator:
    """Pads ``input_values`` with 0 (plus ``attention_mask``) and ``labels`` with -100; with ``speed``, each
    utterance's audio first goes through its speed perturbation (training only)."""

    speed: SpeedPerturbation | None = None

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        n = len(rows)
        if self.speed is not None:
            rows = [{**r, "input_values": self.speed(np.asarray(r["input_values"]), r["rel_path"], r["labels"])}
                    for r in rows]  # fmt: skip
        input_lengths = torch.tensor([len(r["input_values"]) for r in rows])
        label_lengths = torch.tensor([len(r["labels"]) for r in rows])
        input_values = torch.zeros(n, int(input_lengths.max()))
        attention_mask = torch.zeros(n, int(input_lengths.max()), dtype=torch.long)
        labels = torch.full((n, int(label_lengths.max())), -100, dtype=torch.long)
        for i, row in enumerate(rows):
            input_values[i, : input_lengths[i]] = torch.tensor(row["input_values"])
            attention_mask[i, : input_lengths[i]] = 1
            labels[i, : label_lengths[i]] = torch.tensor(row["labels"])
        return {
            "input_values": input_values,
            "attention_mask": attention_mask,
            "labels": labels,
            "input_lengths": input_lengths,
            "label_lengths": label_lengths,
        }
