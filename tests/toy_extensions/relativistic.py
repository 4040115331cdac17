"""The relativistic standard GAN (RSGAN, Jolicoeur-Martineau 2019): D learns that a real image looks more
real than a fake one, G that a fake looks more real than a real one; both terms read the critic's scores
on real *and* fake images, so G's phase needs D(real) too (`generator_reads_real`)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from gan_experiments.losses import AdversarialLoss


class RelativisticLoss(AdversarialLoss):
    name = "rsgan"
    generator_reads_real = True

    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
        return {"pair": F.softplus(fake_scores.float() - real_scores.float()).mean()}

    def generator_term(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        return F.softplus(real_scores.float() - fake_scores.float()).mean()
