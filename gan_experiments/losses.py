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

    #: True when the discriminator output is a logit of P(real); used to report D(x) as a probability.
    probabilistic: bool = False

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

    def d_output(self, logits: Tensor) -> Tensor:
        """What "the discriminator's output" means for this objective: P(real) or the raw score."""
        logits = logits.detach().float()
        return torch.sigmoid(logits) if self.probabilistic else logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturatingLoss(AdversarialLoss):
    """Cross-entropy D; G maximizes log D(G(z)) (Goodfellow et al.'s practical variant)."""

    probabilistic = True

    def d_real(self, real_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits.float()).mean()  # -log sigmoid(x)

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(fake_logits.float()).mean()  # -log(1 - sigmoid(x))

    def g(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(-fake_logits.float()).mean()


class MinimaxLoss(NonSaturatingLoss):
    """The original saturating objective: G minimizes log(1 - D(G(z)))."""

    def g(self, fake_logits: Tensor) -> Tensor:
        return -F.softplus(fake_logits.float()).mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al.): D = ½E[(D(x)-1)²] + ½E[D(G(z))²], G = ½E[(D(G(z))-1)²]."""

    def d_real(self, real_logits: Tensor) -> Tensor:
        return 0.5 * (real_logits.float() - 1).pow(2).mean()

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * fake_logits.float().pow(2).mean()

    def g(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits.float() - 1).pow(2).mean()


class HingeLoss(AdversarialLoss):
    """Hinge D (margin 1 on both sides); G maximizes the score of its samples."""

    def d_real(self, real_logits: Tensor) -> Tensor:
        return F.relu(1 - real_logits.float()).mean()

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        return F.relu(1 + fake_logits.float()).mean()

    def g(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


class WassersteinGPLoss(AdversarialLoss):
    """WGAN-GP (Gulrajani et al.): critic score difference plus a gradient penalty at interpolates."""

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
