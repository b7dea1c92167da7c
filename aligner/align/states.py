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
(rows r and r - 2 are offsets). Every token then keeps at least one frame, and the one-state case is exactly
MAS. It is written here (torch, one step per frame over every
row of a batch at once) because no library has this topology: torchaudio's ``forced_align`` knows only CTC's.
"""

from __future__ import annotations

import torch

NEG_INF = -1e30


def state_rows(has_two_states: list[bool]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the state search for tokens of which ``has_two_states`` are phones: the token of every row
    [rows] and its state (0: onset or the only state, 1: offset) [rows], both int64."""
    tokens, states = [], []
    for k, two in enumerate(has_two_states):
        tokens += [k, k] if two else [k]
        states += [0, 1] if two else [0]
    return torch.tensor(tokens, dtype=torch.long), torch.tensor(states, dtype=torch.long)


def state_search(scores: list[torch.Tensor], row_states: list[torch.Tensor]) -> list[torch.Tensor]:
    """Frames held by every row [rows] (int64, >= 0; each token's rows >= 1 frame in all) on the best path
    through each score matrix [rows, frames] (module doc), all matrices searched together on their device.

    ``row_states``: the state of every row of each matrix (``state_rows``). ``ValueError`` when a matrix
    has more tokens than frames."""
    batch = len(scores)
    n_rows = max(s.shape[0] for s in scores)
    n_frames = max(s.shape[1] for s in scores)
    device = scores[0].device
    value = torch.full((batch, n_rows, n_frames), NEG_INF, device=device)
    offset_state = torch.zeros(batch, n_rows, dtype=torch.bool, device=device)
    for b, (matrix, states) in enumerate(zip(scores, row_states, strict=True)):
        tokens = int((states == 0).sum())
        if tokens > matrix.shape[1]:
            raise ValueError(f"{tokens} tokens for {matrix.shape[1]} frames: each token needs a frame")
        value[b, : matrix.shape[0], : matrix.shape[1]] = matrix
        offset_state[b, : len(states)] = states.to(device) == 1
    may_skip = offset_state.clone()  # over one row: an onset skipped, or the previous offset
    may_skip[:, 1:] |= offset_state[:, :-1]
    may_skip_two = torch.zeros_like(offset_state)  # over two rows: the previous offset and this onset
    may_skip_two[:, 2:] = offset_state[:, 2:] & offset_state[:, :-2]
    last_frame = torch.tensor([s.shape[1] - 1 for s in scores], device=device)
    choices = torch.zeros(n_frames, batch, n_rows, dtype=torch.uint8, device=device)
    best = torch.full((batch, n_rows), NEG_INF, device=device)
    best[:, 0] = value[:, 0, 0]
    if n_rows > 1:
        best[:, 1] = torch.where(offset_state[:, 1], value[:, 1, 0], NEG_INF)
    final = best.clone()
    moves = torch.full((4, batch, n_rows), NEG_INF, device=device)  # stay, step, skip one row, skip two
    for t in range(1, n_frames):
        moves[0] = best
        moves[1, :, 1:] = best[:, :-1]
        moves[2, :, 2:] = torch.where(may_skip[:, 2:], best[:, :-2], NEG_INF)
        moves[3, :, 3:] = torch.where(may_skip_two[:, 3:], best[:, :-3], NEG_INF)
        best, choice = moves.max(0)  # on a tie the path stays, as MAS
        best = best + value[:, :, t]
        choices[t] = choice.to(torch.uint8)
        final = torch.where((last_frame == t)[:, None], best, final)
    choices, final = choices.cpu().numpy(), final.cpu()
    durations = []
    for b, (matrix, states) in enumerate(zip(scores, row_states, strict=True)):
        rows, frames = matrix.shape
        row = rows - 1
        if rows > 1 and states[row] == 1 and final[b, row - 1] > final[b, row]:
            row -= 1  # the last phone's offset skipped
        held = [0] * rows
        for t in range(frames - 1, -1, -1):
            held[row] += 1
            row -= int(choices[t, b, row])
        durations.append(torch.tensor(held, dtype=torch.long))
    return durations
