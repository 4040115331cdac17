"""Preprocessing of translation images: the option checks and the torchvision transforms (resize,
crop, flip, scale to [-1, 1]) behind the official pix2pix/CycleGAN `preprocess` modes.

Kept apart from the datasets because the DataModules validate these options before any dataset exists,
and other datasets reuse the interpolation and the output range.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor
from torchvision import tv_tensors
from torchvision.transforms import v2

from gan_experiments.errors import ConfigError

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
DIRECTIONS = ("AtoB", "BtoA")
BICUBIC = v2.InterpolationMode.BICUBIC  # the official repository's default

Direction = Literal["AtoB", "BtoA"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]


def default_load_size(image_size: int) -> int:
    """286 for 256 as in the official repository, scaled for other sizes (36 for 32)."""
    return round(image_size * 286 / 256)


def check_options(
    direction: str, image_size: int, load_size: int | None, preprocess: str, channels: dict[str, int]
) -> int:
    """Validate the options shared by datasets and DataModules; returns the effective load size."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"data.direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if preprocess not in PREPROCESS_MODES:
        raise ConfigError(f"data.preprocess must be one of {', '.join(PREPROCESS_MODES)}, got {preprocess!r}")
    for name, value in channels.items():
        if value not in (1, 3):
            raise ConfigError(f"data.{name} must be 1 (grayscale) or 3 (RGB), got {value!r}")
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"data.image_size must be a positive integer, got {image_size!r}")
    load = default_load_size(image_size) if load_size is None else load_size
    if not isinstance(load, int) or load < image_size:
        raise ConfigError(
            f"data.load_size must be null or an integer >= data.image_size ({image_size}), got {load!r}"
        )
    return load


class ScaleWidth(v2.Transform):
    """Official `scale_width`: width becomes `width`, height keeps the aspect ratio but is at least
    `min_height`, so a following crop of `min_height` always fits."""

    def __init__(self, width: int, min_height: int) -> None:
        super().__init__()
        self.width = width
        self.min_height = min_height

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        height, width = v2.functional.get_size(inpt)
        new_height = max(round(self.width * height / width), self.min_height)
        return v2.functional.resize(inpt, [new_height, self.width], interpolation=BICUBIC, antialias=True)


#: preprocess modes whose output size follows the image (every other mode gives image_size × image_size)
FREE_SIZE_MODES = ("scale_width", "none")


class RoundToMultiple(v2.Transform):
    """The official code's `__make_power_2` for images of their own size: each side resized to the
    nearest multiple of `base` (at least `base`), so a generator's strided down- and up-sampling returns
    the size it was given."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        height, width = v2.functional.get_size(inpt)
        size = [max(self.base, round(side / self.base) * self.base) for side in (height, width)]
        if size == [height, width]:
            return inpt
        return v2.functional.resize(inpt, size, interpolation=BICUBIC, antialias=True)


def build_transform(
    train: bool, preprocess: str, image_size: int, load_size: int, flip: bool, size_multiple: int = 4
) -> v2.Compose:
    """uint8 image(s) → float in [0, 1]. Training jitters (resize to load_size, random crop, flip);
    evaluation is deterministic (resize to image_size, centre crops). Called with several images at
    once, every random parameter is shared between them. Modes that keep an image's own size round it
    to a multiple of `size_multiple` (the generator's stride)."""
    steps: list[v2.Transform] = []
    crop = v2.RandomCrop(image_size) if train else v2.CenterCrop(image_size)
    if preprocess == "resize_and_crop":
        size = load_size if train else image_size
        steps.append(v2.Resize([size, size], interpolation=BICUBIC, antialias=True))
        if train:
            steps.append(crop)
    elif preprocess == "crop":
        steps.append(crop)
    elif preprocess in ("scale_width", "scale_width_and_crop"):
        steps.append(ScaleWidth(load_size if train else image_size, min_height=image_size))
        if preprocess == "scale_width_and_crop":
            steps.append(crop)
    if preprocess in FREE_SIZE_MODES and size_multiple > 1:
        steps.append(RoundToMultiple(size_multiple))
    if train and flip:
        steps.append(v2.RandomHorizontalFlip())
    steps.append(v2.ToDtype(torch.float32, scale=True))
    return v2.Compose(steps)


def to_model_range(image: Tensor) -> Tensor:
    """[0, 1] → [-1, 1] (Tanh generators), as a plain tensor for the default collate."""
    return image.as_subclass(Tensor).mul(2).sub(1)
