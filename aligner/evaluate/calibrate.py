"""Calibrate the time offset of a Wav2Vec2 aligner's CTC frames against true boundaries.

    python -m aligner.evaluate.calibrate --checkpoint D --corpus C [--utterances 100]

A CTC model trained from scratch decides for itself where, within its receptive field, it places
a phone's evidence, so the time of a CTC frame is measured rather than assumed: the corpus's
utterances with a reference (``C/reference/``) are aligned at the nominal offset (12.5 ms, the centre
of the first frame's receptive field), the mean signed boundary error is measured with the rules of
``aligner.evaluate.score``, the offset is moved by it, and the measurement is repeated. The result goes to
``D/alignment.json``, which ``python -m matcha.utils.extract_durations`` reads by default.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from aligner.align.backends import CALIBRATION_FILE, Wav2Vec2Aligner
from aligner.align.methods import AlignmentError
from aligner.align.scores import NOMINAL_OFFSET_SECONDS
from aligner.align.timing import frame_seconds
from aligner.evaluate.score import boundary_errors_ms
from matcha.text import intersperse, phonemes_to_ids, to_phonemes_multilingual
from matcha.utils.durations import atomic_write
from matcha.utils.precompute_corpus import mel_path, read_metadata, reference_path, wav_path


def reference_utterances(corpus: Path, limit: int) -> list[tuple[str, str, dict]]:
    """(rel_path, IPA, reference) of up to ``limit`` utterances whose reference phones agree with their text."""
    utterances = read_metadata(corpus)
    ipas = to_phonemes_multilingual([u.text for u in utterances], [u.language for u in utterances])
    chosen = []
    for utterance, ipa in zip(utterances, ipas, strict=True):
        path = reference_path(corpus, utterance.rel_path)
        if path.is_file() and (reference := json.loads(path.read_text(encoding="utf-8")))["phones_agree"]:
            chosen.append((utterance.rel_path, ipa, reference))
    return chosen[:limit]


def signed_errors(
    corpus: Path, aligner: Wav2Vec2Aligner, items: list[tuple[str, str, dict]], batch_size: int
) -> np.ndarray:
    """Signed boundary errors (ms) of ``aligner`` on ``items``."""
    errors = []
    for first in range(0, len(items), batch_size):
        batch = items[first : first + batch_size]
        audios = [aligner.read_audio(wav_path(corpus, rel_path)) for rel_path, _, _ in batch]
        tokens = [intersperse(phonemes_to_ids(ipa)) for _, ipa, _ in batch]
        frames = [int(np.load(mel_path(corpus, rel_path), mmap_mode="r").shape[1]) for rel_path, _, _ in batch]
        for (_, ipa, reference), result in zip(batch, aligner.align(audios, tokens, frames), strict=True):
            if not isinstance(result, AlignmentError):
                errors.append(boundary_errors_ms(ipa, result.durations.numpy(), reference["phones"], frame_seconds()))
    if not errors:
        raise ValueError(f"{corpus}: no utterance could be aligned for calibration")
    return np.concatenate(errors)


def calibrate(checkpoint: Path, corpus: Path, limit: int = 100, batch_size: int = 8, rounds: int = 2) -> dict:
    """Measure and write ``checkpoint/alignment.json``; returns what was written."""
    items = reference_utterances(corpus, limit)
    if not items:
        raise ValueError(f"{corpus}: no reference/ with phones agreeing with the text; cannot calibrate")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    offset = NOMINAL_OFFSET_SECONDS * 1000
    aligner = Wav2Vec2Aligner(checkpoint, device, offset_ms=offset)
    history = []
    for _ in range(rounds):
        aligner.offset_ms = offset
        errors = signed_errors(corpus, aligner, items, batch_size)
        history.append({"offset_ms": round(offset, 2), "bias_ms": round(float(errors.mean()), 2),
                        "mean_abs_ms": round(float(np.abs(errors).mean()), 2)})  # fmt: skip
        offset -= float(errors.mean())
    result = {"offset_ms": round(offset, 2), "corpus": str(corpus), "utterances": len(items), "rounds": history}
    atomic_write(checkpoint / CALIBRATION_FILE, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.evaluate.calibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="trained Wav2Vec2 aligner folder")
    parser.add_argument("--corpus", required=True, type=Path, help="corpus with reference/ (e.g. the demo corpus)")
    parser.add_argument("--utterances", type=int, default=100, help="how many utterances to measure on (default: 100)")
    args = parser.parse_args(argv)
    result = calibrate(args.checkpoint, args.corpus, args.utterances)
    for step in result["rounds"]:
        print(
            f"offset {step['offset_ms']:6.2f} ms: bias {step['bias_ms']:+6.2f} ms, "
            f"mean abs error {step['mean_abs_ms']:.2f} ms"
        )
    print(f"calibrated CTC frame offset {result['offset_ms']} ms -> {args.checkpoint / CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
