"""Adversarial objectives as pure functions of discriminator logits.

Every loss splits the discriminator objective into a real and a fake term so that each can be logged,
computes in float32 (safe under autocast), and never applies a sigmoid before a log: the discriminator
returns logits and the log-sigmoid forms below are the numerically stable equivalents.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Critic = Callable[[Tensor], Tensor]


class AdversarialLoss:
    """Base class: `d_real + d_fake` for the discriminator, `g` for the generator."""

    #: the loss's option name (`loss=<name>`), for messages
    name: str = "?"
    #: True when the discriminator output is a logit of P(real); used to report D(x) as a probability.
    probabilistic: bool = False
    #: True when `penalty` constrains the critic's gradient per sample (no BatchNorm in the critic then)
    penalizes_gradient: bool = False

    def d_real(self, real_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return self.d_real(real_logits) + self.d_fake(fake_logits)

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None):
        """Extra discriminator regularizer (None when the objective has none)."""
        return None

    def discriminator_objective(
        self,
        critic: Critic,
        real: Tensor,
        fake: Tensor,
        weight: float = 1.0,
        domain: str = "",
        generator: torch.Generator | None = None,
        with_penalty: bool = True,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The whole discriminator loss of one critic, assembled in one place for every model:
        weight · (real term + fake term + penalty), and what to log under one naming scheme
        (`loss/d_real`, `loss/d_fake`, `loss/d_penalty`, `d/real`, `d/fake`; with a domain `a`:
        `loss/d_a_real`, …, `d/a_real`). The penalty is inside the weight, so λ means the same
        whatever `weight` a model uses (the translation models halve their D loss)."""
        real_logits, fake_logits = critic(real), critic(fake)
        d_real, d_fake = self.d_real(real_logits), self.d_fake(fake_logits)
        loss_key, output_key = (
            f"loss/d_{domain}_" if domain else "loss/d_",
            f"d/{domain}_" if domain else "d/",
        )
        logs = {
            f"{loss_key}real": d_real,
            f"{loss_key}fake": d_fake,
            f"{output_key}real": self.d_output(real_logits).mean(),
            f"{output_key}fake": self.d_output(fake_logits).mean(),
        }
        loss = d_real + d_fake
        penalty = self.penalty(critic, real, fake, generator=generator) if with_penalty else None
        if penalty is not None:
            logs[f"{loss_key}penalty"] = penalty
            loss = loss + penalty
        return weight * loss, logs

    def d_output(self, logits: Tensor) -> Tensor:
        """What "the discriminator's output" means for this objective: P(real) or the raw score."""
        logits = logits.detach().float()
        return torch.sigmoid(logits) if self.probabilistic else logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturatingLoss(AdversarialLoss):
    """Cross-entropy D; G maximizes log D(G(z)) (Goodfellow et al.'s practical variant)."""

    name = "bce"
    probabilistic = True

    def d_real(self, real_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits.float()).mean()  # -log sigmoid(x)

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(fake_logits.float()).mean()  # -log(1 - sigmoid(x))

    def g(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(-fake_logits.float()).mean()


class MinimaxLoss(NonSaturatingLoss):
    """The original saturating objective: G minimizes log(1 - D(G(z)))."""

    name = "minimax"

    def g(self, fake_logits: Tensor) -> Tensor:
        return -F.softplus(fake_logits.float()).mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al., a=0, b=c=1): D = E[(D(x)-1)²] + E[D(G(z))²], G = E[(D(G(z))-1)²].

    Mao et al. and the course notes write each term with a factor ½. It only scales the gradients,
    which Adam normalizes away, so the noise GANs train the same; without it the generator term is
    the official pix2pix/CycleGAN code's MSE, so `lambda_gan`, `lambda_l1` and the cycle weights mean
    the same with this loss as with the others (the translation models' D halves its loss itself,
    `d_loss_weight=0.5`, as that code does).
    """

    name = "lsgan"

    def d_real(self, real_logits: Tensor) -> Tensor:
        return (real_logits.float() - 1).pow(2).mean()

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().pow(2).mean()

    def g(self, fake_logits: Tensor) -> Tensor:
        return (fake_logits.float() - 1).pow(2).mean()


class HingeLoss(AdversarialLoss):
    """Hinge D (margin 1 on both sides); G maximizes the score of its samples."""

    name = "hinge"

    def d_real(self, real_logits: Tensor) -> Tensor:
        return F.relu(1 - real_logits.float()).mean()

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return F.relu(1 + fake_logits.float()).mean()

    def g(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


class WassersteinGPLoss(AdversarialLoss):
    """WGAN-GP (Gulrajani et al.): critic score difference plus a gradient penalty at interpolates."""

    name = "wgan_gp"
    penalizes_gradient = True

    def __init__(self, gp_weight: float = 10.0) -> None:
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight}")
        self.gp_weight = gp_weight

    def d_real(self, real_logits: Tensor) -> Tensor:
        return -real_logits.float().mean()

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().mean()

    def g(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None):
        """λ·E[(‖∇D(x̂)‖₂ − 1)²], computed with autocast off: in fp16 the double backward overflows."""
        real, fake = real.detach().float(), fake.detach().float()
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, generator=generator)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        with torch.autocast(device_type=real.device.type, enabled=False):
            scores = critic(interpolates).float()
            (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = grads.flatten(1).norm(2, dim=1)
        return self.gp_weight * (norms - 1).pow(2).mean()

    def __repr__(self) -> str:
        return f"WassersteinGPLoss(gp_weight={self.gp_weight})"
