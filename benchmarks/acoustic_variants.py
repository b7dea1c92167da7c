"""Benchmark: the acoustic stage's variants, each Viterbi-trained on a corpus and scored against its truth.

    python benchmarks/acoustic_variants.py --checkpoint outputs/aligner/tiny --corpus data/demo \
        [--speaker 0 --utterances 200] [--variant NAME ...] [--cache FILE]

Reads the corpus once (features and CTC scores, as ``python -m aligner.acoustic.train`` does; ``--cache``
keeps them for the next run), then for every variant: Viterbi training (aligner.acoustic.train), the final
alignment with its stage (what extraction computes), and the figures of aligner.evaluate.score (boundary
accuracy and frame ownership), with the fit's wall time and the scoring time per utterance. The truth
(reference/) is read here only, to score; training never sees it. Nothing is written into the checkpoint.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from aligner.acoustic.model import AcousticStage
from aligner.acoustic.train import CTC_WEIGHT, MIN_CHANGE, ROUNDS, StageOptions, read_corpus, realign, viterbi_training
from aligner.corpus import Corpus
from aligner.durations import save_durations
from aligner.evaluate.score import accuracy_cells, accuracy_header, score_tokens
from aligner.search.marks import annotation_groups
from aligner.text.frontend import resolve_frontend
from aligner.tokens import tokenise

# name: (StageOptions, CTC weight, rounds, min_change); "before" is the stage as it was before #19 (one Gaussian
# per class on the 360 features, at most 4 rounds until 1 % of the frames change); the others run as the default does
VARIANTS = {
    "before": (None, 3.0, 4, 0.01),
    "context": (StageOptions(lda_dims=0, n_states=1), 3.0, ROUNDS, MIN_CHANGE),
    "lda": (StageOptions(context=False, n_states=1), CTC_WEIGHT, ROUNDS, MIN_CHANGE),
    "lda+context": (StageOptions(n_states=1), CTC_WEIGHT, ROUNDS, MIN_CHANGE),
    "lda+2 states": (StageOptions(context=False), CTC_WEIGHT, ROUNDS, MIN_CHANGE),
    "lda+context+2 states": (StageOptions(), CTC_WEIGHT, ROUNDS, MIN_CHANGE),
    "lda+context+2 states+fmllr": (StageOptions(speaker_adaptation=True), CTC_WEIGHT, ROUNDS, MIN_CHANGE),
}


def load_items(args: argparse.Namespace) -> list:
    """The corpus's training utterances, from ``--cache`` when it exists."""
    if args.cache and args.cache.is_file():
        return torch.load(args.cache, weights_only=False)
    corpus = Corpus.open(args.corpus, None)
    items = read_corpus(corpus, resolve_frontend("builtin"), args.checkpoint, 0, torch.device("cpu"), [])
    if args.cache:
        torch.save(items, args.cache)
    return items


def score(corpus: Corpus, tokens: list, items: list, durations: list[torch.Tensor]) -> dict:
    """aligner.evaluate.score's overall figures of these alignments (``tokens``: the corpus's tokenisation):
    at espeak-ng phones, or at the phones of an ARPAbet truth that match the tokens (flite's)."""
    with tempfile.TemporaryDirectory() as folder:
        for item, item_durations in zip(items, durations, strict=True):
            path = Path(folder) / f"{item.rel_path}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_durations(path, item_durations)
        scored = {item.rel_path for item in items}
        result = score_tokens(corpus, [t for t in tokens if t.utterance.rel_path in scored], Path(folder))
    return result.cmu_accuracy() or result.by_language()["all"]


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--speaker", help="only this speaker's utterances")
    parser.add_argument("--utterances", type=int, default=0, help="at most this many (0: all)")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: all")
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    items = load_items(args)
    if args.speaker is not None:
        items = [item for item in items if str(item.speaker) == args.speaker]
    if args.utterances:
        items = items[: args.utterances]
    print(f"{len(items)} utterances of {args.corpus}")
    print(f"{'variant':24s} {accuracy_header()}   fit s   score ms/utt")
    groups = annotation_groups([item.token_ids for item in items], "one-frame")
    corpus = Corpus.open(args.corpus, None)
    tokens = tokenise(corpus.read(), resolve_frontend("builtin"))
    for name in args.variant or list(VARIANTS):
        start = time.perf_counter()
        options, ctc_weight, rounds, min_change = VARIANTS[name]
        model, offset, _, transforms = viterbi_training(items, rounds, min_change, ctc_weight, options=options)
        fitted = time.perf_counter() - start
        stage = AcousticStage(model, ctc_weight)
        start = time.perf_counter()
        durations = [path.durations for path in realign(stage, items, offset, groups, transforms)]
        scored = (time.perf_counter() - start) / len(items) * 1000
        print(f"{name:24s} {accuracy_cells(score(corpus, tokens, items, durations))}   {fitted:5.0f}   {scored:6.1f}")


if __name__ == "__main__":
    main()
