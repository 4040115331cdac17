"""Per-item seeding, so that a resumed run sees exactly the data an uninterrupted one would.

Training items are `(epoch, index)` pairs (see `EpochShuffleSampler(with_epoch=True)`): all
randomness of an item (crop, flip, the random B of an unpaired pair) is drawn from a generator seeded
by (seed, epoch, index), so the data a run sees depends neither on worker count nor on resuming.
A plain int index draws from the global RNG instead (any other sampler still gets fresh augmentation).
Shared by every dataset that augments: the translation, image-folder and MNIST-translation datasets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch

Item = int | tuple[int, int]


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed per (seed, epoch, index); hashed so neighbouring items are unrelated."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


@contextmanager
def seeded_rng(seed: int, item: Item) -> Iterator[None]:
    """Seed torch's CPU RNG for one `(epoch, index)` item without disturbing the caller's stream."""
    if isinstance(item, int):
        yield
        return
    epoch, index = item
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(item_seed(seed, epoch, index))
        yield


def item_index(item: Item) -> int:
    return item if isinstance(item, int) else int(item[1])
