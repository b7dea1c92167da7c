"""Two states per phone token: a left-to-right search on the mel grid in which a phone may hold one frame.

An HMM aligner gives a phone several states in a row (its onset, its steady part, its offset), so that a
boundary is placed where the next phone's onset fits better than this phone's offset. Matcha needs a token
to hold one frame at least, and 14 % of the demo corpus's phones are shorter than two frames, so a phone's
states may not each demand a frame. Here a phone token has two states, *onset* then *offset*, and its frames
are some onset frames followed by some offset frames, at least one frame in all: either state may be
skipped, not both. Every other token (blank, space, punctuation, annotation mark) is one state.

The search is MAS (Glow-TTS's monotonic alignment search) with more moves: besides staying on a row or
stepping to the next, the path may step over one row into row r when row r is an offset state (its onset
skipped) or row r - 1 is one (the previous phone's offset skipped), and over two rows when both are skipped
(rows r and r - 2 are offsets). Every token then keeps at least one frame, and the one-state case finds
MAS's path (sums here are in float64, MAS's in float32: near-ties may differ). It is written here, compiled
by numba on the CPU, because no library searches this topology (torchaudio's ``forced_align`` knows only
CTC's).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

NEG_INF = -1e30  # not reached: no path
FLOOR = -1e20  # the lowest score a frame may have (-inf and NaN scores become this)


def state_rows(has_two_states: list[bool]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the state search for tokens of which ``has_two_states`` are phones: the token of every row
    [rows] and its state (0: onset or the only state, 1: offset) [rows], both int64."""
    tokens, states = [], []
    for k, two in enumerate(has_two_states):
        tokens += [k, k] if two else [k]
        states += [0, 1] if two else [0]
    return torch.tensor(tokens, dtype=torch.long), torch.tensor(states, dtype=torch.long)


@numba.njit(cache=True)
def _best_path(scores: np.ndarray, offset_state: np.ndarray) -> np.ndarray:
    rows, frames = scores.shape
    best = np.full(rows, NEG_INF)
    best[0] = scores[0, 0]
    if rows > 1 and offset_state[1]:
        best[1] = scores[1, 0]
    moves = np.zeros((frames, rows), dtype=np.uint8)
    for t in range(1, frames):
        for r in range(rows - 1, -1, -1):  # backwards, so best[r - k] still holds frame t - 1
            value, move = best[r], 0  # on a tie the path stays, as MAS
            if r >= 1 and best[r - 1] > value:
                value, move = best[r - 1], 1
            if r >= 2 and (offset_state[r] or offset_state[r - 1]) and best[r - 2] > value:
                value, move = best[r - 2], 2
            if r >= 3 and offset_state[r] and offset_state[r - 2] and best[r - 3] > value:
                value, move = best[r - 3], 3
            best[r] = value + scores[r, t]
            moves[t, r] = move
    row = rows - 1
    if rows > 1 and offset_state[row] and best[row - 1] > best[row]:
        row -= 1  # the last phone's offset skipped
    held = np.zeros(rows, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        held[row] += 1
        row -= moves[t, row]
    return held


def state_search(scores: list[torch.Tensor], row_states: list[torch.Tensor]) -> list[torch.Tensor]:
    """Frames held by every row [rows] (int64, >= 0; each token's rows >= 1 frame in all) on the best path
    through each score matrix [rows, frames] (module doc), searched on the CPU.

    ``row_states``: the state of every row of each matrix (``state_rows``). ``ValueError`` when a matrix
    has more tokens than frames."""
    durations = []
    for matrix, states in zip(scores, row_states, strict=True):
        tokens = int((states == 0).sum())
        if tokens > matrix.shape[1]:
            raise ValueError(f"{tokens} tokens for {matrix.shape[1]} frames: each token needs a frame")
        values = np.nan_to_num(matrix.detach().to("cpu", torch.float64).numpy(), nan=FLOOR, neginf=FLOOR)
        values = np.maximum(values, FLOOR)  # an impossible row stays above the search's own NEG_INF
        durations.append(torch.from_numpy(_best_path(values, (states == 1).numpy())))
    return durations
