"""Training data for the ASRCNN: a corpus's utterances as Matcha ids and ASR mels.

Texts become the installed Matcha's tokens (``aligner.text.frontend``, as the extraction reads them) and
then Matcha symbol ids; the wavs, at the corpus's rate, are resampled to StyleTTS2's 24 kHz. The decoder reads
StyleTTS2's text ``[pad] + ids + [pad]`` (pad = id 0) and learns to predict it; the CTC head learns
the phone symbols only, with the CTC blank at id 0 (Matcha's pad/blank, never a spoken symbol). Space
and punctuation are not CTC targets: they are often silent or have no duration, which the blank covers.
(AuxiliaryASR instead takes the id of " " as the CTC blank: 16 in StyleTTS2's table.)

ASR mels are computed on first use and cached (by default in CORPUS/asr_mels/{rel_path}.npy, never in
Matcha's mels/); a cached mel whose length does not match its wav is recomputed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from torch.utils.data import Dataset, Sampler

from aligner.asrcnn.mel import MIN_SAMPLES, N_MELS, asr_mel, encoder_frames, pad_mels
from aligner.audio import TTS_SAMPLE_RATE, load_wav, rate_message
from aligner.corpus import Corpus
from aligner.durations import save_npy
from aligner.text import (
    BLANK_ID,
    NON_PHONE_IDS,
    UnknownSymbolError,
    check_token_ids,
)
from aligner.text.frontend import TextFrontend
from aligner.tokens import UNKNOWN_SYMBOL, TokenError, tokenise


@dataclass(frozen=True)
class Example:
    """One training utterance."""

    rel_path: str
    token_ids: list[int]  # Matcha ids of the IPA, no blanks, no pads
    wav: Path
    sample_rate: int  # the wav's own (the corpus's) rate
    frames: int  # encoder frames (25 ms)


def prepare_examples(corpus: Corpus, n_token: int, frontend: TextFrontend) -> tuple[list[Example], list[str]]:
    """Usable utterances of ``corpus`` (their tokens from ``frontend``) and, for the others, why they are left
    out. An IPA symbol that ``n_token`` does not cover is an ``UnknownSymbolError`` naming the utterance."""
    rate = corpus.sample_rate
    examples, skipped = [], []
    for tokens in tokenise(corpus.read(), frontend):
        utterance = tokens.utterance
        if isinstance(tokens, TokenError):
            if tokens.cause == UNKNOWN_SYMBOL:
                raise UnknownSymbolError(f"utterance {utterance.rel_path}: {tokens}")
            skipped.append(f"{utterance.rel_path}: {tokens}")
            continue
        ids = tokens.ids
        try:
            check_token_ids(ids, n_token, "the ASRCNN config")
        except UnknownSymbolError as error:
            raise UnknownSymbolError(f"utterance {utterance.rel_path}: {error}") from None
        path = utterance.wav
        try:
            info = sf.info(str(path))
        except (OSError, RuntimeError) as error:
            skipped.append(f"{utterance.rel_path}: unreadable wav ({error})")
            continue
        samples = round(info.frames * TTS_SAMPLE_RATE / info.samplerate)  # after resampling to 24 kHz
        frames = encoder_frames(samples)
        if info.samplerate != rate:
            skipped.append(f"{utterance.rel_path}: {rate_message(path, info.samplerate, rate)}")
        elif info.channels != 1:
            skipped.append(f"{utterance.rel_path}: {info.channels} channels, not mono")
        elif samples < MIN_SAMPLES or len(ids) + 2 > frames:
            skipped.append(f"{utterance.rel_path}: audio too short for its {len(ids)} symbols")
        else:
            examples.append(Example(utterance.rel_path, ids, path, rate, frames))
    return examples, skipped


def read_24k(path: Path, sample_rate: int) -> np.ndarray:
    """A wav at ``sample_rate`` as StyleTTS2's 24 kHz audio (soxr where the rates differ)."""
    audio = load_wav(path, sample_rate)
    return audio if sample_rate == TTS_SAMPLE_RATE else soxr.resample(audio, sample_rate, TTS_SAMPLE_RATE)


def asr_mel_cached(example: Example, cache_dir: Path | None) -> torch.Tensor:
    """The example's ASR mel, read from ``cache_dir/{rel_path}.npy`` when there with the expected length,
    else computed (and written there)."""
    path = cache_dir / f"{example.rel_path}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        mel = np.load(path)
        if mel.shape == (N_MELS, 2 * example.frames):
            return torch.from_numpy(mel)
    mel = asr_mel(read_24k(example.wav, example.sample_rate))
    if path is not None:
        save_npy(path, mel.numpy())
    return mel


class ASRDataset(Dataset):
    """(text ``[0] + ids + [0]``, CTC targets, mel [80, T]) per example; mels cached in ``cache_dir`` if given."""

    def __init__(self, examples: list[Example], cache_dir: Path | None = None) -> None:
        self.examples = examples
        self.cache_dir = cache_dir

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        example = self.examples[index]
        text = torch.tensor([BLANK_ID, *example.token_ids, BLANK_ID])
        targets = torch.tensor([i for i in example.token_ids if i not in NON_PHONE_IDS])
        return text, targets, asr_mel_cached(example, self.cache_dir)


def collate(items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Batch: texts padded with -1, CTC targets concatenated, mels zero-padded; with all lengths."""
    texts = torch.nn.utils.rnn.pad_sequence([text for text, _, _ in items], batch_first=True, padding_value=-1)
    mels, mel_lengths = pad_mels([mel for _, _, mel in items])
    return {
        "texts": texts,
        "text_lengths": torch.tensor([len(text) for text, _, _ in items]),
        "targets": torch.cat([targets for _, targets, _ in items]),
        "target_lengths": torch.tensor([len(targets) for _, targets, _ in items]),
        "mels": mels,
        "mel_lengths": mel_lengths,
    }


class LengthBatches(Sampler[list[int]]):
    """Batches of utterances of similar length, in an order shuffled per epoch (set ``epoch`` first)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int) -> None:
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        self.batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        batches = list(self.batches)
        random.Random(self.seed + self.epoch).shuffle(batches)
        return iter(batches)
