"""Adversarial losses and regularizers against their closed forms, and the one assembly of each phase."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_experiments.losses import (
    AdversarialLoss,
    GradientPenalty,
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    R1Penalty,
    R2Penalty,
    WassersteinLoss,
)

ZERO = torch.zeros(8)


def d(loss: AdversarialLoss, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return sum(loss.discriminator_terms(real, fake).values())


def test_bce_at_zero_logits_is_log4_for_d_and_log2_for_g():
    loss = NonSaturatingLoss()
    assert d(loss, ZERO, ZERO).item() == pytest.approx(math.log(4))
    assert loss.generator_term(ZERO).item() == pytest.approx(math.log(2))


def test_bce_matches_cross_entropy_on_probabilities():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(p_real).mean() + torch.log(1 - p_fake).mean())
    assert d(NonSaturatingLoss(), real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    expected_g = -torch.log(p_fake).mean().item()
    assert NonSaturatingLoss().generator_term(fake).item() == pytest.approx(expected_g, rel=1e-6)


def test_minimax_generator_minimizes_log_one_minus_d():
    fake = torch.tensor([-3.0, 0.2, 1.0])
    expected = torch.log(1 - torch.sigmoid(fake)).mean().item()
    assert MinimaxLoss().generator_term(fake).item() == pytest.approx(expected, rel=1e-6)
    assert MinimaxLoss().generator_term(ZERO).item() == pytest.approx(-math.log(2))
    # same discriminator objective as the non-saturating loss
    assert d(MinimaxLoss(), fake, -fake).item() == pytest.approx(d(NonSaturatingLoss(), fake, -fake).item())


def test_minimax_saturates_where_non_saturating_does_not():
    """The reason for the non-saturating variant: when D confidently rejects fakes, log(1-D) is flat."""
    fake = torch.full((4,), -8.0, requires_grad=True)
    (grad_minimax,) = torch.autograd.grad(MinimaxLoss().generator_term(fake), fake)
    (grad_nonsat,) = torch.autograd.grad(NonSaturatingLoss().generator_term(fake), fake)
    assert grad_minimax.abs().max() < 1e-3 < grad_nonsat.abs().min()


def test_least_squares_closed_form():
    """The official pix2pix/CycleGAN MSE form (no ½): E[(D(x)-1)²] + E[D(G(z))²], E[(D(G(z))-1)²]."""
    loss = LeastSquaresLoss()
    assert d(loss, ZERO, ZERO).item() == pytest.approx(1.0)
    assert d(loss, torch.ones(4), torch.zeros(4)).item() == 0.0
    assert loss.generator_term(ZERO).item() == pytest.approx(1.0)
    assert loss.generator_term(torch.full((3,), 3.0)).item() == pytest.approx(4.0)
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-1.0, 0.25])
    assert d(loss, real, fake).item() == pytest.approx(
        (F.mse_loss(real, torch.ones(2)) + F.mse_loss(fake, torch.zeros(2))).item()
    )
    assert loss.generator_term(fake).item() == pytest.approx(F.mse_loss(fake, torch.ones(2)).item())


def test_hinge_closed_form():
    loss = HingeLoss()
    assert d(loss, ZERO, ZERO).item() == pytest.approx(2.0)
    assert d(loss, torch.full((2,), 2.0), torch.full((2,), -2.0)).item() == 0.0
    assert loss.generator_term(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_wasserstein_terms():
    loss = WassersteinLoss()
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    terms = loss.discriminator_terms(real, fake)
    assert (terms["real"].item(), terms["fake"].item()) == (-2.0, -0.5)
    assert loss.generator_term(fake).item() == pytest.approx(0.5)


def linear_critic(w: torch.Tensor):
    return lambda x: x @ w


def test_gradient_penalty_of_a_linear_critic_is_weight_times_norm_minus_one_squared():
    critic = linear_critic(torch.tensor([3.0, 4.0]))  # ‖∇D‖ = 5 everywhere
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert GradientPenalty(weight=10.0)(critic, real, fake).item() == pytest.approx(10.0 * (5 - 1) ** 2)


def test_r1_and_r2_are_half_the_squared_gradient_norm_on_real_and_on_fake():
    """Zero-centred penalties: ½‖∇D‖² at the real images (R1) or at the fakes (R2), times γ."""

    def critic(x: torch.Tensor) -> torch.Tensor:  # ∇D(x) = 2x: the norm depends on where it is taken
        return x.pow(2).sum(dim=1)

    real, fake = torch.full((3, 2), 1.0), torch.full((3, 2), 2.0)
    assert R1Penalty(weight=2.0)(critic, real, fake).item() == pytest.approx(2.0 * 0.5 * 8.0)
    assert R2Penalty(weight=2.0)(critic, real, fake).item() == pytest.approx(2.0 * 0.5 * 32.0)


def test_lazy_regularization_is_computed_every_k_steps_with_k_times_the_weight():
    piece = R1Penalty(weight=1.0, every=4)
    assert [piece.due(step) for step in range(5)] == [True, False, False, False, True]
    critic = linear_critic(torch.tensor([1.0, 0.0]))
    assert piece(critic, torch.randn(2, 2), torch.randn(2, 2)).item() == pytest.approx(4 * 0.5)


@pytest.mark.parametrize("piece", [GradientPenalty(1.0), R1Penalty(1.0), R2Penalty(1.0)])
def test_every_penalty_reaches_the_critics_parameters_in_fp32_under_autocast(piece):
    critic = nn.Linear(3, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = piece(lambda x: critic(x).squeeze(1), torch.randn(4, 3), torch.randn(4, 3))
    assert value.dtype == torch.float32
    value.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_any_loss_takes_any_regularizer_and_logs_it_under_its_name():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    real, fake = torch.randn(2, 1, 2, 2), torch.randn(2, 1, 2, 2)
    loss = HingeLoss(regularizers={"r1": R1Penalty(1.0), "r2": R2Penalty(1.0)})
    total, logs = loss.discriminator_objective(critic, real, fake)
    assert set(logs) == {"loss/d_real", "loss/d_fake", "loss/d_r1", "loss/d_r2", "d/real", "d/fake"}
    terms = logs["loss/d_real"] + logs["loss/d_fake"] + logs["loss/d_r1"] + logs["loss/d_r2"]
    assert total.item() == pytest.approx(terms.item())
    assert loss.per_sample_penalties() == ["r1", "r2"] and HingeLoss().per_sample_penalties() == []
    _, logs = loss.discriminator_objective(critic, real, fake, regularize=False)
    assert "loss/d_r1" not in logs  # validation: no penalty


def test_a_regularizer_that_is_not_one_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^loss\.regularizers\.r1 must be a gan_experiments\.losses\.Regul"):
        HingeLoss(regularizers={"r1": 10.0})
    with pytest.raises(ValueError, match=r"weight must be a number >= 0"):
        R1Penalty(weight=-1.0)
    with pytest.raises(ValueError, match=r"`every` must be an integer >= 1"):
        R1Penalty(weight=1.0, every=0)


def test_the_generator_phase_reads_real_scores_only_for_losses_that_ask():
    calls = []

    def critic(x: torch.Tensor) -> torch.Tensor:
        calls.append(x)
        return x.flatten(1).sum(1)

    real, fake = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    NonSaturatingLoss().generator_objective(critic, fake, real)
    assert len(calls) == 1  # no D forward on real images for a loss that does not read them

    class Relativistic(NonSaturatingLoss):
        generator_reads_real = True

        def generator_term(self, fake_scores, real_scores=None):
            return F.softplus(real_scores - fake_scores).mean()

    calls.clear()
    value = Relativistic().generator_objective(critic, fake, real)
    assert len(calls) == 2 and value.item() == pytest.approx(F.softplus(torch.tensor(4.0)).item())
    with pytest.raises(ValueError, match="compares fakes with real images"):
        Relativistic().generator_objective(critic, fake, None)


@pytest.mark.parametrize(
    "loss", [NonSaturatingLoss(), MinimaxLoss(), LeastSquaresLoss(), HingeLoss(), WassersteinLoss()]
)
def test_losses_are_finite_for_extreme_logits_and_float32_under_autocast(loss):
    logits = torch.tensor([-200.0, 0.0, 200.0])
    assert torch.isfinite(d(loss, logits, logits)) and torch.isfinite(loss.generator_term(logits))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = logits.to(torch.bfloat16)
        assert d(loss, half, half).dtype == torch.float32
        assert loss.generator_term(half).dtype == torch.float32


def test_d_output_is_a_probability_only_for_cross_entropy_losses():
    logits = torch.tensor([0.0, 100.0])
    assert NonSaturatingLoss().d_output(logits).tolist() == [0.5, 1.0]
    assert HingeLoss().d_output(logits).tolist() == [0.0, 100.0]
