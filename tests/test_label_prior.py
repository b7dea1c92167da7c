import torch

from aligner.ctc.label_prior import LabelPrior, feasible, prior_ctc_loss


def reference_ctc(scores: torch.Tensor, target: list[int]) -> torch.Tensor:
    """-log of the summed path scores of one utterance (scores [time, symbols]), plain autograd."""
    states = [0]
    for label in target:
        states += [label, 0]
    alpha = torch.full((len(states),), -1e30, dtype=scores.dtype)  # finite: no NaN gradient
    alpha[0], alpha[1] = scores[0, states[0]], scores[0, states[1]]
    for t in range(1, scores.shape[0]):
        step = []
        for s, label in enumerate(states):
            incoming = [alpha[s]] + ([alpha[s - 1]] if s else [])
            if s > 1 and label != 0 and label != states[s - 2]:
                incoming.append(alpha[s - 2])
            step.append(torch.logsumexp(torch.stack(incoming), 0) + scores[t, label])
        alpha = torch.stack(step)
    return -torch.logsumexp(alpha[-2:], 0)


def test_prior_ctc_loss_value_and_gradient_are_exact():
    torch.manual_seed(0)
    frames, symbols = torch.tensor([9, 6]), 5
    targets = [[1, 2, 2, 3], [4, 1]]
    log_probs = torch.log_softmax(torch.randn(9, 2, symbols, dtype=torch.float64), -1).requires_grad_()
    log_prior = torch.log_softmax(torch.randn(symbols, dtype=torch.float64), -1)
    loss = prior_ctc_loss(
        log_probs, torch.tensor(targets[0] + targets[1]), frames, torch.tensor([4, 2]), log_prior, 0.5
    )
    (gradient,) = torch.autograd.grad(loss.sum(), log_probs)
    for row, target in enumerate(targets):
        scores = log_probs[: frames[row], row] - 0.5 * log_prior
        expected = reference_ctc(scores, target)
        (expected_gradient,) = torch.autograd.grad(expected, log_probs)
        torch.testing.assert_close(loss[row], expected)
        torch.testing.assert_close(gradient[:, row], expected_gradient[:, row])
    assert loss[0] < reference_ctc(log_probs[:9, 0].detach(), targets[0])  # the prior shifted the scores


def test_impossible_utterance_gives_no_loss_and_no_gradient():
    log_probs = torch.log_softmax(torch.randn(3, 1, 4), -1).requires_grad_()
    targets, lengths, frames = torch.tensor([1, 1, 2]), torch.tensor([3]), torch.tensor([3])
    assert not feasible(targets, lengths, frames).item()  # 1 1 2 needs 4 frames
    loss = prior_ctc_loss(log_probs, targets, frames, lengths, torch.zeros(4), 0.3)
    (gradient,) = torch.autograd.grad(loss.sum(), log_probs)
    assert loss.item() == 0 and gradient.abs().max() == 0


def test_label_prior_is_the_mean_posterior_of_valid_frames():
    prior = LabelPrior(3)
    torch.testing.assert_close(prior.log_prior.exp(), torch.full((3,), 1 / 3))
    logits = torch.log(torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.0, 0.0, 1.0]]]))
    prior.accumulate(logits, torch.tensor([2]))  # the third frame is padding
    prior.update(prior.sums, prior.frames)
    torch.testing.assert_close(prior.log_prior.exp(), torch.tensor([0.4, 0.5, 0.1]), atol=1e-6, rtol=1e-5)
    assert prior.frames == 0 and prior.sums.sum() == 0
    restored = LabelPrior(3)
    restored.load_state_dict(prior.state_dict())
    torch.testing.assert_close(restored.log_prior, prior.log_prior)
