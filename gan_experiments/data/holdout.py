"""Validation images held out of a training folder, for datasets whose only other split is the one
results are reported on (edges2shoes has train/ and val/, horse2zebra trainA/B and testA/B): choosing
checkpoints on that split and reporting on it would report the minimum of the estimates the choice
was made by. The held-out images are a seeded choice, so every run of a seed trains on the same rest."""

from __future__ import annotations

from dataclasses import replace

import torch

from gan_experiments.data.image_reading import ImageList
from gan_experiments.errors import DatasetError

#: at most this share of a training folder is held out, so small folders keep most of their images
MAX_SHARE = 0.1


def holdout_count(total: int, wanted: int) -> int:
    """`wanted` images, but at most a tenth of `total` and at least one."""
    return max(1, min(wanted, int(total * MAX_SHARE)))


def hold_out(images: ImageList, wanted: int, seed: int) -> tuple[ImageList, ImageList]:
    """(kept for training, held out for validation): `holdout_count` images drawn with `seed`, each
    list in the folder's order."""
    if len(images) < 2:
        raise DatasetError(
            f"{images.folder} has {len(images)} image: too few to hold out validation images; "
            "set data.val_split to a folder split (e.g. data.val_split=test)"
        )
    count = holdout_count(len(images), wanted)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    held = set(order[:count].tolist())
    pick = [i for i in range(len(images)) if i not in held], sorted(held)
    return tuple(  # type: ignore[return-value]
        replace(images, paths=[images.paths[i] for i in rows], sizes=[images.sizes[i] for i in rows])
        for rows in pick
    )
