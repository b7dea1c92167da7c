"""Compute Matcha's training mels for a corpus, for users without a Matcha of their own.

    python -m aligner.mels --corpus CORPUS [--overwrite] [--resample]
    python -m aligner.mels --data-config configs/data/X.yaml

Writes ``CORPUS/mels/{rel_path}.npy`` (or the data YAML's ``mel_dir``) for every utterance of the corpus's
filelists (layout: ``aligner.corpus``): upstream Matcha's mel front end at the corpus's rate (the data YAML's
sample_rate, else its wavs'), with the YAML's n_fft, hop_length, win_length, n_feats, f_min and f_max (by
default upstream's 1024, 256, 1024, 80, 0 and 8000 Hz; log clamp 1e-5): float32 [n_feats, floor(samples /
hop)]. A Matcha that computes its own mels (a fork's precompute script, or upstream's loader, which needs no
mel files at all) needs none of this: the aligner reads whatever mels are there, and without any it counts
frames as upstream's loader does. An existing mel is never overwritten without ``--overwrite``: Matcha
trains on these files. A wav at another rate than the corpus's is refused by name; ``--resample``
resamples it to the corpus's rate instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import aligner.corpus as corpus_layout
from aligner.audio import AudioError, load_wav, mel_spectrogram, wav_frames
from aligner.corpus import (
    MEL_FOLDERS,
    Corpus,
    CorpusError,
    MetadataError,
    Utterance,
    add_corpus_options,
    corpus_from_options,
    open_corpus,
)
from aligner.durations import save_npy


def matcha_mel(audio: np.ndarray, corpus: Corpus) -> np.ndarray:
    """Upstream Matcha's mel of ``audio`` (float in [-1, 1] at the corpus's rate) with the corpus's mel
    settings, as float32 [n_feats, floor(samples / hop)]."""
    settings = corpus.mel_settings
    mel = mel_spectrogram(
        torch.from_numpy(audio), corpus.sample_rate, int(settings["n_fft"]), int(settings["n_feats"]),
        corpus.hop_length, int(settings["win_length"]), float(settings["f_min"]), float(settings["f_max"]),
    )  # fmt: skip
    return mel[0].numpy().astype(np.float32)


def compute_mel(corpus: Corpus, utterance: Utterance, resample: bool = False) -> np.ndarray:
    """``matcha_mel`` of one utterance's wav (``AudioError`` naming it when it is at another rate than the
    corpus's, unless ``resample``)."""
    return matcha_mel(load_wav(utterance.wav, corpus.sample_rate, resample=resample), corpus)


def utterance_frames(corpus: Corpus, utterance: Utterance) -> int:
    """The frame count T of ``utterance`` on the corpus's grid: its mel file's, or where the corpus has no mel
    files floor(samples / hop), as upstream's loader computes them (``AudioError`` for an unusable wav)."""
    mel = corpus.mel(utterance.rel_path)
    if mel is not None:
        return int(np.load(mel, mmap_mode="r").shape[1])
    return wav_frames(utterance.wav, corpus.sample_rate) // corpus.hop_length


def utterance_mel(corpus: Corpus, utterance: Utterance) -> np.ndarray:
    """The mel Matcha trains on for ``utterance``, to look at: the corpus's own mel file, or where the corpus
    has no mel files (the Matcha computes them in its loader) upstream's mel of the wav."""
    mel = corpus.mel(utterance.rel_path)
    return np.load(mel) if mel is not None else compute_mel(corpus, utterance)


def precompute(
    corpus: Corpus | str | Path, overwrite: bool = False, resample: bool = False
) -> tuple[Path, int, int, list[str]]:
    """Write missing mels; returns (their folder, written, skipped, failure messages). A malformed filelist
    line is a failure of its own (named by line): the other lines get their mels; a corpus without filelist
    raises ``CorpusError``."""
    corpus = open_corpus(corpus)
    folder = corpus.mel_dir or corpus.root / MEL_FOLDERS[0]
    problems: list[MetadataError] = []
    utterances = corpus.read(problems)
    written, skipped, failures = 0, 0, [str(problem) for problem in problems]
    for utterance in tqdm(utterances, desc="mels", unit="utt"):
        target = folder / f"{utterance.rel_path}.npy"
        if target.exists() and not overwrite:
            skipped += 1
            continue
        try:
            mel = compute_mel(corpus, utterance, resample=resample)
        except AudioError as error:
            failures.append(str(error))
            continue
        save_npy(target, mel)
        written += 1
    return folder, written, skipped, failures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m aligner.mels",
        description=f"{__doc__}\nThe corpus layout (aligner.corpus):\n{corpus_layout.__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_corpus_options(parser, "corpus folder (its *.csv filelists, wav/)")
    parser.add_argument("--overwrite", action="store_true", help="recompute mels that already exist")
    parser.add_argument(
        "--resample", action="store_true", help="resample wavs at another rate to the corpus's (default: refuse them)"
    )
    args = parser.parse_args(argv)
    try:
        corpus = corpus_from_options(parser, args)
        corpus.check_rates()
        folder, written, skipped, failures = precompute(corpus, args.overwrite, args.resample)
    except (CorpusError, MetadataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    print(f"mels in {folder} ({corpus.sample_rate} Hz, hop {corpus.hop_length}): {written} written, "
          f"{skipped} already there, {len(failures)} failed")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
