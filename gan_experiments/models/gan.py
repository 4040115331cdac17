"""Noise-to-image GANs: `model=gan` (MLP), `model=dcgan` and `model=conv_gan` differ only in networks
and default loss, so they share this module."""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec
from gan_experiments.losses import AdversarialLoss
from gan_experiments.models.base import (
    AdversarialModule,
    LossAndLogs,
    NetworkFactory,
    OptimizerFactory,
    SchedulerFactory,
)
from gan_experiments.models.ema import WarmupEMA
from gan_experiments.networks.init import spectral_normalize

NoisePrior = Literal["normal", "uniform"]


class LabeledImages(NamedTuple):
    real: Tensor
    labels: Tensor | None


class Generated(NamedTuple):
    """A step's fakes: the images, and with a categorical code the code each was drawn with."""

    images: Tensor
    codes: Tensor | None = None


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
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        ema_decay: float | None = None,
        d_spectral_norm: bool = False,
        categorical_code: int | None = None,
        info_weight: float = 1.0,
        top_k_decay: float | None = None,
        top_k_min: float = 0.5,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_spec, loss, g_optimizer, d_optimizer, d_steps, grad_clip_norm, lr_scheduler, seed
        )
        if noise not in ("normal", "uniform"):
            raise ValueError(f"model.noise must be 'normal' or 'uniform', got {noise!r}")
        if ema_decay is not None and not 0 < ema_decay < 1:
            raise ValueError(f"model.ema_decay must be in (0, 1) or null, got {ema_decay}")
        if categorical_code is not None and not (2 <= categorical_code < z_dim):
            raise ValueError(f"model.categorical_code must be null or in [2, z_dim), got {categorical_code}")
        if categorical_code and self.requires_labels:
            raise ValueError("model.categorical_code is for unconditional GANs; a cGAN has its labels")
        if top_k_decay is not None and not 0 < top_k_decay <= 1:
            raise ValueError(f"model.top_k_decay must be in (0, 1] or null, got {top_k_decay}")
        if not 0 < top_k_min <= 1:
            raise ValueError(f"model.top_k_min must be in (0, 1], got {top_k_min}")
        self.image_shape = data_spec.image_shape
        self.z_dim = int(z_dim)
        self.noise = noise
        self.categorical_code = categorical_code
        self.info_weight = float(info_weight)
        self.top_k_decay = top_k_decay
        self.top_k_min = float(top_k_min)
        facts = self.network_facts()
        self.generator = generator(z_dim=self.z_dim, **facts)
        critic = discriminator(**facts)
        self.discriminator = spectral_normalize(critic) if d_spectral_norm else critic
        # InfoGAN's Q (Chen et al. 2016): D's architecture with one output per code value, reading the
        # code back from G's images; G and Q minimize info_weight · CE(Q(G(z, c)), c). Meant to give each
        # code value one kind of image, so that G need not bend one continuous z-space around ten separate
        # digit clusters; on dcgan_mnist the code did not take the digits (docs/results/mnist_full_length.md)
        self.code_reader = self.build_code_reader(discriminator, facts) if categorical_code else None
        # EMA of G's weights (and BatchNorm statistics): smoother samples than the last iterate;
        # a submodule, so it is saved, restored and moved with the model
        self.generator_ema = None
        if ema_decay:
            self.generator_ema = WarmupEMA(self.generator, ema_decay)
            self.generator_ema.requires_grad_(False)
        self.check_critics()

    def network_facts(self) -> dict[str, Any]:
        """What both networks are built with from the data: the image shape (G also gets z_dim)."""
        return {"image_shape": self.data_spec.image_shape}

    def build_code_reader(self, discriminator: NetworkFactory, facts: dict[str, Any]) -> nn.Module:
        """Q: the discriminator's network with one output per code value (its `outputs` option)."""
        parameters = inspect.signature(discriminator).parameters
        if "outputs" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            raise ValueError(
                "model.categorical_code needs a discriminator network with an `outputs` option (the MLP, "
                "DCGAN and the notes' conv GAN discriminators have one)"
            )
        return discriminator(**facts, outputs=self.categorical_code)

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples, grids and metrics use: the EMA copy when enabled."""
        return self.generator if self.generator_ema is None else self.generator_ema.module

    def discard_ema(self) -> None:
        """Delete the EMA copy, so sampling uses the last trained weights (to measure what EMA buys)."""
        self.generator_ema = None

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """G's, and Q's where the model has a categorical code (Q learns with G, on G's loss)."""
        readers = [self.code_reader] if self.code_reader is not None else []
        return itertools.chain(self.generator.parameters(), *(q.parameters() for q in readers))

    def trained_networks(self) -> list[nn.Module]:
        return [*super().trained_networks(), *([self.code_reader] if self.code_reader is not None else [])]

    def after_generator_step(self) -> None:
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)

    def forward(self, z: Tensor) -> Tensor:
        return self.sampler(z)

    # ---------------------------------------------------------------- sampling
    def sample_noise(self, n: int, rng: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I) or U[-1, 1) (the course notes' prior); with a categorical code of K values, the
        last K entries of z are instead the one-hot code c ~ Cat(K)."""
        if self.noise == "normal":
            z = torch.randn(n, self.z_dim, device=self.device, generator=rng)
        else:
            z = torch.rand(n, self.z_dim, device=self.device, generator=rng) * 2 - 1
        if not self.categorical_code:
            return z
        codes = torch.randint(self.categorical_code, (n,), device=self.device, generator=rng)
        return self.with_codes(z, codes)

    def with_codes(self, z: Tensor, codes: Tensor) -> Tensor:
        """z with its last `categorical_code` entries replaced by the one-hot `codes`."""
        k = int(self.categorical_code or 0)
        return torch.cat([z[:, :-k], F.one_hot(codes, k).to(z.dtype)], dim=1)

    def codes_of(self, z: Tensor) -> Tensor | None:
        return z[:, -self.categorical_code :].argmax(dim=1) if self.categorical_code else None

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, ...]:
        """Arguments of `forward` for a grid of n samples (fixed noise for progress grids); with a
        categorical code, n // K samples of each code value in turn (one grid row per value)."""
        if not self.categorical_code:
            return (self.sample_noise(n, rng),)
        codes = torch.arange(self.categorical_code, device=self.device)
        codes = codes.repeat_interleave(max(1, n // self.categorical_code))
        return (self.with_codes(self.sample_noise(len(codes), rng), codes),)

    def grid_columns(self, n: int) -> int:
        if self.categorical_code:
            return max(1, n // self.categorical_code)
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
        return Generated(self.generator(z), self.codes_of(z))

    def critic(self, batch: LabeledImages):
        """D as a function of images alone (conditioned on the batch where the model needs it)."""
        return self.discriminator

    def discriminator_loss(self, batch: LabeledImages, fake: Generated) -> LossAndLogs:
        return self.loss.discriminator_objective(
            self.critic(batch), batch.real, fake.images, generator=self.noise_rng
        )

    def generator_loss(self, batch: LabeledImages, fake: Generated) -> LossAndLogs:
        scores = self.critic(batch)(fake.images)
        logs: dict[str, Tensor] = {}
        if self.top_k_decay is not None:
            scores = self.most_realistic(scores)
            logs["g/top_k"] = torch.tensor(scores.shape[0] / fake.images.shape[0], device=scores.device)
        loss = self.loss.g(scores)
        if self.code_reader is None:
            return loss, logs
        info = F.cross_entropy(self.code_reader(fake.images), fake.codes)
        return loss + self.info_weight * info, {**logs, "g/info": info}

    def top_k_fraction(self) -> float:
        """Share of the batch G learns from this epoch: max(top_k_decay ** epoch, top_k_min)."""
        return max(float(self.top_k_decay or 1.0) ** self.current_epoch, self.top_k_min)

    def most_realistic(self, scores: Tensor) -> Tensor:
        """The critic's scores of the k fakes it rates most real (Sinha et al. 2020, "top-k training").

        Every loss here scores real images higher than fakes, so the highest scores are the most realistic
        samples. The paper finds that the gradient of the worst-rated fakes can push them further from
        their nearest mode, so G's loss leaves them out (on dcgan_mnist and lsgan_mnist it measured no
        better than the whole batch: docs/results/mnist_full_length.md).
        """
        n = scores.shape[0]
        k = max(1, math.ceil(self.top_k_fraction() * n))
        if k >= n:
            return scores
        return scores[scores.detach().reshape(n, -1).mean(dim=1).topk(k).indices]

    # ---------------------------------------------------------------- held-out check of D
    def on_validation_epoch_start(self) -> None:
        self._val_rng = torch.Generator(device=self.device)
        self._val_rng.manual_seed(self.seed + 1)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """D on held-out real images vs fresh fakes: D(val) drifting from D(train) means D memorizes."""
        batch = self.prepare_batch(batch)
        fake = self.generate(batch, self._val_rng).images
        d_loss, terms = self.loss.discriminator_objective(
            self.critic(batch), batch.real, fake, with_penalty=False
        )
        logs = {"val/loss_d": d_loss, "val/d_real": terms["d/real"], "val/d_fake": terms["d/fake"]}
        self.log_dict(logs, on_epoch=True, batch_size=batch.real.shape[0], sync_dist=True)
