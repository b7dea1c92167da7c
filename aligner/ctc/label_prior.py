"""Label priors for CTC training (Huang et al., "Less Peaky and More Accurate CTC Forced Alignment by
Label Priors", ICASSP 2024): the loss is CTC over ``log p(c | frame) - alpha * log prior(c)``, so a path
that spends its frames on the blank (the most frequent label) pays for it, and phones are no longer
single-frame spikes. The prior is the model's own mean posterior over the frames it was trained on,
re-estimated every few steps.

PyTorch's ``ctc_loss`` folds the log-softmax Jacobian into its gradient (it returns the true gradient
plus ``exp(input)``), which is only right for normalised inputs: :func:`prior_ctc_loss` removes that
term for the shifted, unnormalised scores.
"""

from __future__ import annotations

import torch
from torch import nn

from aligner.search.forced_align import frames_needed
from aligner.text import BLANK_ID

MIN_PRIOR = 1e-8  # symbols never seen get this prior, not 0 (their scores never enter a CTC path)


class LabelPrior:
    """Running estimate of the mean posterior per symbol; ``log_prior`` is uniform until the first update."""

    def __init__(self, n_symbols: int) -> None:
        self.log_prior = torch.full((n_symbols,), -torch.log(torch.tensor(float(n_symbols))).item())
        self.sums = torch.zeros(n_symbols, dtype=torch.float64)
        self.frames = 0

    def accumulate(self, logits: torch.Tensor, frames: torch.Tensor) -> None:
        """Add the posteriors of the valid frames of CTC logits [batch, time, symbols]."""
        valid = torch.arange(logits.shape[1], device=logits.device)[None, :] < frames.to(logits.device)[:, None]
        posteriors = torch.softmax(logits.detach().float(), dim=-1)
        self.sums += (posteriors * valid[..., None]).sum((0, 1)).double().cpu()
        self.frames += int(frames.sum())

    def update(self, total_sums: torch.Tensor, total_frames: int) -> None:
        """Set the prior from accumulated sums (already reduced over processes) and start a new count."""
        if total_frames > 0:
            prior = (total_sums.double() / total_frames).clamp_min(MIN_PRIOR)
            self.log_prior = (prior / prior.sum()).log().float()
        self.sums.zero_()
        self.frames = 0

    def state_dict(self) -> dict[str, object]:
        return {"log_prior": self.log_prior.tolist(), "sums": self.sums.tolist(), "frames": self.frames}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.log_prior = torch.tensor(state["log_prior"], dtype=torch.float32)
        self.sums = torch.tensor(state["sums"], dtype=torch.float64)
        self.frames = int(state["frames"])


def feasible(targets: torch.Tensor, target_lengths: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Which utterances have enough frames for their concatenated ``targets`` (one each, plus a blank
    between equal neighbours)."""
    needed = [frames_needed(t.tolist()) for t in torch.split(targets.cpu(), target_lengths.tolist())]
    return frames.cpu() >= torch.tensor(needed)


def prior_ctc_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    frames: torch.Tensor,
    target_lengths: torch.Tensor,
    log_prior: torch.Tensor,
    weight: float,
) -> torch.Tensor:
    """Per-utterance CTC loss [batch] of ``log_probs - weight * log_prior`` (log_probs [time, batch, symbols],
    normalised), with the exact gradient; an impossible utterance gives 0 and no gradient."""
    scores = log_probs - weight * log_prior.to(log_probs)
    with torch.backends.cudnn.flags(enabled=False):
        loss = nn.functional.ctc_loss(
            scores, targets, frames, target_lengths, blank=BLANK_ID, reduction="none", zero_infinity=True
        )
    # ctc_loss's gradient carries an extra exp(scores) on every valid frame: cancel it (zero in value).
    valid = torch.arange(scores.shape[0], device=scores.device)[:, None] < frames.to(scores.device)
    valid = valid & feasible(targets, target_lengths, frames).to(scores.device)[None, :]
    extra = (scores.detach().exp() * (scores - scores.detach()) * valid[..., None]).sum((0, 2))
    return loss - extra
