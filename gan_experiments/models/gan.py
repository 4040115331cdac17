"""Noise-to-image GANs: `model=gan` (MLP), `model=dcgan` and `model=lsgan` differ only in networks
and default loss, so they share this module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn

from gan_experiments.losses import AdversarialLoss
from gan_experiments.models.base import AdversarialModule, LossAndLogs, OptimizerFactory, SchedulerFactory
from gan_experiments.models.ema import WarmupEMA
from gan_experiments.networks.init import spectral_normalize

NoisePrior = Literal["normal", "uniform"]


class LabeledImages(NamedTuple):
    real: Tensor
    labels: Tensor | None


class GAN(AdversarialModule):
    """G(z) against D(x); `forward(z)` generates."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        image_shape: Sequence[int] = (1, 28, 28),
        z_dim: int = 100,
        noise: NoisePrior = "normal",
        d_steps: int = 1,
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        ema_decay: float | None = None,
        d_spectral_norm: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(loss, g_optimizer, d_optimizer, d_steps, grad_clip_norm, lr_scheduler, seed)
        if noise not in ("normal", "uniform"):
            raise ValueError(f"model.noise must be 'normal' or 'uniform', got {noise!r}")
        if ema_decay is not None and not 0 < ema_decay < 1:
            raise ValueError(f"model.ema_decay must be in (0, 1) or null, got {ema_decay}")
        self.generator = generator
        self.discriminator = spectral_normalize(discriminator) if d_spectral_norm else discriminator
        # EMA of G's weights (and BatchNorm statistics): smoother samples than the last iterate;
        # a submodule, so it is saved, restored and moved with the model
        self.generator_ema = None
        if ema_decay:
            self.generator_ema = WarmupEMA(generator, ema_decay)
            self.generator_ema.requires_grad_(False)
        self.image_shape = tuple(image_shape)
        self.z_dim = int(z_dim)
        self.noise = noise
        self.check_critics()

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples, grids and metrics use: the EMA copy when enabled."""
        return self.generator if self.generator_ema is None else self.generator_ema.module

    def discard_ema(self) -> None:
        """Delete the EMA copy, so sampling uses the last trained weights (to measure what EMA buys)."""
        self.generator_ema = None

    def after_generator_step(self) -> None:
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)

    def forward(self, z: Tensor) -> Tensor:
        return self.sampler(z)

    # ---------------------------------------------------------------- sampling
    def sample_noise(self, n: int, rng: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I) or U[-1, 1) (the course notes' prior)."""
        if self.noise == "normal":
            return torch.randn(n, self.z_dim, device=self.device, generator=rng)
        return torch.rand(n, self.z_dim, device=self.device, generator=rng) * 2 - 1

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, ...]:
        """Arguments of `forward` for a grid of n samples (fixed noise for progress grids)."""
        return (self.sample_noise(n, rng),)

    def grid_columns(self, n: int) -> int:
        return max(1, int(n**0.5))

    # progress grids (callbacks.sample_grid): the same z every time
    def grid_inputs(
        self, num: int, rng: torch.Generator, examples: Sequence[Any] | None = None
    ) -> tuple[Tensor, ...]:
        return self.sample_inputs(num, rng)

    def grid_images(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, int]:
        images = self(*inputs)
        return images, self.grid_columns(len(images))

    # ---------------------------------------------------------------- the adversarial game
    def prepare_batch(self, batch: Any) -> LabeledImages:
        if isinstance(batch, (list, tuple)):
            return LabeledImages(batch[0], batch[1] if len(batch) > 1 else None)
        return LabeledImages(batch, None)

    def generate(self, batch: LabeledImages, rng: torch.Generator) -> Tensor:
        return self.generator(self.sample_noise(batch.real.shape[0], rng))

    def critic(self, batch: LabeledImages):
        """D as a function of images alone (conditioned on the batch where the model needs it)."""
        return self.discriminator

    def discriminator_loss(self, batch: LabeledImages, fake: Tensor) -> LossAndLogs:
        return self.loss.discriminator_objective(
            self.critic(batch), batch.real, fake, generator=self.noise_rng
        )

    def generator_loss(self, batch: LabeledImages, fake: Tensor) -> LossAndLogs:
        return self.loss.g(self.critic(batch)(fake)), {}

    # ---------------------------------------------------------------- held-out check of D
    def on_validation_epoch_start(self) -> None:
        self._val_rng = torch.Generator(device=self.device)
        self._val_rng.manual_seed(self.seed + 1)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """D on held-out real images vs fresh fakes: D(val) drifting from D(train) means D memorizes."""
        batch = self.prepare_batch(batch)
        fake = self.generate(batch, self._val_rng)
        d_loss, terms = self.loss.discriminator_objective(
            self.critic(batch), batch.real, fake, with_penalty=False
        )
        logs = {"val/loss_d": d_loss, "val/d_real": terms["d/real"], "val/d_fake": terms["d/fake"]}
        self.log_dict(logs, on_epoch=True, batch_size=batch.real.shape[0], sync_dist=True)
