"""Shuffling that depends only on (seed, epoch), so a resumed run sees the same batches as an
uninterrupted one. Lightning calls `set_epoch` on the sampler at every epoch start (also through its
DDP wrapper, which forwards it).

With `with_epoch=True` the sampler yields `(epoch, index)` pairs instead of indices: datasets with
random augmentation seed each item from (seed, epoch, index), so crops and flips do not depend on
worker count or on where a run was resumed (see `gan_experiments.data.item_seeds.item_seed`).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[int]):
    def __init__(self, num_items: int, seed: int = 0, with_epoch: bool = False) -> None:
        self.num_items = num_items
        self.seed = seed
        self.with_epoch = with_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        rng = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.num_items, generator=rng).tolist()
        if self.with_epoch:
            epoch = self.epoch
            return iter([(epoch, index) for index in order])  # type: ignore[misc]
        return iter(order)

    def __len__(self) -> int:
        return self.num_items
