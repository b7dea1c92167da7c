"""Measure, against a corpus's true boundaries, how far a Wav2Vec2 aligner's CTC frame offset is from the truth.

    python -m aligner.evaluate.calibrate --checkpoint D --corpus C [--utterances 100] [--rounds 2]
                                         [--offset-ms MS] [--json OUT]

A measuring tool, like the rest of ``aligner.evaluate``: it reads ``C/reference/`` (the truth) and writes
nothing into the checkpoint. The offset extraction uses is set from the user's own corpus at training time,
by ``python -m aligner.acoustic.train`` (which needs no truth), never from the truth: the truth is for
evaluation only.

What it measures: the utterances of C with a reference whose phones agree with their text are aligned
with the CTC frame offset extraction would use for D (``--offset-ms`` to start elsewhere), the mean signed
boundary error (bias, positive = boundaries late) is measured with the rules of ``aligner.evaluate.score``,
the offset is moved by it and the measurement repeated, ``--rounds`` times. It prints the bias of every
round and the offset the truth would imply (the last offset less the last bias); ``--json OUT`` also
writes these figures to OUT, a file of your choosing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from aligner.audio import wav_frames
from aligner.corpus import Corpus, Utterance, open_corpus
from aligner.evaluate.score import boundary_errors_ms
from aligner.extract.backends import Wav2Vec2Aligner
from aligner.mels import utterance_frames
from aligner.search.mas import Alignment, AlignmentError
from aligner.text import intersperse
from aligner.text.frontend import FRONTEND_HELP, TextFrontend, resolve_frontend
from aligner.tokens import TokenError, Tokens, tokenise


class OffsetAligner(Protocol):
    """What the measurement needs of an aligner (``Wav2Vec2Aligner`` has it)."""

    offset_ms: float

    def read_audio(self, path: Path) -> object: ...

    def align(
        self, audios: list, token_ids: list[list[int]], n_frames: list[int], centred: list[bool]
    ) -> list[Alignment | AlignmentError]: ...


def reference_utterances(
    corpus: Corpus, limit: int, frontend: TextFrontend | None = None
) -> list[tuple[Utterance, Tokens, dict]]:
    """(utterance, tokens, reference) of up to ``limit`` utterances whose reference phones agree with their
    tokens (``aligner.tokens``, from ``frontend``; default: the installed Matcha's, as extraction's)."""
    chosen = []
    for tokens in tokenise(corpus.read(), frontend or resolve_frontend()):
        path = corpus.reference(tokens.utterance.rel_path)
        if isinstance(tokens, TokenError) or not path.is_file():
            continue
        if (reference := json.loads(path.read_text(encoding="utf-8")))["phones_agree"]:
            chosen.append((tokens.utterance, tokens, reference))
    return chosen[:limit]


def signed_errors(
    corpus: Corpus, aligner: OffsetAligner, items: list[tuple[Utterance, Tokens, dict]], batch_size: int
) -> np.ndarray:
    """Signed boundary errors (ms, positive = late) of ``aligner`` at its current offset on ``items``."""
    errors = []
    for first in range(0, len(items), batch_size):
        batch = items[first : first + batch_size]
        audios = [aligner.read_audio(utterance.wav) for utterance, _, _ in batch]
        token_ids = [intersperse(tokens.ids) for _, tokens, _ in batch]
        frames = [utterance_frames(corpus, utterance) for utterance, _, _ in batch]
        samples = [wav_frames(utterance.wav, corpus.sample_rate) for utterance, _, _ in batch]
        centred = [n == s // corpus.hop_length + 1 for n, s in zip(frames, samples, strict=True)]
        results = aligner.align(audios, token_ids, frames, centred)
        for (_, tokens, reference), result in zip(batch, results, strict=True):
            if not isinstance(result, AlignmentError):
                seconds = corpus.frame_seconds
                errors.append(boundary_errors_ms(tokens.ipa, result.durations.numpy(), reference["phones"], seconds))
    if not errors:
        raise ValueError(f"{corpus}: no utterance could be aligned for calibration")
    return np.concatenate(errors)


def measure_offset(
    aligner: OffsetAligner,
    corpus: Corpus,
    items: list[tuple[Utterance, Tokens, dict]],
    batch_size: int = 8,
    rounds: int = 2,
) -> dict:
    """Bias of ``aligner`` on ``items`` per round, starting at its ``offset_ms`` and moving the offset by
    each round's bias; returns ``{"start_offset_ms", "rounds": [{offset_ms, bias_ms, mean_abs_ms}],
    "implied_offset_ms"}`` (ms, each figure rounded to 0.01 ms). Leaves ``aligner.offset_ms`` as it found it."""
    start = offset = float(aligner.offset_ms)
    history = []
    try:
        for _ in range(rounds):
            aligner.offset_ms = offset
            errors = signed_errors(corpus, aligner, items, batch_size)
            bias = float(errors.mean())
            history.append(
                {
                    "offset_ms": round(offset, 2),
                    "bias_ms": round(bias, 2),
                    "mean_abs_ms": round(float(np.abs(errors).mean()), 2),
                }
            )
            offset -= bias
    finally:
        aligner.offset_ms = start
    return {"start_offset_ms": round(start, 2), "rounds": history, "implied_offset_ms": round(offset, 2)}


def calibrate(
    checkpoint: Path,
    corpus: Path,
    limit: int = 100,
    batch_size: int = 8,
    rounds: int = 2,
    offset_ms: float | None = None,
    frontend: TextFrontend | None = None,
) -> dict:
    """Measure (module doc) the checkpoint's CTC frame offset against ``corpus``'s truth, starting at
    ``offset_ms`` (default: the offset extraction uses for it). Writes nothing; returns the figures."""
    opened = open_corpus(corpus)
    items = reference_utterances(opened, limit, frontend)
    if not items:
        raise ValueError(f"{corpus}: no reference/ with phones agreeing with the text; nothing to measure against")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rate, hop = opened.sample_rate, opened.hop_length
    aligner = Wav2Vec2Aligner(checkpoint, device, rate, hop, method="mel", offset_ms=offset_ms)
    figures = measure_offset(aligner, opened, items, batch_size, rounds)
    return {"checkpoint": str(checkpoint), "corpus": str(corpus), "utterances": len(items), **figures}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate.calibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="trained Wav2Vec2 aligner folder (only read)")
    parser.add_argument("--corpus", required=True, type=Path, help="corpus with reference/ (e.g. the demo corpus)")
    parser.add_argument("--utterances", type=int, default=100, help="how many utterances to measure on (default: 100)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="measurements, each at the offset the last implied (default: 2)"
    )
    parser.add_argument(
        "--offset-ms", type=float, help="CTC frame offset of the first round (default: the one extraction uses for D)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file (nothing is written otherwise)")
    parser.add_argument("--text-frontend", help=FRONTEND_HELP)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    frontend = resolve_frontend(args.text_frontend)
    result = calibrate(
        args.checkpoint, args.corpus, args.utterances, rounds=args.rounds, offset_ms=args.offset_ms, frontend=frontend
    )
    print(f"{result['utterances']} utterances of {args.corpus} against their reference/ (bias: positive = late)")
    for step in result["rounds"]:
        print(
            f"offset {step['offset_ms']:6.2f} ms: bias {step['bias_ms']:+6.2f} ms, "
            f"mean abs error {step['mean_abs_ms']:.2f} ms"
        )
    print(
        f"the truth implies a CTC frame offset of {result['implied_offset_ms']} ms "
        f"(measured from {result['start_offset_ms']} ms); nothing written to {args.checkpoint}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"figures -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
