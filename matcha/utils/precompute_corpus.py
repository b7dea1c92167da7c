"""Compute Matcha's training mels for a corpus.

Corpus layout (the one description every tool of this project follows)::

    CORPUS/metadata.csv              one utterance per line, no header, UTF-8:
                                     rel_path|spk_id|language|text
                                     e.g.  0/0001|0|en-us|Hello world.
    CORPUS/wavs/{rel_path}.wav       mono audio, 24 kHz (16-bit PCM or float)
    CORPUS/mels/{rel_path}.npy       Matcha's mel: float32 [80, floor(samples / 256)]
    CORPUS/durations/{rel_path}.pt   durations written by the aligner (int64, one per token)
    CORPUS/reference/{rel_path}.json true phone boundaries, where known (demo corpus)

Fields: ``rel_path`` is a relative path without extension (``speaker/utterance`` by
convention), unique in the file; ``spk_id`` a non-negative integer; ``language`` an espeak-ng
language code (en-us, en-gb, fr-fr, de, es, ...); ``text`` the raw text, which may itself
contain ``|``. Mels are Matcha's front end (n_fft 1024, hop 256, win 1024, 80 mels,
0-8000 Hz, log clamp 1e-5) at 24 kHz. An existing mel is never overwritten without
``--overwrite``: Matcha trains on these files.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from aligner.audio import SAMPLE_RATE, AudioError, load_wav, mel_spectrogram
from aligner.durations import save_npy


class MetadataError(ValueError):
    """A metadata.csv line that does not follow the corpus format.

    ``line``: its line number (None for the file as a whole); ``rel_path``: the line's rel_path when
    it is usable (valid and not a repeat), else None.
    """

    def __init__(self, message: str, line: int | None = None, rel_path: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.rel_path = rel_path


@dataclass(frozen=True)
class Utterance:
    """One line of metadata.csv."""

    rel_path: str
    spk_id: int
    language: str
    text: str


def split_metadata_line(line: str, where: str, number: int) -> list[str]:
    """The four stripped fields of ``rel_path|spk_id|language|text``, with a valid rel_path;
    ``where`` names the file and line (number ``number``) in errors."""
    fields = [field.strip() for field in line.rstrip("\r\n").split("|", 3)]
    if len(fields) != 4:
        raise MetadataError(f"{where}: expected 4 fields 'rel_path|spk_id|language|text', got {len(fields)}", number)
    rel_path = fields[0]
    if not rel_path or Path(rel_path).is_absolute() or ".." in Path(rel_path).parts:
        raise MetadataError(f"{where}: rel_path {rel_path!r} must be a relative path inside the corpus", number)
    return fields


def to_utterance(fields: list[str], where: str, number: int) -> Utterance:
    """Check the speaker id, language and text of split fields; errors name the line and its rel_path."""
    rel_path, spk_id, language, text = fields
    if not spk_id.isdigit():
        raise MetadataError(f"{where}: speaker id {spk_id!r} is not a non-negative integer", number, rel_path)
    if not language:
        raise MetadataError(f"{where}: empty language code", number, rel_path)
    if not text:
        raise MetadataError(f"{where}: empty text", number, rel_path)
    return Utterance(rel_path, int(spk_id), language, text)


def read_metadata_line(raw: bytes, where: str, number: int, seen: dict[str, int]) -> Utterance | None:
    """Decode and parse one line (None for a blank one); ``seen`` maps the rel_paths met so far to their line."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MetadataError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})", number) from error
    if not line.strip():
        return None
    fields = split_metadata_line(line, where, number)
    if fields[0] in seen:
        raise MetadataError(f"{where}: rel_path {fields[0]!r} repeats line {seen[fields[0]]}", number)
    seen[fields[0]] = number
    return to_utterance(fields, where, number)


def read_metadata(corpus: str | Path, problems: list[MetadataError] | None = None) -> list[Utterance]:
    """All utterances of ``corpus/metadata.csv``.

    A malformed line or a repeated rel_path raises ``MetadataError``; when ``problems`` is a list, the
    error is appended to it instead and the line left out. A missing file always raises.
    """
    path = Path(corpus) / "metadata.csv"
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError as error:
        raise MetadataError(f"{path}: not found (see --help for the corpus layout)") from error
    utterances: list[Utterance] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            utterance = read_metadata_line(raw, f"{path}:{number}", number, seen)
        except MetadataError as error:
            if problems is None:
                raise
            problems.append(error)
            continue
        if utterance is not None:
            utterances.append(utterance)
    return utterances


def wav_path(corpus: str | Path, rel_path: str) -> Path:
    """``corpus/wavs/{rel_path}.wav``."""
    return Path(corpus) / "wavs" / f"{rel_path}.wav"


def mel_path(corpus: str | Path, rel_path: str) -> Path:
    """``corpus/mels/{rel_path}.npy``."""
    return Path(corpus) / "mels" / f"{rel_path}.npy"


def reference_path(corpus: str | Path, rel_path: str) -> Path:
    """``corpus/reference/{rel_path}.json`` (true phone boundaries, where known)."""
    return Path(corpus) / "reference" / f"{rel_path}.json"


def compute_mel(wav: str | Path, resample: bool = False) -> np.ndarray:
    """Matcha mel of one wav file as float32 [80, frames]."""
    audio = load_wav(wav, SAMPLE_RATE, resample=resample)
    return mel_spectrogram(torch.from_numpy(audio))[0].numpy().astype(np.float32)


def precompute(corpus: str | Path, overwrite: bool = False, resample: bool = False) -> tuple[int, int, list[str]]:
    """Write missing mels; returns (written, skipped, failure messages). A malformed metadata line is a
    failure of its own (named by line): the other lines get their mels; a missing metadata.csv raises
    ``MetadataError``."""
    problems: list[MetadataError] = []
    utterances = read_metadata(corpus, problems)
    written, skipped, failures = 0, 0, [str(problem) for problem in problems]
    for utterance in tqdm(utterances, desc="mels", unit="utt"):
        target = mel_path(corpus, utterance.rel_path)
        if target.exists() and not overwrite:
            skipped += 1
            continue
        try:
            mel = compute_mel(wav_path(corpus, utterance.rel_path), resample=resample)
        except AudioError as error:
            failures.append(str(error))
            continue
        save_npy(target, mel)
        written += 1
    return written, skipped, failures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m matcha.utils.precompute_corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, type=Path, help="corpus folder holding metadata.csv and wavs/")
    parser.add_argument("--overwrite", action="store_true", help="recompute mels that already exist")
    parser.add_argument(
        "--resample", action="store_true", help="resample wavs that are not 24 kHz (default: refuse them)"
    )
    args = parser.parse_args(argv)
    try:
        written, skipped, failures = precompute(args.corpus, args.overwrite, args.resample)
    except MetadataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    print(f"mels in {args.corpus / 'mels'}: {written} written, {skipped} already there, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
