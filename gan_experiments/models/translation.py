"""What pix2pix and CycleGAN share: dict batches of two domains and a progress grid of fixed
validation examples."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gan_experiments.models.base import AdversarialModule


def as_rgb(images: Tensor) -> Tensor:
    """Grids mix domains with 1 and 3 channels (edges vs photos): show gray as RGB."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class TranslationModule(AdversarialModule):
    grid_tag = "translations"

    def generators(self) -> list[nn.Module]:
        """The generators whose output must have their input's size."""
        raise NotImplementedError

    def input_size_multiple(self) -> int:
        """Image sides must be multiples of this for every generator to return the size it was given."""
        return math.lcm(*(getattr(g, "size_multiple", 1) for g in self.generators()))

    def prepare_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        return batch

    def batch_size_of(self, batch: dict[str, Any]) -> int:
        return int(batch["A"].shape[0])

    def grid_inputs(self, num: int, rng: torch.Generator, trainer: Any) -> dict[str, Tensor]:
        """The first `num` validation examples: the same images every time, in evaluation transform."""
        dataset = trainer.datamodule.val_dataloader().dataset
        items = [dataset[i] for i in range(min(num, len(dataset)))]
        return {key: torch.stack([item[key] for item in items]).to(self.device) for key in ("A", "B")}

    def grid_rows(self, inputs: dict[str, Tensor]) -> list[Tensor]:
        """Columns of the grid, each (N, C, H, W); one row per example."""
        raise NotImplementedError

    def grid_images(self, inputs: dict[str, Tensor]) -> tuple[Tensor, int]:
        columns = [as_rgb(c) for c in self.grid_rows(inputs)]
        return torch.stack(columns, dim=1).flatten(0, 1), len(columns)
