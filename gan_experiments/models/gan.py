"""Noise-to-image GANs: `model=gan` (MLP), `model=dcgan` and `model=conv_gan` differ only in networks
and default loss, so they share this module. The class is the seed notes' GAN: G(z) against D(x), z
from a fixed prior, k discriminator steps per generator step; research extras plug in through
`extensions` (models/extensions.py) instead of branching here."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec
from gan_experiments.errors import ConfigError
from gan_experiments.losses import AdversarialLoss
from gan_experiments.models.base import (
    AdversarialModule,
    LossAndLogs,
    NetworkFactory,
    OptimizerFactory,
    SchedulerFactory,
)
from gan_experiments.models.ema import WarmupEMA
from gan_experiments.models.extensions import NoiseGANExtension
from gan_experiments.networks.init import spectral_normalize

NoisePrior = Literal["normal", "uniform"]


class LabeledImages(NamedTuple):
    real: Tensor
    labels: Tensor | None


class Generated(NamedTuple):
    """A step's fakes and the noise they were generated from (extensions read codes back from it)."""

    images: Tensor
    z: Tensor


class GAN(AdversarialModule):
    """G(z) against D(x); `forward(z)` generates."""

    def __init__(
        self,
        generator: NetworkFactory,
        discriminator: NetworkFactory,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        data_spec: DataSpec,
        z_dim: int = 100,
        noise: NoisePrior = "normal",
        d_steps: int = 1,
        ema_decay: float | None = None,
        d_spectral_norm: bool = False,
        pack: int = 1,
        extensions: Mapping[str, NoiseGANExtension] | None = None,
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_spec, loss, g_optimizer, d_optimizer, d_steps, grad_clip_norm, lr_scheduler, seed
        )
        if noise not in ("normal", "uniform"):
            raise ConfigError(f"model.noise must be 'normal' or 'uniform', got {noise!r}")
        if ema_decay is not None and not 0 < ema_decay < 1:
            raise ConfigError(f"model.ema_decay must be in (0, 1) or null, got {ema_decay}")
        if not isinstance(pack, int) or isinstance(pack, bool) or pack < 1:
            raise ConfigError(f"model.pack must be an integer >= 1, got {pack!r}")
        if pack > 1 and self.requires_labels:
            raise ConfigError(
                "model.pack is for unconditional GANs: a cGAN's critic reads each image's label"
            )
        self.image_shape = data_spec.image_shape
        self.z_dim = int(z_dim)
        self.noise = noise
        self.pack = pack
        facts = self.network_facts()
        self.generator = generator(z_dim=self.z_dim, **facts)
        channels, *side = self.image_shape
        critic = discriminator(**{**facts, "image_shape": (channels * pack, *side)})
        self.discriminator = spectral_normalize(critic) if d_spectral_norm else critic
        # EMA of G's weights (and BatchNorm statistics): smoother samples than the last iterate;
        # a submodule, so it is saved, restored and moved with the model
        self.generator_ema = None
        if ema_decay:
            self.generator_ema = WarmupEMA(self.generator, ema_decay)
            self.generator_ema.requires_grad_(False)
        self.extensions = nn.ModuleDict()
        for name, extension in (extensions or {}).items():
            if not isinstance(extension, NoiseGANExtension):
                raise ConfigError(
                    f"model.extensions.{name} must be a gan_experiments.models.extensions.NoiseGANExtension, "
                    f"got {type(extension).__name__}"
                )
            extension.bind(self, discriminator)
            self.extensions[name] = extension
        self.check_critics()

    def network_facts(self) -> dict[str, Any]:
        """What both networks are built with from the data: the image shape (G also gets z_dim)."""
        return {"image_shape": self.data_spec.image_shape}

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples, grids and metrics use: the EMA copy when enabled."""
        return self.generator if self.generator_ema is None else self.generator_ema.module

    def discard_ema(self) -> None:
        """Delete the EMA copy, so sampling uses the last trained weights (to measure what EMA buys)."""
        self.generator_ema = None

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """G's, and those of its extensions (an extension's networks learn with G, on G's loss)."""
        return itertools.chain(self.generator.parameters(), self.extensions.parameters())

    def trained_networks(self) -> list[nn.Module]:
        trained = [e for e in self.extensions.values() if any(True for _ in e.parameters())]
        return [*super().trained_networks(), *trained]

    def after_generator_step(self) -> None:
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)

    def forward(self, z: Tensor) -> Tensor:
        return self.sampler(z)

    # ---------------------------------------------------------------- sampling
    def sample_noise(self, n: int, rng: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I) or U[-1, 1) (the course notes' prior), as the extensions shape it."""
        if self.noise == "normal":
            z = torch.randn(n, self.z_dim, device=self.device, generator=rng)
        else:
            z = torch.rand(n, self.z_dim, device=self.device, generator=rng) * 2 - 1
        for extension in self.extensions.values():
            z = extension.prior(z, rng)
        return z

    def noise_facts(self) -> dict[str, Any]:
        """What a user of the generator must know about z (export's metadata)."""
        facts: dict[str, Any] = {"noise": self.noise, "z_dim": self.z_dim}
        for extension in self.extensions.values():
            facts.update(extension.noise_facts())
        return facts

    def noise_distribution(self) -> str:
        """z's distribution in words (export's metadata)."""
        words = "N(0, 1)" if self.noise == "normal" else "U[-1, 1)"
        for extension in self.extensions.values():
            words = extension.noise_distribution(words, self.z_dim)
        return words

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, ...]:
        """Arguments of `forward` for a grid of about n samples (fixed noise for progress grids)."""
        for extension in self.extensions.values():
            z = extension.grid_noise(n, lambda count: self.sample_noise(count, rng))
            if z is not None:
                return (z,)
        return (self.sample_noise(n, rng),)

    def grid_columns(self, n: int) -> int:
        for extension in self.extensions.values():
            columns = extension.grid_columns(n)
            if columns is not None:
                return columns
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

    def generate(self, batch: LabeledImages, rng: torch.Generator) -> Generated:
        z = self.sample_noise(batch.real.shape[0], rng)
        return Generated(self.generator(z), z)

    def critic(self, batch: LabeledImages):
        """D as a function of images alone (conditioned on the batch where the model needs it)."""
        return self.discriminator

    def packed(self, images: Tensor, whole_packs_only: bool = False) -> Tensor:
        """PacGAN (Lin et al. 2018): every `pack` consecutive images as one critic input, concatenated
        along the channels, so D judges m samples at once and a generator that repeats itself is caught.
        Real images are packed with real ones and fakes with fakes; a penalty then acts on packed inputs."""
        if self.pack == 1:
            return images
        n = images.shape[0]
        if n % self.pack:
            if not whole_packs_only:
                raise ConfigError(
                    f"model.pack={self.pack}: a batch of {n} images cannot be packed in groups of "
                    f"{self.pack}; use a data.batch_size divisible by {self.pack}"
                )
            images, n = images[: n - n % self.pack], n - n % self.pack
        return images.reshape(n // self.pack, self.pack * images.shape[1], *images.shape[2:])

    def discriminator_loss(self, batch: LabeledImages, fake: Generated) -> LossAndLogs:
        return self.loss.discriminator_objective(
            self.critic(batch),
            self.packed(batch.real),
            self.packed(fake.images),
            generator=self.noise_rng,
            step=self.batches_seen,
        )

    def generator_loss(self, batch: LabeledImages, fake: Generated) -> LossAndLogs:
        fake_scores, real_scores = self.loss.generator_scores(
            self.critic(batch), self.packed(fake.images), self.packed(batch.real)
        )
        logs: dict[str, Tensor] = {}
        for extension in self.extensions.values():
            fake_scores, real_scores, extra = extension.generator_scores(
                fake_scores, real_scores, self.current_epoch
            )
            logs.update(extra)
        loss = self.loss.generator_term(fake_scores, real_scores)
        for extension in self.extensions.values():
            for name, term in extension.generator_terms(fake.images, fake.z).items():
                logs[f"loss/g_{name}"] = term
                loss = loss + term
        return loss, logs

    # ---------------------------------------------------------------- held-out check of D
    def on_validation_epoch_start(self) -> None:
        self._val_rng = torch.Generator(device=self.device)
        self._val_rng.manual_seed(self.seed + 1)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """D on held-out real images vs fresh fakes: D(val) drifting from D(train) means D memorizes."""
        batch = self.prepare_batch(batch)
        fake = self.generate(batch, self._val_rng).images
        if batch.real.shape[0] < self.pack:
            return  # a last validation batch smaller than one pack
        real, fake = self.packed(batch.real, whole_packs_only=True), self.packed(fake, whole_packs_only=True)
        d_loss, terms = self.loss.discriminator_objective(self.critic(batch), real, fake, regularize=False)
        logs = {"val/loss_d": d_loss, "val/d_real": terms["d/real"], "val/d_fake": terms["d/fake"]}
        self.log_validation(logs, batch.real.shape[0])
