"""Compute Matcha's training mels for a corpus, for users without a Matcha of their own.

    python -m aligner.mels --corpus CORPUS [--overwrite] [--resample]

Writes ``CORPUS/mels/{rel_path}.npy`` for every utterance of the corpus's filelists (layout:
``aligner.corpus``): upstream Matcha's mel front end at 24 kHz (n_fft 1024, hop 256, win 1024, 80 mels,
0-8000 Hz, log clamp 1e-5; float32 [80, floor(samples / 256)]). A Matcha that computes its own mels (a
fork's precompute script) needs none of this: the aligner reads whatever mels are there. An existing mel
is never overwritten without ``--overwrite``: Matcha trains on these files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import aligner.corpus as corpus_layout
from aligner.audio import SAMPLE_RATE, AudioError, load_wav, mel_spectrogram
from aligner.corpus import Corpus, CorpusError, MetadataError, open_corpus
from aligner.durations import save_npy


def compute_mel(wav: str | Path, resample: bool = False) -> np.ndarray:
    """Upstream Matcha's mel of one wav file as float32 [80, frames]."""
    audio = load_wav(wav, SAMPLE_RATE, resample=resample)
    return mel_spectrogram(torch.from_numpy(audio))[0].numpy().astype(np.float32)


def precompute(
    corpus: Corpus | str | Path, overwrite: bool = False, resample: bool = False
) -> tuple[int, int, list[str]]:
    """Write missing mels; returns (written, skipped, failure messages). A malformed filelist line is a
    failure of its own (named by line): the other lines get their mels; a corpus without filelist raises
    ``CorpusError``."""
    corpus = open_corpus(corpus)
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    written, skipped, failures = 0, 0, [str(problem) for problem in problems]
    for utterance in tqdm(utterances, desc="mels", unit="utt"):
        target = corpus.mel(utterance.rel_path)
        if target.exists() and not overwrite:
            skipped += 1
            continue
        try:
            mel = compute_mel(corpus.wav(utterance.rel_path), resample=resample)
        except AudioError as error:
            failures.append(str(error))
            continue
        save_npy(target, mel)
        written += 1
    return written, skipped, failures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.mels",
        description=f"{__doc__}\nThe corpus layout (aligner.corpus):\n{corpus_layout.__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder (its *.csv filelists, wav/)")
    parser.add_argument("--overwrite", action="store_true", help="recompute mels that already exist")
    parser.add_argument(
        "--resample", action="store_true", help="resample wavs that are not 24 kHz (default: refuse them)"
    )
    args = parser.parse_args(argv)
    try:
        corpus = Corpus.open(args.corpus)
        written, skipped, failures = precompute(corpus, args.overwrite, args.resample)
    except (CorpusError, MetadataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    print(f"mels in {corpus.mel_dir}: {written} written, {skipped} already there, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
