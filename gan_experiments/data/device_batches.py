"""Batches of an in-memory dataset gathered on the accelerator by index.

The fast path for MNIST: no DataLoader workers, no per-image Python, no host-to-device copy per step
(one index tensor per epoch). The order is EpochShuffleSampler's for the same seed and epoch, so the
batches are exactly those of the ordinary DataLoader path: the same training, executed faster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from gan_experiments.data.samplers import EpochShuffleSampler

#: (device, rank, world size) at iteration time, from the trainer the data module is attached to
Placement = Callable[[], tuple[torch.device, int, int]]


class DeviceBatches:
    def __init__(self, tensors: tuple[Tensor, ...], batch_size: int, seed: int, placement: Placement) -> None:
        self.tensors = tensors
        self.batch_size = batch_size
        self.placement = placement
        # Lightning calls `sampler.set_epoch(epoch)` on whatever `train_dataloader()` returns
        self.sampler = EpochShuffleSampler(len(tensors[0]), seed)
        self._on_device: tuple[Tensor, ...] | None = None

    def _shard_size(self) -> int:
        _, _, world = self.placement()
        return len(self.sampler) // world

    def __len__(self) -> int:
        return self._shard_size() // self.batch_size  # drop_last, as the DataLoader path

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        device, rank, world = self.placement()
        if self._on_device is None or self._on_device[0].device != device:
            self._on_device = tuple(t.to(device) for t in self.tensors)
        order = torch.tensor(list(self.sampler), device=device)[rank::world][: self._shard_size()]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield tuple(t.index_select(0, index) for t in self._on_device)
