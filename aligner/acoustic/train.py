"""Fit an aligner's acoustic stage on a corpus by Viterbi training, and set its CTC frame offset from it.

    python -m aligner.acoustic.train --checkpoint D --corpus C [--rounds 10] [--utterances 1000]

``aligner/train.py`` runs this at the end of training, on its training corpus; run it yourself to fit
the stage of a checkpoint trained elsewhere (or loaded with ``from_pretrained``) to your corpus. It needs
no truth: only the wavs, the texts and the CTC model.

1. Seed: the CTC posteriors of every utterance, MAS on the mel grid at the nominal CTC frame offset
   (12.5 ms, the centre of the first frame's receptive field).
2. Round 1: one Gaussian per token class (``aligner.acoustic.model``) on the 360 features, from the seed
   alignment, then MAS over the acoustic scores alone. A CTC model trained from scratch decides for itself
   where in its receptive field it puts a phone's evidence, so the CTC frame offset is moved by the mean
   difference between the boundaries of two adjacent phones in this acoustic alignment and in the seed.
3. Rounds 2..N, as an HMM aligner's training grows (the Montreal Forced Aligner's monophone, triphone and
   LDA passes), each from the last alignment: an LDA of 9 spliced frames (40 dimensions,
   re-estimated every round), two states per phone token (onset, offset: ``aligner.search.states``; the
   second round splits each phone's frames in halves), context-dependent Gaussians of each state tied by
   a decision tree (``aligner.acoustic.context``); then re-alignment with the acoustic scores plus
   ``ctc_weight`` times the CTC scores at the new offset. It stops when the alignment has converged (fewer
   than ``min_change``, 2 %, of the frames change token in a round) or after ``--rounds`` (said).
   ``python benchmarks/acoustic_variants.py`` measures what each part brings.

Writes D/acoustic_model.safetensors and D/alignment.json (offset_ms, ctc_weight and the history of the
rounds), which ``python -m matcha.utils.extract_durations`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from aligner.acoustic.adapt import FmllrStats, transform
from aligner.acoustic.context import PAUSE, grow_trees, is_context_phone, token_contexts
from aligner.acoustic.features import LDA_DIMS, acoustic_features, project, spliced
from aligner.acoustic.model import (
    N_CLASSES,
    PAUSE_CLASS,
    VARIANCE_FLOOR,
    AcousticModel,
    AcousticStage,
    GaussianStats,
    ScatterStats,
    state_class,
    training_labels,
)
from aligner.acoustic.search import StatePath, acoustic_search
from aligner.acoustic.settings import SETTINGS_FILE
from aligner.audio import AudioError, load_wav, require_audible
from aligner.corpus import (
    Corpus,
    CorpusError,
    MetadataError,
    add_corpus_options,
    corpus_from_options,
    open_corpus,
    select,
)
from aligner.ctc.input import model_input
from aligner.ctc.posteriors import CheckpointError, head_symbols, load_aligner, log_posteriors
from aligner.durations import atomic_write, symbol_times
from aligner.search.marks import MODES as MARK_MODES
from aligner.search.marks import MarkGroup, annotation_groups
from aligner.search.mas import batched_mas
from aligner.search.scores import NOMINAL_OFFSET_SECONDS, score_matrix, to_frame_grid
from aligner.text import (
    UnknownSymbolError,
    check_token_ids,
    intersperse,
    is_phone_symbol,
)
from aligner.text.frontend import FRONTEND_HELP, FrontendError, TextFrontend, resolve_frontend
from aligner.tokens import TokenError, language_errors, tokenise

CTC_WEIGHT = 1 / 3  # on LDA_DIMS features (3.0 suited the 360 features)
MAS_BATCH = 16
ROUNDS = 10
MIN_CHANGE = 0.02  # the alignment has converged when fewer frames than this share change token in a round
FEW_UTTERANCES = 100


@dataclass
class TrainingUtterance:
    """What Viterbi training keeps of one utterance."""

    rel_path: str
    ipa: str
    token_ids: list[int]
    features: torch.Tensor  # [mel frames, D]
    ctc_scores: torch.Tensor  # [tokens, CTC frames]
    frame_seconds: float  # one mel frame of the corpus's grid (hop / sample_rate)
    speaker: int = 0  # the corpus's spk_id


def read_corpus(
    corpus: Corpus,
    frontend: TextFrontend,
    checkpoint: str | Path,
    limit: int,
    device: torch.device,
    skipped: list[str],
) -> list[TrainingUtterance]:
    """Features and CTC scores of up to ``limit`` utterances of ``corpus`` (evenly spread over its
    filelists), on its mel grid (its rate and hop; floor(samples / hop) frames); what extraction would skip
    (a malformed filelist line, an unknown language or symbol,
    bad or silent audio, audio too short for its tokens) is left out and named in ``skipped``."""
    model, extractor = load_aligner(checkpoint, device)
    pauses_as_blank = getattr(model.config, "ctc_targets", "all") == "phones"
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    skipped += [str(problem) for problem in problems]
    unread = language_errors(utterances, frontend)
    skipped += [f"{rel_path}: {error}" for rel_path, error in unread.items()]
    utterances = [u for u in utterances if u.rel_path not in unread]
    utterances = [utterances[i] for i in select(len(utterances), limit)]
    rate = corpus.sample_rate
    kept = []
    for tokens in tqdm(tokenise(utterances, frontend), desc="acoustic features", unit="utt"):
        if isinstance(tokens, TokenError):
            skipped.append(f"{tokens.utterance.rel_path}: {tokens}")
            continue
        utterance, ipa = tokens.utterance, tokens.ipa
        try:
            token_ids = intersperse(tokens.ids)
            check_token_ids(token_ids, head_symbols(model), "the Wav2Vec2 aligner's CTC head")
            wav = require_audible(load_wav(utterance.wav, rate), utterance.wav)
        except (UnknownSymbolError, AudioError) as error:
            skipped.append(f"{utterance.rel_path}: {error}")
            continue
        n_frames = len(wav) // corpus.hop_length
        if len(token_ids) > n_frames:
            skipped.append(f"{utterance.rel_path}: audio too short for its tokens")
            continue
        (log_probs,) = log_posteriors(model, extractor, [model_input(wav, rate, extractor)])
        ctc = score_matrix(log_probs, token_ids, pauses_as_blank).cpu()
        features = acoustic_features(wav, rate, n_frames, corpus.frame_seconds)
        kept.append(
            TrainingUtterance(utterance.rel_path, ipa, token_ids, features, ctc, corpus.frame_seconds, utterance.spk_id)
        )
    if not kept:
        raise ValueError(f"{corpus.root}: no utterance to fit the acoustic model on")
    return kept


def ctc_grid(item: TrainingUtterance, offset: float) -> torch.Tensor:
    """CTC scores of ``item`` on its mel grid [tokens, mel frames] at CTC frame offset ``offset`` (s)."""
    return to_frame_grid(item.ctc_scores, item.features.shape[0], item.frame_seconds, offset)


def search(matrices: list[torch.Tensor], groups: list[list[MarkGroup]] | None) -> list[torch.Tensor]:
    """MAS durations of every score matrix, ``MAS_BATCH`` matrices per call (``groups``: annotation marks,
    ``aligner.search.marks``)."""
    return [
        d
        for i in range(0, len(matrices), MAS_BATCH)
        for d in batched_mas(matrices[i : i + MAS_BATCH], None if groups is None else groups[i : i + MAS_BATCH])
    ]


@dataclass(frozen=True)
class StageOptions:
    """How the acoustic stage is grown (``python benchmarks/acoustic_variants.py`` measures each choice):
    ``lda_dims`` LDA dimensions over spliced frames from round 2 on (0: the 360 features as they are);
    ``context``: context-dependent Gaussians from round 2 on, their trees split while a split gains at least
    ``min_gain`` per frame with ``min_frames`` frames on each side (``aligner.acoustic.context``); ``n_states``:
    states per phone token from round 2 on (1 or 2, ``aligner.search.states``); ``speaker_adaptation``: from round
    2 on, on a corpus of more than one speaker, one fMLLR transform per speaker (``aligner.acoustic.adapt``)
    estimated under each round's model, which is then re-estimated on the transformed features (speaker-adaptive
    training)."""

    lda_dims: int = LDA_DIMS
    context: bool = True
    min_frames: int = 200
    min_gain: float = 0.2
    n_states: int = 2
    speaker_adaptation: bool = False


def first_halves(token_ids: list[int], durations: torch.Tensor) -> torch.Tensor:
    """Onset frames [tokens] of a uniform segmentation: the first half (rounded up) of a phone token's frames."""
    phones = torch.tensor([is_context_phone(i) for i in token_ids])
    return torch.where(phones, (durations + 1) // 2, durations)


def frame_states(path: StatePath) -> tuple[torch.Tensor, torch.Tensor]:
    """The token [frames] and the state [frames] (0: onset or only state, 1: offset; by whether the frame lies
    in its token's first ``path.onsets`` frames) of every frame on ``path``, both int64."""
    owner = torch.repeat_interleave(torch.arange(len(path.durations)), path.durations)
    position = torch.arange(len(owner)) - (torch.cumsum(path.durations, 0) - path.durations)[owner]
    return owner, (position >= path.onsets[owner]).long()


def frame_labels(item: TrainingUtterance, path: StatePath, n_states: int) -> torch.Tensor:
    """Class of every frame [frames] under an alignment: ``training_labels``'s, and with two states the state
    class (``state_class``) of a phone frame (``frame_states``)."""
    labels = training_labels(item.token_ids, path.durations)
    if n_states == 1:
        return labels
    _, state = frame_states(path)
    return torch.where(labels > PAUSE_CLASS, state_class(labels, state), labels)


def frame_gaussians(model: AcousticModel, item: TrainingUtterance, path: StatePath) -> torch.Tensor:
    """The Gaussian of ``model`` that holds every frame [frames] (int64) of ``item`` on ``path``, -1 for a frame
    that trains no class (``training_labels``)."""
    rows = model.rows(item.token_ids)
    gaussians = model.row_gaussians(item.token_ids, rows)
    n_tokens = len(item.token_ids)
    rows_of_token = torch.bincount(rows[0], minlength=n_tokens)
    first_row = torch.cumsum(rows_of_token, 0) - rows_of_token
    owner, state = frame_states(path)
    row = first_row[owner] + state
    labels = training_labels(item.token_ids, path.durations)
    return torch.where(labels >= 0, gaussians[row], -1)


def speaker_transforms(
    model: AcousticModel, items: list[TrainingUtterance], features: list[torch.Tensor], paths: list[StatePath]
) -> dict[int, torch.Tensor]:
    """One fMLLR transform [D, D + 1] per speaker of ``items``, from its frames (``features``, one [frames, D]
    per item, in ``model``'s space) and the Gaussians that hold them on ``paths``."""
    stats: dict[int, FmllrStats] = {}
    for item, item_features, path in zip(items, features, paths, strict=True):
        held = frame_gaussians(model, item, path)
        keep = held >= 0
        speaker = stats.setdefault(item.speaker, FmllrStats(item_features.shape[1]))
        speaker.add(item_features[keep], model.means[held[keep]], model.variances[held[keep]])
    return {spk: speaker.estimate() for spk, speaker in sorted(stats.items())}


def fit_lda(items: list[TrainingUtterance], durations: list[torch.Tensor], dims: int) -> torch.Tensor:
    """LDA projection [spliced dims, ``dims``] separating the token classes of an alignment."""
    stats = ScatterStats(spliced(items[0].features[:1]).shape[1], N_CLASSES)
    for item, item_durations in zip(items, durations, strict=True):
        stats.add(spliced(item.features), training_labels(item.token_ids, item_durations))
    return stats.projection(dims)


def fit(
    items: list[TrainingUtterance],
    features: list[torch.Tensor],
    paths: list[StatePath],
    options: StageOptions | None,
    projection: torch.Tensor | None,
) -> AcousticModel:
    """Gaussians re-estimated from the frames (``features``, one [frames, D] per item) an alignment gives
    each class (or state class, ``options.n_states``), or each context tied by trees grown from them
    (``options.context``)."""
    n_states = 1 if options is None else options.n_states
    n_classes = N_CLASSES * n_states
    labels = [frame_labels(item, path, n_states) for item, path in zip(items, paths, strict=True)]
    if options is None or not options.context:
        stats = GaussianStats.empty(features[0].shape[1], n_classes)
        for item_features, item_labels in zip(features, labels, strict=True):
            stats.add(item_features, item_labels)
        return AcousticModel.from_stats(stats, projection=projection, n_states=n_states)
    keys: dict[tuple[int, int, int], int] = {(PAUSE_CLASS, PAUSE, PAUSE): 0}
    key_labels = []
    for item, path, item_labels in zip(items, paths, labels, strict=True):
        contexts = token_contexts(item.token_ids)
        owner = torch.repeat_interleave(torch.arange(len(item.token_ids)), path.durations).tolist()
        key_labels.append(
            torch.tensor(
                [
                    keys.setdefault((label, *contexts[k]), len(keys)) if label > PAUSE_CLASS else label
                    for label, k in zip(item_labels.tolist(), owner, strict=True)
                ]
            )
        )
    stats = GaussianStats.empty(features[0].shape[1], len(keys))
    for item_features, item_labels in zip(features, key_labels, strict=True):
        stats.add(item_features, item_labels)
    floor = VARIANCE_FLOOR * stats.pooled()[1]
    tree, key_gaussian = grow_trees(
        list(keys), stats.counts, stats.sums, stats.squares, floor, options.min_frames, options.min_gain, n_classes
    )
    return AcousticModel.from_stats(stats.tied(key_gaussian), tree, projection, n_states)


def realign(
    stage: AcousticStage,
    items: list[TrainingUtterance],
    offset: float,
    groups: list[list[MarkGroup]] | None,
    transforms: dict[int, torch.Tensor] | None = None,
) -> list[StatePath]:
    """The best path of every item through ``stage``'s scores at CTC frame offset ``offset`` (s),
    ``MAS_BATCH`` items per search; ``transforms``: the speakers' fMLLR transforms, or None for none."""
    paths = []
    for i in range(0, len(items), MAS_BATCH):
        batch = items[i : i + MAS_BATCH]
        paths += acoustic_search(
            stage,
            [item.features for item in batch],
            [item.token_ids for item in batch],
            [ctc_grid(item, offset) for item in batch],
            None if groups is None else groups[i : i + MAS_BATCH],
            None if transforms is None else [transforms[item.speaker] for item in batch],
        )
    return paths


def junctions(item: TrainingUtterance, durations: torch.Tensor) -> np.ndarray:
    """Time (s) of every boundary between two phone characters of ``item``: the middle of the blank
    between them. Boundaries beside a pause are left out: there a CTC alignment's blank holds the pause."""
    starts, _ = symbol_times(durations.numpy(), len(item.ipa), item.frame_seconds)
    ipa = item.ipa
    return starts[[i for i in range(1, len(ipa)) if is_phone_symbol(ipa[i]) and is_phone_symbol(ipa[i - 1])]]


def changed_share(before: list[torch.Tensor], after: list[torch.Tensor]) -> float:
    """Share of all frames whose token differs between two alignments."""
    changed = total = 0
    for a, b in zip(before, after, strict=True):
        owner_a = torch.repeat_interleave(torch.arange(len(a)), a)
        owner_b = torch.repeat_interleave(torch.arange(len(b)), b)
        changed += int((owner_a != owner_b).sum())
        total += len(owner_a)
    return changed / total


def viterbi_training(
    items: list[TrainingUtterance],
    rounds: int,
    min_change: float,
    ctc_weight: float,
    marks: str = "one-frame",
    options: StageOptions | None = None,
) -> tuple[AcousticModel, float, list[dict], dict[int, torch.Tensor] | None]:
    """The acoustic model, the CTC frame offset (s), one history row per round (see module doc) and the
    speakers' fMLLR transforms of the last round (None without speaker adaptation);
    ``marks``: how annotation marks are aligned (``aligner.search.marks``); ``options``: what grows from
    round 2 on (None: one Gaussian per class on the 360 features throughout)."""
    offset = NOMINAL_OFFSET_SECONDS
    groups = annotation_groups([item.token_ids for item in items], marks)
    seed = search([ctc_grid(item, offset) for item in items], groups)
    paths = [StatePath(d, d) for d in seed]
    history = []
    model = projection = transforms = None
    features = [item.features for item in items]
    speakers = {item.speaker for item in items}
    for round_index in range(1, rounds + 1):
        round_options = None if round_index == 1 else options
        if round_index > 1 and options is not None and options.lda_dims:
            projection = fit_lda(items, [path.durations for path in paths], options.lda_dims)
            features = [project(item.features, projection) for item in items]
        if round_index == 2 and options is not None:
            if options.n_states == 2:
                paths = [
                    StatePath(p.durations, first_halves(i.token_ids, p.durations))
                    for i, p in zip(items, paths, strict=True)
                ]
        model = fit(items, features, paths, round_options, projection)
        if round_options is not None and round_options.speaker_adaptation and len(speakers) > 1:
            transforms = speaker_transforms(model, items, features, paths)
            adapted = [transform(f, transforms[item.speaker]) for item, f in zip(items, features, strict=True)]
            model = fit(items, adapted, paths, round_options, projection)
        weight = 0.0 if round_index == 1 else ctc_weight
        realigned = realign(AcousticStage(model, weight), items, offset, groups, transforms)
        change = changed_share([p.durations for p in paths], [p.durations for p in realigned])
        paths = realigned
        row = {"round": round_index, "ctc_weight": weight, "changed_frames": round(change, 4)}
        if round_index == 1:
            shifts = [
                junctions(item, p.durations) - junctions(item, s) for item, p, s in zip(items, paths, seed, strict=True)
            ]
            shifts = np.concatenate(shifts)
            offset += float(shifts.mean()) if len(shifts) else 0.0
            row["offset_ms"] = round(offset * 1000, 2)
        history.append(row)
        if round_index > 1 and change < min_change:
            break
    return model, offset, history, transforms


def fit_acoustic_stage(
    checkpoint: str | Path,
    corpus: Corpus | str | Path,
    rounds: int = ROUNDS,
    utterances: int = 1000,
    min_change: float = MIN_CHANGE,
    ctc_weight: float = CTC_WEIGHT,
    device: str = "cpu",
    text_frontend: str | None = None,
    marks: str = "one-frame",
) -> dict:
    """Viterbi-train the acoustic stage of ``checkpoint`` (a local folder) on ``corpus`` (tokens from the
    front end ``text_frontend`` names, ``aligner.text.frontend.resolve_frontend``) and write it there
    (module doc); returns what went to alignment.json."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    checkpoint, corpus = Path(checkpoint), open_corpus(corpus)
    frontend = resolve_frontend(text_frontend)
    skipped: list[str] = []
    items = read_corpus(corpus, frontend, checkpoint, utterances, torch.device(device), skipped)
    options = StageOptions()
    model, offset, history, _ = viterbi_training(items, rounds, min_change, ctc_weight, marks, options)
    result = {
        "offset_ms": round(offset * 1000, 2),
        "ctc_weight": ctc_weight,
        "annotation_marks": marks,
        "text_frontend": frontend.name,
        "acoustic_model": True,
        "stage": asdict(options),
        "corpus": str(corpus.root),
        "sample_rate": corpus.sample_rate,
        "hop_length": corpus.hop_length,
        "utterances": len(items),
        "skipped": skipped,
        "converged": history[-1]["changed_frames"] < min_change,
        "rounds": history,
    }
    (checkpoint / SETTINGS_FILE).unlink(missing_ok=True)  # a kill before the new one leaves no stale pair
    model.save(checkpoint)
    atomic_write(checkpoint / SETTINGS_FILE, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.acoustic.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="trained Wav2Vec2 aligner folder (written into)")
    add_corpus_options(parser, "corpus folder (*.csv filelists, wav/; see aligner.corpus)")
    parser.add_argument(
        "--text-frontend",
        help=FRONTEND_HELP,
    )
    parser.add_argument(
        "--annotation-marks",
        choices=MARK_MODES,
        default="one-frame",
        help="one-frame: stress and length marks hold one frame, their phone the rest (default); scored: their own",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="at most this many rounds (default: %(default)s)")
    parser.add_argument(
        "--utterances", type=int, default=1000, help="fit on at most this many utterances (default: %(default)s)"
    )
    parser.add_argument(
        "--ctc-weight", type=float, default=CTC_WEIGHT, help="weight of the CTC scores (default: %(default).3g)"
    )
    parser.add_argument("--device", default="cpu", help="where the CTC model runs (default: cpu)")
    args = parser.parse_args(argv)
    try:
        corpus = corpus_from_options(parser, args)
        corpus.check_rates()
        result = fit_acoustic_stage(
            args.checkpoint, corpus, args.rounds, args.utterances, ctc_weight=args.ctc_weight, device=args.device,
            text_frontend=args.text_frontend, marks=args.annotation_marks,
        )  # fmt: skip
    except (CorpusError, FrontendError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for row in result["rounds"]:
        print(json.dumps(row))
    for line in result["skipped"]:
        print(f"left out: {line}")
    if not result["converged"]:
        changed = result["rounds"][-1]["changed_frames"]
        print(f"stopped after {len(result['rounds'])} rounds with {100 * changed:.1f} % of the frames still "
              "changing token (--rounds sets the limit)")  # fmt: skip
    if result["utterances"] < FEW_UTTERANCES:
        print(f"warning: fitted on only {result['utterances']} utterances; a stage fitted on more (e.g. the "
              f"training corpus) may align better: keep a copy of the checkpoint folder before refitting")  # fmt: skip
    print(
        f"acoustic stage fitted on {result['utterances']} utterances; CTC frame offset {result['offset_ms']} ms "
        f"-> {args.checkpoint / SETTINGS_FILE}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
