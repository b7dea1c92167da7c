"""Score matrices for monotonic alignment: one row per Matcha token, one column per frame.

Because the aligner's CTC head is Matcha's symbol table with the blank at id 0 (the id of
Matcha's interspersed blank), row k is simply the log-posterior of token k's id: interspersed
blanks are scored by the CTC blank. A model trained on phones only (``ctc_targets: phones``) never
emits space or punctuation; for it those tokens are pauses and are scored by the blank too.
"""

from __future__ import annotations

import numpy as np
import torch

from aligner.text import BLANK_ID, NON_PHONE_IDS

CTC_FRAME_SECONDS = 0.02  # Wav2Vec2: 320 samples at 16 kHz


def ctc_edge_seconds(frame: int | np.ndarray, offset: float) -> float | np.ndarray:
    """The time (s) where CTC frame ``frame`` starts (an int or an array of them), half a frame before its
    centre; ``offset``: the centre of frame 0."""
    return offset + (frame - 0.5) * CTC_FRAME_SECONDS


# Time of the centre of CTC frame 0: the feature encoder's 400-sample receptive field starts at 0.
NOMINAL_OFFSET_SECONDS = 0.0125


def score_matrix(log_probs: torch.Tensor, token_ids: list[int], pauses_as_blank: bool) -> torch.Tensor:
    """Scores [tokens, frames] from log-posteriors [frames, symbols]."""
    ids = torch.tensor(token_ids, device=log_probs.device)
    if pauses_as_blank:
        non_phone = torch.tensor(sorted(NON_PHONE_IDS), device=log_probs.device)
        ids = torch.where(torch.isin(ids, non_phone), torch.full_like(ids, BLANK_ID), ids)
    return log_probs[:, ids].T


def to_frame_grid(scores: torch.Tensor, n_frames: int, frame_seconds: float, offset_seconds: float) -> torch.Tensor:
    """Scores [tokens, CTC frames] linearly interpolated at the centres of ``n_frames`` frames of
    ``frame_seconds`` (e.g. Matcha's hop 256 at 24 kHz); CTC frame t is centred at
    ``offset_seconds + t * CTC_FRAME_SECONDS``; beyond the first/last CTC frame the edge value holds."""
    centres = (torch.arange(n_frames, device=scores.device, dtype=torch.float64) + 0.5) * frame_seconds
    position = ((centres - offset_seconds) / CTC_FRAME_SECONDS).clamp(0, scores.shape[1] - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=scores.shape[1] - 1)
    weight = (position - low).to(scores.dtype)
    return scores[:, low] * (1 - weight) + scores[:, high] * weight
