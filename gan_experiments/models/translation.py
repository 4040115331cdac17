"""What pix2pix and CycleGAN share: dict batches of two domains and a progress grid of fixed
validation examples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gan_experiments.errors import ConfigError
from gan_experiments.models.base import AdversarialModule, NetworkFactory


def as_rgb(images: Tensor) -> Tensor:
    """Grids mix domains with 1 and 3 channels (edges vs photos): show gray as RGB."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class TranslationModule(AdversarialModule):
    grid_tag = "translations"
    grid_source = "examples"

    @property
    def in_channels(self) -> int:
        """Channels of domain A (the data's spec)."""
        return int(self.data_spec.in_channels)

    @property
    def out_channels(self) -> int:
        """Channels of domain B."""
        return int(self.data_spec.out_channels)

    def build_generator(self, generator: NetworkFactory, in_channels: int, out_channels: int) -> nn.Module:
        """A translation generator from the data's facts: its input and output channels and the image
        side (a U-Net takes its depth from it; a ResNet generator works at any multiple of 4)."""
        return generator(
            in_channels=in_channels, out_channels=out_channels, image_size=self.data_spec.image_shape[-1]
        )

    def generators(self) -> list[nn.Module]:
        """The generators whose output must have their input's size."""
        raise NotImplementedError

    def input_size_multiple(self) -> int:
        """Image sides must be multiples of this for every generator to return the size it was given."""
        return math.lcm(*(getattr(g, "size_multiple", 1) for g in self.generators()))

    def check_image_sizes(self) -> None:
        """Subclasses call this once their generators exist: a generator returns its input's size only
        for sides divisible by its stride, so data whose sides are not is refused here, in one line with
        the data option that fixes it (the data is never adapted to the model behind the user's back)."""
        multiple, side = self.input_size_multiple(), self.data_spec.image_shape[-1]
        if self.data_spec.size_multiple is not None:
            if self.data_spec.size_multiple % multiple:
                raise ConfigError(
                    f"data.size_multiple={self.data_spec.size_multiple}: the images keep their own size, "
                    f"rounded to multiples of that, but the generator needs sides divisible by {multiple}; "
                    f"set data.size_multiple={math.lcm(self.data_spec.size_multiple, multiple)}"
                )
        elif side % multiple:
            lower = max(multiple, side // multiple * multiple)
            raise ConfigError(
                f"data.image_size={side}: the generator needs sizes divisible by {multiple} (else its output "
                f"has another size than its input); use {lower} or {lower + multiple}"
            )

    def prepare_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        return batch

    def batch_size_of(self, batch: dict[str, Any]) -> int:
        return int(batch["A"].shape[0])

    def grid_inputs(
        self, num: int, rng: torch.Generator, examples: Sequence[dict[str, Any]] | None
    ) -> dict[str, Tensor]:
        """The given validation examples (the same images every time, in evaluation transform), at most
        `num`, as one batch on the model's device."""
        if not examples:
            raise ValueError(f"{type(self).__name__} grids are made of validation examples; none were given")
        items = list(examples)[:num]
        return {key: torch.stack([item[key] for item in items]).to(self.device) for key in ("A", "B")}

    def grid_column_images(self, inputs: dict[str, Tensor]) -> list[Tensor]:
        """The grid's columns, each (N, C, H, W): inputs, outputs, targets …; one row per example."""
        raise NotImplementedError

    def grid_images(self, inputs: dict[str, Tensor]) -> tuple[Tensor, int]:
        columns = [as_rgb(c) for c in self.grid_column_images(inputs)]
        return torch.stack(columns, dim=1).flatten(0, 1), len(columns)
