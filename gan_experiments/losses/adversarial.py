"""The adversarial objectives of the GAN literature the project trains with, as functions of the
critic's logits.

Each computes in float32 (safe under autocast) and never applies a sigmoid before a log: the critic
returns logits and the log-sigmoid (softplus) forms below are the numerically stable equivalents.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from gan_experiments.losses.base import AdversarialLoss, SeparableLoss


class NonSaturatingLoss(SeparableLoss):
    """Cross-entropy D; G maximizes log D(G(z)) (Goodfellow et al.'s practical variant)."""

    name = "bce"
    probabilistic = True

    def real_term(self, real_scores: Tensor) -> Tensor:
        return F.softplus(-real_scores.float()).mean()  # -log sigmoid(x)

    def fake_term(self, fake_scores: Tensor) -> Tensor:
        return F.softplus(fake_scores.float()).mean()  # -log(1 - sigmoid(x))

    def generator_fake_term(self, fake_scores: Tensor) -> Tensor:
        return F.softplus(-fake_scores.float()).mean()


class MinimaxLoss(NonSaturatingLoss):
    """The original saturating objective: G minimizes log(1 - D(G(z)))."""

    name = "minimax"

    def generator_fake_term(self, fake_scores: Tensor) -> Tensor:
        return -F.softplus(fake_scores.float()).mean()


class LeastSquaresLoss(SeparableLoss):
    """LSGAN (Mao et al., a=0, b=c=1): D = E[(D(x)-1)²] + E[D(G(z))²], G = E[(D(G(z))-1)²].

    Mao et al. and the course notes write each term with a factor ½. It only scales the gradients,
    which Adam normalizes away, so the noise GANs train the same; without it the generator term is
    the official pix2pix/CycleGAN code's MSE, so `lambda_gan`, `lambda_l1` and the cycle weights mean
    the same with this loss as with the others (the translation models' D halves its loss itself,
    `d_loss_weight=0.5`, as that code does).
    """

    name = "lsgan"

    def real_term(self, real_scores: Tensor) -> Tensor:
        return (real_scores.float() - 1).pow(2).mean()

    def fake_term(self, fake_scores: Tensor) -> Tensor:
        return fake_scores.float().pow(2).mean()

    def generator_fake_term(self, fake_scores: Tensor) -> Tensor:
        return (fake_scores.float() - 1).pow(2).mean()


class HingeLoss(SeparableLoss):
    """Hinge D (margin 1 on both sides); G maximizes the score of its samples."""

    name = "hinge"

    def real_term(self, real_scores: Tensor) -> Tensor:
        return F.relu(1 - real_scores.float()).mean()

    def fake_term(self, fake_scores: Tensor) -> Tensor:
        return F.relu(1 + fake_scores.float()).mean()

    def generator_fake_term(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.float().mean()


class WassersteinLoss(SeparableLoss):
    """The Wasserstein critic's score difference (Arjovsky et al.). It needs a Lipschitz constraint on
    the critic: a gradient penalty (`loss=wgan_gp`: this loss with `regularizers.gp`) or the original
    paper's weight clipping (a model hook after D's step)."""

    name = "wgan"

    def real_term(self, real_scores: Tensor) -> Tensor:
        return -real_scores.float().mean()

    def fake_term(self, fake_scores: Tensor) -> Tensor:
        return fake_scores.float().mean()

    def generator_fake_term(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.float().mean()


class RelativisticPairingLoss(AdversarialLoss):
    """RpGAN (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): D learns that each real image looks more
    real than the fake it is paired with, D minimizing softplus(-(D(x) - D(G(z)))), and G the mirror,
    softplus(-(D(G(z)) - D(x))). Both phases read the critic's scores on real and fake images, so G's
    phase runs D on the real batch too. R3GAN trains it with R1 and R2 (`regularizer=[r1,r2]`); without
    them it is unstable there."""

    name = "rpgan"
    generator_reads_real = True

    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
        return {"pair": F.softplus(fake_scores.float() - real_scores.float()).mean()}

    def generator_term(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        return F.softplus(real_scores.float() - fake_scores.float()).mean()
