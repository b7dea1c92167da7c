"""The fMLLR estimator of aligner.acoustic.adapt against a speaker whose transform is known."""

import torch

from aligner.acoustic.adapt import FmllrStats, identity_transform, transform


def speaker_frames(n: int, seed: int = 0):
    """Frames of Gaussians [7, 5] seen through a known affine map: returns the speaker's frames, the means and
    variances of the Gaussian of each frame, and the map (A, b) back to the canonical space."""
    generator = torch.Generator().manual_seed(seed)
    means = 2 * torch.randn(7, 5, generator=generator)
    variances = torch.rand(7, 5, generator=generator) + 0.3
    labels = torch.randint(0, 7, (n,), generator=generator)
    canonical = means[labels] + torch.randn(n, 5, generator=generator) * variances[labels].sqrt()
    a = torch.eye(5) + 0.3 * torch.randn(5, 5, generator=generator)
    b = torch.randn(5, generator=generator)
    speaker = torch.linalg.solve(a, (canonical - b).T).T
    return speaker, means[labels], variances[labels], a, b


def log_likelihood(frames, means, variances, w):
    """Log-likelihood (without the constant) of frames through w, with the Jacobian term."""
    mapped = transform(frames, w)
    return float(-0.5 * ((mapped - means) ** 2 / variances).sum() + len(frames) * torch.logdet(w[:, :-1]))


def test_estimate_recovers_the_speakers_map():
    frames, means, variances, a, b = speaker_frames(4000)
    stats = FmllrStats(5)
    stats.add(frames, means, variances)
    w = stats.estimate()
    assert torch.allclose(w[:, :-1], a, atol=0.08)
    assert torch.allclose(w[:, -1], b, atol=0.1)
    truth = torch.cat([a, b[:, None]], 1)
    assert log_likelihood(frames, means, variances, w) >= log_likelihood(frames, means, variances, truth)
    assert log_likelihood(frames, means, variances, w) > log_likelihood(frames, means, variances, identity_transform(5))


def test_too_few_frames_give_the_identity():
    frames, means, variances, _, _ = speaker_frames(5)
    stats = FmllrStats(5)
    stats.add(frames, means, variances)
    assert torch.equal(stats.estimate(), identity_transform(5))
