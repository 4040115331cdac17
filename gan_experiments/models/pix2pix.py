"""pix2pix (Isola et al. 2017): a conditional GAN on aligned pairs; D judges concat(A, B) patches,
G minimizes the adversarial loss plus λ·L1 to the target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec
from gan_experiments.losses import AdversarialLoss, LossAndLogs
from gan_experiments.models.base import NetworkFactory, OptimizerFactory, SchedulerFactory
from gan_experiments.models.translation import TranslationModule


class Pix2Pix(TranslationModule):
    data_layout = "paired"

    def generators(self) -> list[nn.Module]:
        return [self.generator]

    def __init__(
        self,
        generator: NetworkFactory,
        discriminator: NetworkFactory,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        data_spec: DataSpec,
        lambda_l1: float = 100.0,
        lambda_gan: float = 1.0,
        d_loss_weight: float = 0.5,
        d_steps: int = 1,
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_spec, loss, g_optimizer, d_optimizer, d_steps, grad_clip_norm, lr_scheduler, seed
        )
        self.generator = self.build_generator(generator, self.in_channels, self.out_channels)
        self.discriminator = discriminator(in_channels=self.in_channels + self.out_channels)
        self.lambda_l1, self.lambda_gan, self.d_loss_weight = lambda_l1, lambda_gan, d_loss_weight
        self.check_critics()
        self.check_image_sizes()

    def forward(self, a: Tensor) -> Tensor:
        return self.generator(a)

    def generate(self, batch: dict[str, Any], rng: torch.Generator) -> Tensor:
        return self.generator(batch["A"])

    def critic(self, a: Tensor) -> Callable[[Tensor], Tensor]:
        """D conditioned on the input: it sees (A, candidate B) pairs."""
        return lambda b: self.discriminator(torch.cat([a, b], dim=1))

    def discriminator_loss(self, batch: dict[str, Any], fake_b: Tensor) -> LossAndLogs:
        return self.loss.discriminator_objective(
            self.critic(batch["A"]), batch["B"], fake_b, self.d_loss_weight,
            generator=self.noise_rng, step=self.batches_seen,
        )  # fmt: skip

    def generator_loss(self, batch: dict[str, Any], fake_b: Tensor) -> LossAndLogs:
        adversarial = self.loss.generator_objective(self.critic(batch["A"]), fake_b, batch["B"])
        l1 = F.l1_loss(fake_b, batch["B"])
        loss = self.lambda_gan * adversarial + self.lambda_l1 * l1
        return loss, {"loss/g_gan": adversarial, "loss/g_l1": l1}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fake_b = self.generator(batch["A"])
        l1 = F.l1_loss(fake_b, batch["B"])
        self.log_validation({"val/l1": l1}, batch["A"].shape[0])

    def grid_column_images(self, inputs: dict[str, Tensor]) -> list[Tensor]:
        return [inputs["A"], self.generator(inputs["A"]), inputs["B"]]  # input | output | target
