"""The two-state search against every path enumerated, and a two-state stage on clean features."""

import torch

from aligner.acoustic.model import PAUSE_CLASS, AcousticModel, AcousticStage, GaussianStats, state_class
from aligner.acoustic.search import acoustic_search
from aligner.search.mas import batched_mas
from aligner.search.states import state_rows, state_search
from aligner.text import BLANK_ID, symbol_to_id


def compositions(total: int, parts: int):
    """Every way to write ``total`` frames as ``parts`` counts >= 0."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def best_by_enumeration(scores: torch.Tensor, row_token: torch.Tensor) -> float:
    """The best score over all frame counts of the rows that give every token at least one frame."""
    best = -float("inf")
    for counts in compositions(scores.shape[1], scores.shape[0]):
        held = torch.tensor(counts)
        if (torch.zeros(int(row_token.max()) + 1, dtype=torch.long).index_add_(0, row_token, held) < 1).any():
            continue
        owner = torch.repeat_interleave(torch.arange(len(held)), held)
        best = max(best, float(scores[owner, torch.arange(scores.shape[1])].sum()))
    return best


def test_the_search_finds_the_best_path_in_which_every_token_keeps_a_frame():
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        n_tokens = int(torch.randint(1, 4, (1,), generator=generator))
        row_token, row_state = state_rows([bool(b) for b in torch.randint(0, 2, (n_tokens,), generator=generator)])
        scores = torch.randn(len(row_token), n_tokens + int(torch.randint(0, 4, (1,), generator=generator)))
        (held,) = state_search([scores], [row_state])
        tokens = torch.zeros(n_tokens, dtype=torch.long).index_add_(0, row_token, held)
        assert (tokens >= 1).all() and held.sum() == scores.shape[1]
        owner = torch.repeat_interleave(torch.arange(len(held)), held)
        found = float(scores[owner, torch.arange(scores.shape[1])].sum())
        assert abs(found - best_by_enumeration(scores, row_token)) < 1e-4


def test_one_frame_phones_skip_a_state_and_one_state_rows_search_as_mas():
    # rows: blank, a (onset, offset), blank; a's onset scores badly: a keeps one frame, in its offset
    _, states = state_rows([False, True, False])
    scores = torch.tensor([[0.0, -9, -9], [-9, -9, -9], [-9, 0, -9], [-9, -9, 0]])
    assert state_search([scores], [states])[0].tolist() == [1, 0, 1, 1]
    generator = torch.Generator().manual_seed(1)
    matrices = [torch.randn(5, 12, generator=generator).round() for _ in range(20)]  # rounded: ties
    _, states = state_rows([False] * 5)
    assert [d.tolist() for d in state_search(matrices, [states] * 20)] == [d.tolist() for d in batched_mas(matrices)]


def test_a_two_state_stage_puts_a_phones_onset_and_offset_where_they_sound():
    a = symbol_to_id["a"]
    onset, offset = state_class(torch.tensor([a, a]), torch.tensor([0, 1])).tolist()
    layout = [(PAUSE_CLASS, 6), (onset, 5), (offset, 7), (PAUSE_CLASS, 6)]
    corner = {PAUSE_CLASS: 0.0, onset: 6.0, offset: -6.0}
    generator = torch.Generator().manual_seed(3)
    labels = torch.tensor([c for c, n in layout for _ in range(n)])
    features = torch.tensor([corner[c] for c in labels.tolist()])[:, None] + 0.3 * torch.randn(
        24, 1, generator=generator
    )
    stats = GaussianStats.empty(1, 2 * len(symbol_to_id) + 10)
    stats.add(features, labels)
    model = AcousticModel.from_stats(stats, n_states=2)
    tokens = [BLANK_ID, a, BLANK_ID]
    (path,) = acoustic_search(AcousticStage(model, 0.0), [features], [tokens], [torch.zeros(3, 24)], None)
    assert path.durations.tolist() == [6, 12, 6]
    assert path.onsets.tolist() == [6, 5, 6]


def test_impossible_scores_still_give_every_token_a_frame():
    _, states = state_rows([False, True, False])
    scores = torch.randn(4, 6)
    scores[1:3] = float("-inf")
    scores[0, 2] = float("nan")
    (held,) = state_search([scores], [states])
    assert held[0] >= 1 and held[1] + held[2] >= 1 and held[3] >= 1 and held.sum() == 6
