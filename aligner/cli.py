"""``matcha-aligner``: one command, one verb per task, each verb the ``python -m`` module it names.

    matcha-aligner mels --corpus CORPUS                      Matcha mels for a corpus without them
    matcha-aligner train configs/aligner/tiny.yaml --corpus CORPUS --output_dir D
    matcha-aligner extract --corpus CORPUS --checkpoint D    durations (python -m matcha.utils.extract_durations)
    matcha-aligner report --corpus CORPUS --out R            what was aligned and skipped, without truth
    matcha-aligner review --corpus CORPUS --out R            a page to check every utterance by eye and ear
    matcha-aligner evaluate --corpus CORPUS                  accuracy against the true boundaries, where known

``matcha-aligner VERB --help`` teaches each verb. Run it from your Matcha's root: as with ``python -m``, the
current folder comes first on the import path, so a fork's own ``matcha.text`` there gives the tokens.
Training under accelerate is ``accelerate launch aligner/train.py ...`` (or ``accelerate launch -m
aligner.train ...``), extraction over several processes ``accelerate launch -m matcha.utils.extract_durations
...``: the same options as the verbs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Verb:
    """A verb of the command: the module whose ``main(argv)`` runs it, and what it does in a line."""

    module: str
    summary: str


VERBS = {
    "mels": Verb("aligner.mels", "write Matcha mels for a corpus that has none (a fork's own script is better)"),
    "train": Verb("aligner.training.loop", "train the Wav2Vec2 CTC aligner, then Viterbi-train its acoustic stage"),
    "fit-acoustic": Verb("aligner.acoustic.train", "fit a trained checkpoint's acoustic stage to a corpus"),
    "extract": Verb(
        "aligner.extract.cli", "write the durations Matcha trains on (= python -m matcha.utils.extract_durations)"
    ),
    "report": Verb("aligner.evaluate.corpus_report", "report an extraction without truth: skipped, suspect texts"),
    "review": Verb("aligner.review.__main__", "build the review page: every utterance, its tiers, its audio"),
    "evaluate": Verb("aligner.evaluate.score", "score durations against a corpus's true boundaries"),
    "compare": Verb("aligner.evaluate.compare", "compare several duration folders, with pictures"),
    "train-asrcnn": Verb("aligner.asrcnn.train", "train StyleTTS2's ASRCNN aligner, the baseline"),
    "add-to-fork": Verb("aligner.matcha_fork", "copy matcha/utils/extract_durations.py into a Matcha fork"),
    "demo-corpus": Verb("aligner.demo.corpus", "synthesise the demo corpus (espeak-ng speech with true boundaries)"),
}


def parser() -> argparse.ArgumentParser:
    """The top-level parser: a verb and the arguments that verb's own parser reads."""
    listing = "\n".join(f"  {name:<14}{verb.summary}" for name, verb in VERBS.items())
    top = argparse.ArgumentParser(
        prog="matcha-aligner",
        description=__doc__,
        epilog=f"verbs:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("verb", choices=VERBS, metavar="VERB", help="what to do (listed below)")
    top.add_argument("arguments", nargs=argparse.REMAINDER, help="the verb's own options (matcha-aligner VERB --help)")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run ``matcha-aligner VERB ...``: the verb's module's ``main`` with the rest of the arguments; returns its
    exit status."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if os.getcwd() not in sys.path:  # as python -m does: a Matcha fork's matcha.text in the current folder is found
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(VERBS[args.verb].module)  # imported on use: each verb loads only its own
    return module.main(args.arguments) or 0


if __name__ == "__main__":
    sys.exit(main())
