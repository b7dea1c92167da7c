"""Matcha durations from StyleTTS2's ASRCNN attention, as StyleTTS2 derives its duration targets.

StyleTTS2 (``train_first.py`` / ``train_second.py``): run the aligner on the ASR mel with the text
``[pad] + symbols + [pad]`` (pad = id 0, no interspersed blanks), drop the decoder's first (``sos``)
step so row j is the attention while reading token j, zero padded cells and run monotonic alignment
search over [tokens, 25 ms encoder frames] on the attention probabilities. ``asrcnn_align`` does the
same (eval mode: deterministic), turns each token's frames into a time span (encoder frame j is
centred on j x 25 ms; the first span starts at 0 s and the last ends with the audio) and lays the
spans on the Matcha mel grid with ``aligner.search.timing.durations_from_intervals`` (boundaries to the
nearest frame, every token >= 1 frame, total = Matcha's mel frames).

**Attention rows** (``attention_rows``): decoder step k reads token k-1 (step 0 reads ``sos``) and its
attention serves to predict token k (the cross-entropy target). StyleTTS2 keeps steps 1..L, so token
j gets the attention of the step that read it, which is trained to look at token j+1; ``"predicting"``
keeps steps 0..L-1 instead, the attention that predicts token j.

**Blanks** (``add_blank`` token lists ``[0, s1, 0, s2, ..., sL, 0]``): the model reads StyleTTS2's
text, without blanks: Matcha's 2L+1 tokens would need 25 ms each, and at the demo corpus's median of
20 IPA symbols per second that is all the audio there is (103 of its 200 utterances would not fit).
The leading pad's span (the silence before the first symbol) goes to Matcha's first blank, the
trailing pad's to the last. A blank between two symbols is centred on their boundary and spans
``blank_share`` x the shorter neighbour's span on each side (taken from the neighbours); with the
default 0 it is the point of the boundary, so it gets the one frame nearest to it. Either way the
blank's middle is the boundary, which is where ``aligner.evaluate.score`` reads it. Without ``add_blank``
the pads' spans join the first and last symbols.

**Padding** (``pad_samples``): StyleTTS2 trains on audio padded with 5000 zeros at each end
(``STYLETTS2_PAD_SAMPLES``); the same padding can be applied here, its time is removed from the spans.

``mean_log_prob``: mean log attention along the path (per encoder frame); ``min_share``: the share of
the symbols (blanks left out) that got a single mel frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from aligner.asrcnn.mel import ASR_FRAME_SECONDS, MIN_SAMPLES, asr_mel, encoder_frames, pad_mels
from aligner.asrcnn.models import ASRCNN
from aligner.audio import TTS_SAMPLE_RATE
from aligner.search.mas import Alignment, AlignmentError, batched_mas
from aligner.search.timing import durations_from_intervals
from aligner.text import BLANK_ID, check_token_ids

STYLETTS2_PAD_SAMPLES = 5000
ATTENTION_ROWS = ("styletts2", "predicting")


def model_text(token_ids: list[int], add_blank: bool) -> list[int]:
    """StyleTTS2's text ``[pad] + symbols + [pad]`` for these Matcha tokens."""
    if add_blank and (len(token_ids) % 2 == 0 or any(i != BLANK_ID for i in token_ids[::2])):
        raise ValueError("add_blank token ids must be [0, s1, 0, ..., sL, 0]")
    return [BLANK_ID, *(token_ids[1::2] if add_blank else token_ids), BLANK_ID]


