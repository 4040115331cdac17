"""Class-conditional GAN: G(z, y) and D(x, y), trained on the data's own label distribution."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gan_experiments.errors import ConfigError
from gan_experiments.models.gan import GAN, Generated, LabeledImages


class ConditionalGAN(GAN):
    requires_labels = True

    def network_facts(self) -> dict[str, Any]:
        """G and D are also built with the number of classes of the data's labels."""
        if not self.data_spec.labelled:
            raise ConfigError("ConditionalGAN needs labelled data (a DataSpec with num_classes)")
        return {**super().network_facts(), "num_classes": self.data_spec.num_classes}

    @property
    def num_classes(self) -> int:
        return int(self.data_spec.num_classes)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.sampler(z, labels)

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, ...]:
        """One row per class, n // num_classes samples of each."""
        per_class = max(1, n // self.num_classes)
        labels = torch.arange(self.num_classes, device=self.device).repeat_interleave(per_class)
        return self.sample_noise(labels.numel(), rng), labels

    def grid_columns(self, n: int) -> int:
        return max(1, n // self.num_classes)

    def prepare_batch(self, batch) -> LabeledImages:
        images = super().prepare_batch(batch)
        if images.labels is None:
            raise ValueError("ConditionalGAN needs (image, label) batches")
        return images

    def generate(self, batch: LabeledImages, rng: torch.Generator) -> Generated:
        z = self.sample_noise(batch.real.shape[0], rng)
        return Generated(self.generator(z, batch.labels), z)

    def critic(self, batch: LabeledImages):
        return lambda images: self.discriminator(images, batch.labels)
