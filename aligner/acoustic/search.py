"""The best path through an acoustic stage's scores: MAS for a one-state model, the two-state search
(``aligner.search.states``) otherwise, with annotation marks settled."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aligner.acoustic.model import AcousticStage
from aligner.search.marks import MarkGroup, settle, share_rows
from aligner.search.mas import batched_mas
from aligner.search.states import state_search


@dataclass
class StatePath:
    """Frames of every token [tokens] on an acoustic stage's best path (marks settled), and how many of them
    its first state holds [tokens] (all of them for a one-state token)."""

    durations: torch.Tensor
    onsets: torch.Tensor


def acoustic_search(
    stage: AcousticStage,
    features: list[torch.Tensor],
    token_ids: list[list[int]],
    ctc_scores: list[torch.Tensor],
    groups: list[list[MarkGroup]] | None,
    speaker_transforms: list[torch.Tensor | None] | None = None,
) -> list[StatePath]:
    """The best path of every utterance through its acoustic stage scores (``AcousticStage.scores`` of
    ``features`` [frames, D], ``token_ids`` and ``ctc_scores`` [tokens, frames] on the mel grid): MAS
    (``batched_mas``) for a one-state model, the two-state search of ``aligner.search.states`` otherwise;
    ``groups``: annotation-mark groups (``aligner.search.marks``) or None; ``speaker_transforms``: each
    utterance's speaker transform (``aligner.acoustic.adapt``), or None for none."""
    rows = [stage.model.rows(ids) for ids in token_ids]
    transforms = speaker_transforms or [None] * len(features)
    matrices = [
        stage.scores(f, ids, r, c, w)
        for f, ids, r, c, w in zip(features, token_ids, rows, ctc_scores, transforms, strict=True)
    ]
    if stage.model.n_states == 1:
        return [StatePath(d, d) for d in batched_mas(matrices, groups)]
    if groups is not None:
        matrices = [share_rows(m, g, r[0]) for m, g, r in zip(matrices, groups, rows, strict=True)]
    paths = []
    held_rows = state_search(matrices, [r[1] for r in rows])
    for k, ((row_token, row_state), held) in enumerate(zip(rows, held_rows, strict=True)):
        n_tokens = len(token_ids[k])
        durations = torch.zeros(n_tokens, dtype=torch.long).index_add_(0, row_token, held)
        onsets = torch.zeros(n_tokens, dtype=torch.long).index_add_(0, row_token, held * (row_state == 0))
        if groups is not None:
            durations = settle(durations, groups[k])
        two_states = torch.zeros(n_tokens, dtype=torch.bool).index_fill_(0, row_token[row_state == 1], True)
        paths.append(StatePath(durations, torch.where(two_states, torch.minimum(onsets, durations), durations)))
    return paths
