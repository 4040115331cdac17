"""A dataset of one bright square on a dark background at a random place: a mode a GAN learns in a few
steps. The DataModule states its facts (`spec`) before any image exists."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from gan_experiments.data.spec import DataSpec, SpecifiedDataModule


class SquaresDataModule(SpecifiedDataModule):
    def __init__(
        self, count: int = 64, image_size: int = 16, side: int = 4, batch_size: int = 8, num_workers: int = 0
    ) -> None:
        super().__init__()
        if not 0 < side < image_size:
            raise ValueError(f"data.side must be in (0, data.image_size), got {side}")
        self.count, self.image_size, self.side = count, image_size, side
        self.batch_size, self.num_workers = batch_size, num_workers
        self.splits: dict[str, TensorDataset] = {}

    @property
    def spec(self) -> DataSpec:
        return DataSpec(layout="images", image_shape=(1, self.image_size, self.image_size))

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        rng = torch.Generator().manual_seed(0)
        images = -torch.ones(self.count, 1, self.image_size, self.image_size)
        corners = torch.randint(0, self.image_size - self.side, (self.count, 2), generator=rng)
        for image, (y, x) in zip(images, corners.tolist(), strict=True):
            image[:, y : y + self.side, x : x + self.side] = 1.0
        half = self.count // 2
        self.splits = {"train": TensorDataset(images[half:]), "val": TensorDataset(images[:half])}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["train"], batch_size=self.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["val"], batch_size=self.batch_size)
