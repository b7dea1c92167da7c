"""Benchmark: the CTC stage on small corpora, variants of configs/aligner/tiny.yaml by test-set PER.

    python benchmarks/small_corpus.py --train data/flite200 data/espeak200 --test data/flite-test data/espeak-test
                                      [--variants tiny regularised ...] [--out-root DIR] [--json OUT]

For each training corpus and variant (VARIANTS: the flags given to aligner/train.py on top of tiny.yaml) the
model is trained into OUT_ROOT/{corpus}-{variant} (a folder that already holds a run of the same command is
reused), then scored by greedy-CTC phone error rate on the test corpus given in the same position as its
training corpus, counting only test utterances whose text the training corpus lacks: a test sentence the
model never heard, and more of them than the 5 % held-out split (10 utterances of 200). Prints one row per run:
that test PER, the training's own held-out PER (best of its evaluations, the saved model's) and its step.

Test corpora as used for #26 (the sentences of a 200-utterance corpus are 200 of the 342 shipped; a 342-utterance
test corpus of another seed reads every sentence once):
    python -m aligner.demo.corpus --engine flite --languages en-us --out data/flite-test --n 342 --speakers 3 --seed 99
    python -m aligner.demo.corpus --languages en-us --out data/espeak-test --n 342 --speakers 3 --seed 99
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from common import ROOT, WORK, write_json

from aligner.corpus import Corpus
from aligner.ctc.input import load_audio
from aligner.ctc.posteriors import load_aligner
from aligner.ctc.vocab import ctc_targets
from aligner.text.frontend import resolve_frontend
from aligner.tokens import TokenError, tokenise
from aligner.training.metrics import edit_distance, greedy_decode

# tiny.yaml's small_corpus settings, each on its own, on any corpus (small_corpus_hours 0: never automatic)
ALWAYS = ["--small_corpus_hours", "0"]
REGULARISED = ["--model_config", "{hidden_dropout: 0.1, activation_dropout: 0.1, attention_dropout: 0.1, "
               "feat_proj_dropout: 0.1, final_dropout: 0.1, mask_time_prob: 0.05}"]  # fmt: skip
SPEED = ["--speed_perturbation", "[0.9, 1.0, 1.1]"]
VARIANTS: dict[str, list[str]] = {
    "unregularised": ALWAYS,  # tiny.yaml before its small_corpus settings
    "regularised": ALWAYS + REGULARISED,
    "speed": ALWAYS + SPEED,
    "regularised+speed": ALWAYS + REGULARISED + SPEED,
    "tiny": [],  # tiny.yaml as shipped: the small_corpus settings below small_corpus_hours
}


def corpus_texts(corpus: Path) -> set[str]:
    """The texts of a corpus's utterances."""
    return {u.text for u in Corpus.open(corpus).read()}


@torch.no_grad()
def test_per(checkpoint: Path, corpus: Path, heard: set[str] | None = None) -> tuple[float, int]:
    """Greedy-CTC phone error rate of ``checkpoint`` on the utterances of ``corpus`` whose text is not in
    ``heard`` (all of them when None), and how many were scored."""
    model, extractor = load_aligner(checkpoint)
    frontend = resolve_frontend(getattr(model.config, "text_frontend", None))
    utterances = [u for u in Corpus.open(corpus).read() if heard is None or u.text not in heard]
    errors = length = scored = 0
    for tokens in tokenise(utterances, frontend):
        if isinstance(tokens, TokenError):
            continue
        reference = ctc_targets(tokens.ids, getattr(model.config, "ctc_targets", "phones"))
        audio = torch.from_numpy(load_audio(tokens.utterance.wav, extractor))[None]
        logits = model(audio).logits
        hypothesis = greedy_decode(logits, torch.tensor([logits.shape[1]]))[0]
        errors += edit_distance(hypothesis, reference)
        length += len(reference)
        scored += 1
    return (errors / length if length else None), scored


def percent(value: float | None) -> str:
    """A rate as a percentage, '-' for none (a test corpus whose every sentence the training corpus holds)."""
    return "-" if value is None else f"{100 * value:.1f} %"


def train(corpus: Path, variant: str, out_dir: Path) -> dict:
    """Train ``variant`` on ``corpus`` into ``out_dir`` unless a finished run of the same command is there;
    returns its train_results.json."""
    command = [sys.executable, str(ROOT / "aligner" / "train.py"), str(ROOT / "configs" / "aligner" / "tiny.yaml"),
               "--corpus", str(corpus), "--output_dir", str(out_dir), "--report_to", "none",
               "--resume_from_checkpoint", "null", *VARIANTS[variant]]  # fmt: skip
    stamp = out_dir / "benchmark_command.json"
    results = out_dir / "train_results.json"
    if not (results.exists() and stamp.exists() and json.loads(stamp.read_text()) == command[1:]):
        print("running:", " ".join(command), flush=True)
        subprocess.run(command, check=True, cwd=ROOT)
        stamp.write_text(json.dumps(command[1:]))
    return json.loads(results.read_text())


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, nargs="+", required=True, help="training corpora")
    parser.add_argument("--test", type=Path, nargs="+", required=True, help="a test corpus per training corpus")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out-root", type=Path, default=WORK / "small_corpus")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if len(args.train) != len(args.test):
        parser.error("give one --test corpus per --train corpus")
    args.train = [p.resolve() for p in args.train]  # training runs in the project root
    rows = []
    for corpus, test in zip(args.train, args.test, strict=True):
        heard = corpus_texts(corpus)
        for variant in args.variants:
            out_dir = args.out_root / f"{corpus.name}-{variant}"
            results = train(corpus, variant, out_dir)
            per, scored = test_per(out_dir, test, heard)
            rows.append({
                "corpus": str(corpus), "variant": variant, "flags": VARIANTS[variant], "test": str(test),
                "test_utterances": scored, "test_per": per, "held_out_per": results["best_per"],
                "best_step": results["best_step"], "steps": results["steps"],
                "train_seconds": round(results["train_seconds"], 1),
            })  # fmt: skip
            print(f"{corpus.name:>12} {variant:>20}: test PER {percent(per)} ({scored} utterances), held-out "
                  f"PER {percent(results['best_per'])} (step {results['best_step']})", flush=True)  # fmt: skip
    print("\n| corpus | variant | test PER (utterances) | held-out PER | best step |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {Path(r['corpus']).name} | {r['variant']} | {percent(r['test_per'])} ({r['test_utterances']}) "
              f"| {percent(r['held_out_per'])} | {r['best_step']} |")  # fmt: skip
    if args.json:
        write_json(args.json, "small_corpus", {"runs": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
