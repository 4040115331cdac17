"""Adversarial losses against their closed forms."""

import math

import pytest
import torch
import torch.nn.functional as F

from gan_experiments.losses import (
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    WassersteinGPLoss,
)

ZERO = torch.zeros(8)


def test_bce_at_zero_logits_is_log4_for_d_and_log2_for_g():
    loss = NonSaturatingLoss()
    assert loss.d(ZERO, ZERO).item() == pytest.approx(math.log(4))
    assert loss.g(ZERO).item() == pytest.approx(math.log(2))


def test_bce_matches_cross_entropy_on_probabilities():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(p_real).mean() + torch.log(1 - p_fake).mean())
    assert NonSaturatingLoss().d(real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert NonSaturatingLoss().g(fake).item() == pytest.approx(-torch.log(p_fake).mean().item(), rel=1e-6)


def test_minimax_generator_minimizes_log_one_minus_d():
    fake = torch.tensor([-3.0, 0.2, 1.0])
    expected = torch.log(1 - torch.sigmoid(fake)).mean().item()
    assert MinimaxLoss().g(fake).item() == pytest.approx(expected, rel=1e-6)
    assert MinimaxLoss().g(ZERO).item() == pytest.approx(-math.log(2))
    # same discriminator objective as the non-saturating loss
    assert MinimaxLoss().d(fake, -fake).item() == pytest.approx(NonSaturatingLoss().d(fake, -fake).item())


def test_minimax_saturates_where_non_saturating_does_not():
    """The reason for the non-saturating variant: when D confidently rejects fakes, log(1-D) is flat."""
    fake = torch.full((4,), -8.0, requires_grad=True)
    (grad_minimax,) = torch.autograd.grad(MinimaxLoss().g(fake), fake)
    (grad_nonsat,) = torch.autograd.grad(NonSaturatingLoss().g(fake), fake)
    assert grad_minimax.abs().max() < 1e-3 < grad_nonsat.abs().min()


def test_least_squares_closed_form():
    """The official pix2pix/CycleGAN MSE form (no ½): E[(D(x)-1)²] + E[D(G(z))²], E[(D(G(z))-1)²]."""
    loss = LeastSquaresLoss()
    assert loss.d(ZERO, ZERO).item() == pytest.approx(1.0)
    assert loss.d(torch.ones(4), torch.zeros(4)).item() == 0.0
    assert loss.g(ZERO).item() == pytest.approx(1.0)
    assert loss.g(torch.full((3,), 3.0)).item() == pytest.approx(4.0)
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-1.0, 0.25])
    assert loss.d(real, fake).item() == pytest.approx(
        (F.mse_loss(real, torch.ones(2)) + F.mse_loss(fake, torch.zeros(2))).item()
    )
    assert loss.g(fake).item() == pytest.approx(F.mse_loss(fake, torch.ones(2)).item())


def test_hinge_closed_form():
    loss = HingeLoss()
    assert loss.d(ZERO, ZERO).item() == pytest.approx(2.0)
    assert loss.d(torch.full((2,), 2.0), torch.full((2,), -2.0)).item() == 0.0
    assert loss.g(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_wasserstein_terms():
    loss = WassersteinGPLoss()
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert loss.d(real, fake).item() == pytest.approx(-2.0 + -0.5)
    assert loss.g(fake).item() == pytest.approx(0.5)


def test_gradient_penalty_of_a_linear_critic_is_weight_times_norm_minus_one_squared():
    w = torch.tensor([3.0, 4.0])  # ‖∇D‖ = 5 everywhere

    def critic(x: torch.Tensor) -> torch.Tensor:
        return x @ w

    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    penalty = WassersteinGPLoss(gp_weight=10.0).penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(10.0 * (5 - 1) ** 2)


def test_gradient_penalty_reaches_critic_parameters():
    critic = torch.nn.Linear(3, 1)
    penalty = WassersteinGPLoss().penalty(
        lambda x: critic(x).squeeze(1), torch.randn(4, 3), torch.randn(4, 3)
    )
    penalty.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_only_wgan_gp_has_a_penalty():
    for loss in (NonSaturatingLoss(), MinimaxLoss(), LeastSquaresLoss(), HingeLoss()):
        assert loss.penalty(lambda x: x.sum(1), torch.randn(2, 3), torch.randn(2, 3)) is None


@pytest.mark.parametrize(
    "loss", [NonSaturatingLoss(), MinimaxLoss(), LeastSquaresLoss(), HingeLoss(), WassersteinGPLoss()]
)
def test_losses_are_finite_for_extreme_logits_and_float32_under_autocast(loss):
    logits = torch.tensor([-200.0, 0.0, 200.0])
    assert torch.isfinite(loss.d(logits, logits)) and torch.isfinite(loss.g(logits))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = logits.to(torch.bfloat16)
        assert loss.d(half, half).dtype == torch.float32
        assert loss.g(half).dtype == torch.float32


def test_d_output_is_a_probability_only_for_cross_entropy_losses():
    logits = torch.tensor([0.0, 100.0])
    assert NonSaturatingLoss().d_output(logits).tolist() == [0.5, 1.0]
    assert HingeLoss().d_output(logits).tolist() == [0.0, 100.0]
