"""The original WGAN (Arjovsky et al. 2017): the Wasserstein loss with the critic's weights clipped to
[-c, c] after every critic step, as a new model on the noise GAN, using its hook after D's step."""

from __future__ import annotations

from typing import Any

import torch

from gan_experiments.models.gan import GAN


class WGANWithClipping(GAN):
    def __init__(self, *args: Any, clip_value: float = 0.01, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not clip_value > 0:
            raise ValueError(f"model.clip_value must be > 0, got {clip_value}")
        self.clip_value = float(clip_value)

    @torch.no_grad()
    def after_discriminator_step(self) -> None:
        for parameter in self.discriminator.parameters():
            parameter.clamp_(-self.clip_value, self.clip_value)
