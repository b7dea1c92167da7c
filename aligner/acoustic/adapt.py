"""Speaker adaptation of the acoustic stage: one affine feature transform per speaker (fMLLR, "constrained
MLLR"), estimated from an alignment to maximise the likelihood of that speaker's frames under the
diagonal Gaussians that hold them.

A speaker's frames x [D] are scored as A x + b under the model; the Jacobian term log |det A| keeps A from
shrinking everything towards the means. With hard (Viterbi) frame-to-Gaussian assignments the statistics
are, for every output dimension i, G_i = sum_t xi_t xi_t^T / var_{g(t), i} and k_i = sum_t mean_{g(t), i} xi_t /
var_{g(t), i} over the extended frames xi_t = [x_t; 1], and the rows w_i of W = [A b] are updated in turn
in closed form (Gales, "Maximum likelihood linear transformations for HMM-based speech recognition",
Computer Speech and Language 12, 1998, section 3.1; the estimator of Kaldi's ``fmllr-diag-gmm``, which the
Montreal Forced Aligner's speaker-adapted passes run). Written here because no Python library estimates it.
"""

from __future__ import annotations

import math

import torch

ITERATIONS = 10  # passes over the rows; the likelihood rises with every row update


class FmllrStats:
    """Sufficient statistics of one speaker's aligned frames for an fMLLR transform of ``dim`` features, in float64."""

    def __init__(self, dim: int) -> None:
        self.frames = 0.0
        self.g = torch.zeros(dim, dim + 1, dim + 1, dtype=torch.float64)
        self.k = torch.zeros(dim, dim + 1, dtype=torch.float64)

    def add(self, frames: torch.Tensor, means: torch.Tensor, variances: torch.Tensor) -> None:
        """Add frames [n, D] with the mean [n, D] and variance [n, D] of the Gaussian that holds each."""
        xi = torch.cat([frames.double(), torch.ones(len(frames), 1, dtype=torch.float64)], 1)
        precision = 1.0 / variances.double()
        self.frames += len(frames)
        self.g += torch.einsum("ti,tj,tk->ijk", precision, xi, xi)
        self.k += (means.double() * precision).T @ xi

    def estimate(self, iterations: int = ITERATIONS) -> torch.Tensor:
        """The transform W [D, D + 1] (float32; x -> W [x; 1]) from the identity by ``iterations`` passes of
        row updates: w_i = (alpha c_i + k_i) G_i^-1, c_i the cofactor row of A extended by 0, alpha the root of
        alpha^2 e1 + alpha e2 - frames = 0 (e1 = c_i G_i^-1 c_i^T, e2 = c_i G_i^-1 k_i^T) that gives the higher
        likelihood. The identity when there are fewer frames than parameters per row (D + 1)."""
        dim = self.k.shape[0]
        w = identity_transform(dim).double()
        if self.frames < dim + 1:
            return w.float()
        g_inverse = torch.linalg.inv(self.g)
        for _ in range(iterations):
            for i in range(dim):
                cofactor = torch.zeros(dim + 1, dtype=torch.float64)
                cofactor[:dim] = torch.linalg.det(w[:, :dim]) * torch.linalg.inv(w[:, :dim])[:, i]
                c_g = cofactor @ g_inverse[i]
                e1, e2 = float(c_g @ cofactor), float(c_g @ self.k[i])
                root = (e2 * e2 + 4 * self.frames * e1) ** 0.5
                alphas = [(-e2 + root) / (2 * e1), (-e2 - root) / (2 * e1)]
                alpha = max(alphas, key=lambda a: self.frames * math.log(abs(a * e1 + e2)) - 0.5 * a * a * e1)
                w[i] = (alpha * cofactor + self.k[i]) @ g_inverse[i]
        return w.float()


def identity_transform(dim: int) -> torch.Tensor:
    """The transform [dim, dim + 1] that leaves features as they are."""
    return torch.cat([torch.eye(dim), torch.zeros(dim, 1)], 1)


def transform(features: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Features [frames, D] through a speaker's transform W [D, D + 1]: x -> A x + b."""
    w = w.to(features)
    return features @ w[:, :-1].T + w[:, -1]
