"""Context-dependent Gaussians and the LDA of the acoustic stage against known answers: neighbours, tree
splits on the neighbour that changes a phone, the discriminant direction, and a saved model read back."""

import torch
from safetensors.torch import save_file

from aligner.acoustic.context import PAUSE, grow_trees, questions, token_contexts
from aligner.acoustic.features import project, spliced
from aligner.acoustic.model import AcousticModel, GaussianStats, ScatterStats
from aligner.text import BLANK_ID, intersperse, phonemes_to_ids, symbol_to_id, symbols

M, N, S, F, A = (symbol_to_id[c] for c in "mnsfa")


def test_neighbours_skip_blanks_spaces_and_marks_and_stop_at_punctuation():
    tokens = intersperse(phonemes_to_ids("mˈa sa, n"))
    contexts = dict(zip(range(len(tokens)), token_contexts(tokens), strict=True))
    by_symbol = [(tokens[k], contexts[k]) for k in range(len(tokens)) if tokens[k] != BLANK_ID]
    stress, space, comma = symbol_to_id["ˈ"], symbol_to_id[" "], symbol_to_id[","]
    assert by_symbol == [
        (M, (PAUSE, A)),  # the stress mark is skipped
        (stress, (M, A)),  # a mark has its phone's neighbours
        (A, (M, S)),  # the space between words is skipped
        (space, (PAUSE, PAUSE)),
        (S, (A, A)),
        (A, (S, PAUSE)),  # the comma is a pause
        (comma, (PAUSE, PAUSE)),
        (space, (PAUSE, PAUSE)),
        (N, (PAUSE, PAUSE)),  # the utterance's ends are pauses
    ]


def context_stats(generator: torch.Generator) -> tuple[list, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frames of phone a after m, n (nasals: mean +2) and after s, f (mean -2), any right neighbour."""
    keys, counts, sums, squares = [], [], [], []
    for left in (M, N, S, F):
        for right in (S, F):
            frames = (2.0 if left in (M, N) else -2.0) + torch.randn(500, 3, generator=generator, dtype=torch.float64)
            keys.append((A, left, right))
            counts.append(500.0)
            sums.append(frames.sum(0))
            squares.append((frames**2).sum(0))
    return keys, torch.tensor(counts, dtype=torch.float64), torch.stack(sums), torch.stack(squares)


def test_a_tree_splits_a_phone_by_the_neighbour_that_changes_it_and_places_unseen_contexts():
    keys, counts, sums, squares = context_stats(torch.Generator().manual_seed(0))
    floor = torch.full((3,), 1e-3, dtype=torch.float64)
    tree, key_gaussian = grow_trees(keys, counts, sums, squares, floor, min_frames=200, min_gain=0.1)
    nasal_after = {key_gaussian[k].item() for k, key in enumerate(keys) if key[1] in (M, N)}
    fricative_after = {key_gaussian[k].item() for k, key in enumerate(keys) if key[1] in (S, F)}
    assert len(nasal_after) == 1 and len(fricative_after) == 1 and nasal_after != fricative_after
    assert tree.side[tree.roots[A]] == 0  # the root asks about the left neighbour
    ng = symbol_to_id["ŋ"]
    assert questions()[:, ng].any()
    assert tree.gaussian_of(A, ng, PAUSE) == nasal_after.pop()  # an unseen nasal goes with the nasals
    assert tree.gaussian_of(S, M, A) == S  # a phone without a tree keeps its class
    tree, key_gaussian = grow_trees(keys, counts, sums, squares, floor, min_frames=200, min_gain=100.0)
    assert len(set(key_gaussian.tolist())) == 1  # no split gains 100 per frame


def test_lda_finds_the_direction_that_separates_the_classes():
    generator = torch.Generator().manual_seed(0)
    direction = torch.nn.functional.normalize(torch.randn(20, generator=generator), dim=0)
    labels = torch.randint(0, 2, (4000,), generator=generator)
    scales = torch.linspace(0.5, 3.0, 20)  # unequal noise: the discriminant is not the mean difference
    frames = scales * torch.randn(4000, 20, generator=generator) + 4.0 * labels[:, None] * direction
    stats = ScatterStats(20, 2)
    stats.add(frames, labels)
    projection = stats.projection(1)
    fisher = torch.nn.functional.normalize(direction / scales**2, dim=0)  # S_w^-1 (mu_1 - mu_0)
    assert torch.nn.functional.cosine_similarity(projection[:, 0], fisher, dim=0).abs() > 0.99
    projected = frames @ projection
    gap = (projected[labels == 1].mean() - projected[labels == 0].mean()).abs()
    assert gap > 3 * projected[labels == 0].std()


def test_a_saved_model_with_a_tree_and_a_projection_scores_as_before(tmp_path):
    generator = torch.Generator().manual_seed(2)
    keys, counts, sums, squares = context_stats(generator)
    tree, key_gaussian = grow_trees(keys, counts, sums, squares, torch.full((3,), 1e-3), 200, 0.1)
    stats = GaussianStats.empty(3, int(key_gaussian.max()) + 1)
    stats.add(torch.randn(2000, 3, generator=generator), torch.randint(0, len(stats.counts), (2000,)))
    projection = torch.randn(120 * 9, 3, generator=generator)
    model = AcousticModel.from_stats(stats, tree, projection)
    model.save(tmp_path)
    loaded = AcousticModel.load(tmp_path)
    features = torch.randn(50, 360, generator=generator)
    assert spliced(features).shape == (50, 120 * 9)
    tokens = intersperse(phonemes_to_ids("ma fa"))
    gaussians = model.row_gaussians(tokens, model.rows(tokens))
    assert loaded.row_gaussians(tokens, loaded.rows(tokens)).tolist() == gaussians.tolist()
    assert gaussians[3] != A  # a after m has a context Gaussian
    scores = model.log_likelihoods(model.features(features), gaussians)
    assert torch.allclose(loaded.log_likelihoods(loaded.features(features), gaussians), scores)
    assert torch.allclose(project(features, projection).std(0, unbiased=False), torch.ones(3), atol=1e-3)


def test_a_stage_saved_before_states_trees_and_lda_loads_as_one_state_on_the_360_features(tmp_path):
    n = len(symbols)
    save_file(
        {"means": torch.zeros(n, 360), "variances": torch.ones(n, 360), "counts": torch.ones(n)},
        str(tmp_path / "acoustic_model.safetensors"),
    )
    model = AcousticModel.load(tmp_path)
    assert model.n_states == 1 and model.projection is None and model.tree is None
    tokens = intersperse(phonemes_to_ids("ma"))
    assert model.rows(tokens)[0].tolist() == list(range(len(tokens)))
    features = torch.randn(7, 360)
    assert torch.equal(model.features(features), features)


def test_a_constant_feature_dimension_does_not_split_a_tree_on_noise():
    generator = torch.Generator().manual_seed(4)
    keys, counts, sums, squares = [], [], [], []
    for left in (M, N, S, F):
        frames = torch.randn(500, 3, generator=generator, dtype=torch.float64)
        frames[:, 2] = 1.0  # constant
        keys.append((A, left, PAUSE))
        counts.append(500.0)
        sums.append(frames.sum(0))
        squares.append((frames**2).sum(0))
    counts, sums, squares = torch.tensor(counts, dtype=torch.float64), torch.stack(sums), torch.stack(squares)
    floor = torch.tensor([1e-3, 1e-3, 0.0], dtype=torch.float64)
    _, key_gaussian = grow_trees(keys, counts, sums, squares, floor, min_frames=200, min_gain=0.1)
    assert len(set(key_gaussian.tolist())) == 1