@torch.no_grad()
def attention_matrices(
    model: ASRCNN, mels: torch.Tensor, mel_lengths: torch.Tensor, texts: list[list[int]], rows: str = "styletts2"
) -> list[torch.Tensor]:
    """Attention [tokens, encoder frames] per utterance: decoder steps 1..L (StyleTTS2's, ``rows="styletts2"``)
    or 0..L-1 (``rows="predicting"``), see the module docstring."""
    first = 1 if rows == "styletts2" else 0
    frames = mel_lengths // 2**model.n_down
    frame_mask = torch.arange(mels.shape[2] // 2**model.n_down, device=mels.device)[None] >= frames[:, None]
    text = torch.zeros(len(texts), max(map(len, texts)), dtype=torch.long, device=mels.device)
    for row, ids in enumerate(texts):
        text[row, : len(ids)] = torch.tensor(ids)
    _, _, attention = model(mels, frame_mask, text)
    return [attention[row, first : len(ids) + first, : frames[row]] for row, ids in enumerate(texts)]


def _spans(durations: torch.Tensor, pad_seconds: float, audio_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    edges = np.concatenate([[0], np.cumsum(durations.numpy())])
    times = np.clip((edges - 0.5) * ASR_FRAME_SECONDS - pad_seconds, 0.0, audio_seconds)
    times[0], times[-1] = 0.0, audio_seconds
    return times[:-1], times[1:]


def matcha_spans(
    starts: np.ndarray, ends: np.ndarray, add_blank: bool, blank_share: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Spans of StyleTTS2's text (pad, symbols, pad) as spans of Matcha's tokens (see the module docstring)."""
    symbol_starts, symbol_ends = starts[1:-1].copy(), ends[1:-1].copy()
    if not add_blank:
        symbol_starts[0], symbol_ends[-1] = starts[0], ends[-1]
        return symbol_starts, symbol_ends
    lengths = symbol_ends - symbol_starts
    boundaries = symbol_ends[:-1].copy()
    half = blank_share * np.minimum(lengths[:-1], lengths[1:])
    symbol_ends[:-1], symbol_starts[1:] = boundaries - half, boundaries + half
    out_starts, out_ends = np.empty(2 * len(symbol_starts) + 1), np.empty(2 * len(symbol_starts) + 1)
    out_starts[1::2], out_ends[1::2] = symbol_starts, symbol_ends
    out_starts[2:-1:2], out_ends[2:-1:2] = boundaries - half, boundaries + half
    out_starts[0], out_ends[0], out_starts[-1], out_ends[-1] = starts[0], ends[0], starts[-1], ends[-1]
    return out_starts, out_ends


@contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run torch on one CPU thread (no effect on GPU): ASRCNN's mel and decoder steps are tiny ops that gain
    nothing from intra-op threads, which on a busy machine spend their time waiting for each other (3x slower)."""
    previous = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def asrcnn_align(
    model: ASRCNN,
    wavs: list[np.ndarray],
    token_ids: list[list[int]],
    n_mel_frames: list[int],
    frame_seconds: float,
    add_blank: bool,
    blank_share: float = 0.0,
    pad_samples: int = 0,
    attention_rows: str = "styletts2",
) -> list[Alignment | AlignmentError]:
    """Durations on a Matcha mel grid of ``frame_seconds`` a frame for a batch of 24 kHz utterances (an
    ``AlignmentError`` in place of one that cannot be aligned); ``token_ids`` are Matcha ids,
    blank-interspersed if ``add_blank``."""
    if not 0.0 <= blank_share < 0.5:
        raise ValueError(f"blank_share must be in [0, 0.5), got {blank_share}")
    if attention_rows not in ATTENTION_ROWS:
        raise ValueError(f"attention_rows must be one of {ATTENTION_ROWS}, got {attention_rows!r}")
    for ids in token_ids:
        check_token_ids(ids, model.n_token, "the ASRCNN checkpoint")
    device = next(model.parameters()).device
    with one_cpu_thread(device):
        results: list[Alignment | AlignmentError] = [AlignmentError("not aligned")] * len(wavs)
        rows, mels, texts = [], [], []
        for row, (wav, ids, n_mel) in enumerate(zip(wavs, token_ids, n_mel_frames, strict=True)):
            text = model_text(ids, add_blank)
            padded = np.pad(np.asarray(wav, dtype=np.float32), pad_samples)
            n_frames = encoder_frames(len(padded))
            if len(text) > n_frames or len(ids) > n_mel or len(padded) < MIN_SAMPLES:
                results[row] = AlignmentError(
                    f"audio too short for its tokens: {len(text)} ASR tokens for {n_frames} frames of 25 ms, "
                    f"{len(ids)} Matcha tokens for {n_mel} mel frames"
                )
                continue
            rows.append(row)
            mels.append(asr_mel(padded, device))
            texts.append(text)
        if not rows:
            return results
        batch, lengths = pad_mels(mels)
        attentions = attention_matrices(model, batch, lengths, texts, attention_rows)
        for row, attention, path in zip(rows, attentions, batched_mas(attentions), strict=True):
            owner = torch.repeat_interleave(torch.arange(len(path)), path).to(attention.device)
            picked = attention[owner, torch.arange(len(owner), device=attention.device)]
            mean_log_prob = float(picked.clamp_min(1e-12).log().mean())
            starts, ends = _spans(path, pad_samples / TTS_SAMPLE_RATE, len(wavs[row]) / TTS_SAMPLE_RATE)
            starts, ends = matcha_spans(starts, ends, add_blank, blank_share)
            durations = durations_from_intervals(starts, ends, n_mel_frames[row], frame_seconds)
            symbol_durations = durations[1::2] if add_blank else durations
            results[row] = Alignment(durations, mean_log_prob, float((symbol_durations == 1).float().mean()))
        return results
