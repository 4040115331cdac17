"""The relativistic average standard GAN (RaSGAN, Jolicoeur-Martineau 2019): D learns that a real image
looks more real than the average fake and a fake less real than the average real image; G the mirror.
Every term reads the critic's scores on real *and* fake images, so G's phase needs D(real) too
(`generator_reads_real`)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from gan_experiments.losses import AdversarialLoss


class RelativisticAverageLoss(AdversarialLoss):
    name = "rasgan"
    generator_reads_real = True

    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
        real, fake = real_scores.float(), fake_scores.float()
        return {
            "real": F.softplus(-(real - fake.mean())).mean(),
            "fake": F.softplus(fake - real.mean()).mean(),
        }

    def generator_term(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        real, fake = real_scores.float(), fake_scores.float()
        return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()
