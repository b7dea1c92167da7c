"""Extract phoneme durations for Matcha-TTS training with a Wav2Vec2 CTC aligner.

    python -m matcha.utils.extract_durations --corpus CORPUS [--device cuda]
    accelerate launch -m matcha.utils.extract_durations --corpus CORPUS    (corpus split between processes)

For every utterance of CORPUS/metadata.csv (format: ``python -m matcha.utils.precompute_corpus --help``):
the text becomes Matcha tokens (espeak IPA, blanks interspersed as Matcha's add_blank); the wav,
at 16 kHz, becomes CTC log-posteriors, one row per token (blanks scored by the CTC blank), laid on
the mel grid (hop 256 at 24 kHz; the frame count is read from CORPUS/mels/{rel_path}.npy); the
acoustic stage (the default --method acoustic) adds to them the scores of every mel frame under each
token's Gaussian, fitted on the training corpus by aligner/train.py, so that phone tokens hold their
phones' frames and blanks one frame except over a pause; monotonic alignment search (MAS) then gives
the durations, which are checked (one per token, each >= 1, sum = mel frames) and written atomically
to CORPUS/durations/{rel_path}.pt, where Matcha loads them with load_durations: True. Each utterance's
result depends on it alone: the same bytes whatever --batch-size or number of processes.

Stops with exit status 2 before anything is written, naming the utterance, file or folder: a missing
mel, an unknown IPA symbol, two utterances sharing one --format npy file, a missing metadata.csv, an
output folder that is not writable, a checkpoint that is missing, incomplete or over another vocabulary,
or without the acoustic stage --method acoustic needs.

Skips and counts an utterance, naming it and the cause (a failed row of alignment_summary.csv, listed at
the end; exit status 1), writing nothing for it: a metadata.csv line that breaks the format (wrong
field count, bad rel_path, speaker id not an integer, not UTF-8, repeated rel_path, empty text; its
rel_path column is metadata.csv:LINE where the line has no usable rel_path), a language espeak-ng does
not know, a text without phonemes, a mel that is not 80 x frames or holds NaN/inf, a wav that is
unreadable, truncated, not mono or not 24 kHz (Matcha's rate: convert it, then recompute its mel), a
mel whose frame count differs from floor(wav samples / 256) by more than one, silent audio, audio too
short for its tokens.

Existing outputs are skipped unless --overwrite, so a killed run resumes when the same command is run
again: it removes the temporary files the killed run left and keeps its summary rows. Two runs must
not write into the same output folder at once. Beside the durations, alignment_summary.csv scores
every utterance (mean log-posterior along the path, share of tokens squeezed to one frame, longest
token); the least confident utterances are listed at the end: their text may not match their audio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aligner.align.extract import run
from aligner.align.methods import METHODS
from aligner.align.posteriors import DEFAULT_CHECKPOINT
from matcha.utils.ASR.align import ATTENTION_ROWS
from matcha.utils.ASR.checkpoint import DEFAULT_CHECKPOINT as ASR_DEFAULT_CHECKPOINT
from matcha.utils.ASR.checkpoint import DEFAULT_CONFIG as ASR_DEFAULT_CONFIG


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m matcha.utils.extract_durations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder (metadata.csv, wavs/, mels/)")
    parser.add_argument(
        "--device", default="cuda", help="cuda (default; falls back to the CPU when absent), cpu, cuda:1, ..."
    )
    parser.add_argument(
        "--aligner",
        choices=["wav2vec2", "asrcnn"],
        default="wav2vec2",
        help="wav2vec2: our CTC aligner (default); asrcnn: StyleTTS2's ASR aligner, the baseline",
    )
    parser.add_argument(
        "--checkpoint",
        help=f"trained aligner; wav2vec2: folder or hub id (default: {DEFAULT_CHECKPOINT}, where "
        f"configs/aligner/tiny.yaml trains); asrcnn: .pth file (default: {ASR_DEFAULT_CHECKPOINT})",
    )
    parser.add_argument(
        "--asr-config", default=ASR_DEFAULT_CONFIG, help="asrcnn: its config.yml (default: %(default)s)"
    )
    parser.add_argument(
        "--asr-attention-rows",
        choices=ATTENTION_ROWS,
        default="styletts2",
        help="asrcnn: styletts2 = the decoder steps StyleTTS2 keeps (default); predicting = the steps that "
        "predict each token (see matcha/utils/ASR/align.py)",
    )
    parser.add_argument("--out-dir", type=Path, help="where durations go (default: CORPUS/durations)")
    parser.add_argument(
        "--add-blank",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="intersperse blanks as Matcha's add_blank (default: on; both stages are built for it: without "
        "blanks a phone must also hold the silence around it and boundaries are much worse)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo utterances whose output exists (default: skip them)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per model call (default: 8)")
    parser.add_argument(
        "--textgrid", action="store_true", help="also write Praat TextGrids to CORPUS/textgrids/ (phones, words)"
    )
    parser.add_argument(
        "--format",
        choices=["pt", "npy"],
        default="pt",
        help="pt: durations/{rel_path}.pt (default); npy: where upstream Matcha's loader reads them, "
        "<wav's grandparent>/durations/<wav stem>.npy (wavs/0/0001.wav -> wavs/durations/0001.npy)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="acoustic",
        help="acoustic: MAS over the checkpoint's acoustic scores plus its CTC scores, on the mel grid: phone "
        "tokens hold their phones' frames, blanks one frame except over a pause (default; needs the acoustic "
        "stage that aligner/train.py fits, or python -m aligner.train.acoustic); mel: MAS over the CTC scores "
        "alone on the mel grid (phone tokens get their CTC spikes, blanks the frames between); ctc: MAS on "
        "20 ms CTC frames, then to the grid; forced_align: the plain CTC baseline",
    )
    parser.add_argument(
        "--offset-ms",
        type=float,
        help="wav2vec2: time of the centre of the first CTC frame (default: the value in the checkpoint's "
        "alignment.json, set from the training corpus itself by python -m aligner.train.acoustic, else 12.5 ms)",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: parse the options, then run the extraction (aligner.align.extract.run)."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
