"""Class-conditional GAN: G(z, y) and D(x, y), trained on the data's own label distribution."""

from __future__ import annotations

import torch
from torch import Tensor

from gan_experiments.models.gan import GAN, LabeledImages


class ConditionalGAN(GAN):
    requires_labels = True

    def __init__(self, *args, num_classes: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_classes = int(num_classes)

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

    def generate(self, batch: LabeledImages, rng: torch.Generator) -> Tensor:
        return self.generator(self.sample_noise(batch.real.shape[0], rng), batch.labels)

    def critic(self, batch: LabeledImages):
        return lambda images: self.discriminator(images, batch.labels)
