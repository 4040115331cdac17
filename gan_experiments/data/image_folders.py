"""Image folders for image-to-image translation: the datasets.

Paired A|B images (pix2pix) and two unpaired domain folders (CycleGAN), in the layouts of
`folder_layouts`, plus a plain folder of inputs for the `translate` command. Training randomness is
seeded per `(epoch, index)` item (see `item_seeds`); evaluation datasets have no randomness at all.

Reading images, layouts, transforms and seeding live in their own modules; the names this module used
to define are re-exported here so that existing imports keep working.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from gan_experiments.data.folder_layouts import (
    Layout,
    describe_layout,
    detect_layout,
    layout_problem,
    split_folders,
)
from gan_experiments.data.image_reading import (
    _SKIP_HINT,
    IMAGE_EXTENSIONS,
    ImageList,
    is_image_file,
    list_images,
    read_image,
    scan_images,
    to_image,
)
from gan_experiments.data.image_transforms import (
    BICUBIC,
    DIRECTIONS,
    FREE_SIZE_MODES,
    PREPROCESS_MODES,
    Direction,
    Preprocess,
    RoundToMultiple,
    ScaleWidth,
    build_transform,
    check_options,
    default_load_size,
    to_model_range,
)
from gan_experiments.data.item_seeds import Item, item_index, item_seed, seeded_rng
from gan_experiments.errors import DatasetError

__all__ = [
    "BICUBIC",
    "DIRECTIONS",
    "FREE_SIZE_MODES",
    "IMAGE_EXTENSIONS",
    "PREPROCESS_MODES",
    "Direction",
    "ImageFolderDataset",
    "ImageList",
    "Item",
    "Layout",
    "PairedImageDataset",
    "Preprocess",
    "RoundToMultiple",
    "ScaleWidth",
    "UnpairedImageDataset",
    "build_transform",
    "check_options",
    "default_load_size",
    "describe_layout",
    "detect_layout",
    "is_image_file",
    "item_index",
    "item_seed",
    "layout_problem",
    "list_images",
    "read_image",
    "scan_images",
    "seeded_rng",
    "split_folders",
    "to_image",
    "to_model_range",
]

log = logging.getLogger(__name__)


class _TranslationDataset(Dataset):
    """Options shared by the paired and unpaired datasets."""

    def __init__(
        self,
        *,
        train: bool,
        direction: Direction,
        image_size: int,
        load_size: int | None,
        preprocess: Preprocess,
        flip: bool,
        channels_a: int,
        channels_b: int,
        skip_bad_images: bool,
        seed: int,
        size_multiple: int = 4,
    ) -> None:
        self.load_size = check_options(
            direction, image_size, load_size, preprocess, {"channels_a": channels_a, "channels_b": channels_b}
        )
        self.train = train
        self.direction = direction
        self.image_size = image_size
        self.preprocess = preprocess
        self.channels_a = channels_a
        self.channels_b = channels_b
        self.skip_bad_images = skip_bad_images
        self.seed = seed
        self.transform = build_transform(train, preprocess, image_size, self.load_size, flip, size_multiple)

    def _check_crop_fits(self, images: ImageList, half_width: bool = False) -> None:
        """A crop larger than an image fails deep inside the transform; name the image instead."""
        if self.preprocess != "crop":
            return
        for path, (width, height) in zip(images.paths, images.sizes, strict=True):
            width = width // 2 if half_width else width
            if min(width, height) < self.image_size:
                raise DatasetError(
                    f"{path}: {'each half is' if half_width else 'is'} {width}×{height}, smaller than "
                    f"data.image_size={self.image_size}, which preprocess=crop cuts out; "
                    f"use preprocess=resize_and_crop"
                )

    def _read(self, images: ImageList, index: int) -> tuple[Path, Image.Image]:
        """Decode image `index`; with skip_bad_images an undecodable file is replaced by the next one."""
        for offset in range(len(images)):
            path = images.paths[(index + offset) % len(images)]
            try:
                return path, read_image(path)
            except DatasetError as error:
                if not self.skip_bad_images:
                    raise DatasetError(f"{error}; {_SKIP_HINT}") from error
                log.warning("skipping unreadable image %s", path)
        raise DatasetError(f"{images.folder}: no image can be decoded")


class PairedImageDataset(_TranslationDataset):
    """pix2pix: every image of `folder` is A | B side by side; one transform call crops and flips
    both halves identically. Items: {"A": input, "B": target, "A_path", "B_path"} after `direction`."""

    def __init__(
        self,
        folder: str | Path | ImageList,
        *,
        train: bool,
        direction: Direction = "AtoB",
        image_size: int = 256,
        load_size: int | None = None,
        preprocess: Preprocess = "resize_and_crop",
        flip: bool = True,
        channels_a: int = 3,
        channels_b: int = 3,
        skip_bad_images: bool = False,
        seed: int = 0,
        size_multiple: int = 4,
    ) -> None:
        super().__init__(
            train=train,
            direction=direction,
            image_size=image_size,
            load_size=load_size,
            preprocess=preprocess,
            flip=flip,
            channels_a=channels_a,
            channels_b=channels_b,
            skip_bad_images=skip_bad_images,
            seed=seed,
            size_multiple=size_multiple,
        )
        self.images = folder if isinstance(folder, ImageList) else scan_images(folder, skip_bad_images)
        for path, (width, height) in zip(self.images.paths, self.images.sizes, strict=True):
            if width % 2:
                raise DatasetError(
                    f"{path} is {width}×{height}: an A|B pair needs an even width (A left half, B right half)"
                )
        self._check_crop_fits(self.images, half_width=True)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: Item) -> dict[str, Any]:
        path, image = self._read(self.images, item_index(item))
        width, height = image.size
        a = to_image(image.crop((0, 0, width // 2, height)), self.channels_a)
        b = to_image(image.crop((width // 2, 0, width, height)), self.channels_b)
        if self.direction == "BtoA":
            a, b = b, a
        with seeded_rng(self.seed, item):
            a, b = self.transform(a, b)
        return {"A": to_model_range(a), "B": to_model_range(b), "A_path": str(path), "B_path": str(path)}


class UnpairedImageDataset(_TranslationDataset):
    """CycleGAN: two unrelated folders. Training pairs A[i % |A|] with a random B (drawn from the
    item's seed); evaluation pairs A[i % |A|] with B[i % |B|], and says which side repeats an image of an
    earlier item (`A_repeat`: i ≥ |A|, `B_repeat`: i ≥ |B|), so that metrics count each image once on
    whichever DDP rank the item lands. Length max(|A|, |B|) either way. With direction BtoA the
    folders swap roles, so "A" is always the generator's input."""

    def __init__(
        self,
        folder_a: str | Path | ImageList,
        folder_b: str | Path | ImageList,
        *,
        train: bool,
        direction: Direction = "AtoB",
        image_size: int = 256,
        load_size: int | None = None,
        preprocess: Preprocess = "resize_and_crop",
        flip: bool = True,
        channels_a: int = 3,
        channels_b: int = 3,
        skip_bad_images: bool = False,
        seed: int = 0,
        size_multiple: int = 4,
    ) -> None:
        super().__init__(
            train=train,
            direction=direction,
            image_size=image_size,
            load_size=load_size,
            preprocess=preprocess,
            flip=flip,
            channels_a=channels_a,
            channels_b=channels_b,
            skip_bad_images=skip_bad_images,
            seed=seed,
            size_multiple=size_multiple,
        )
        images_a, images_b = (
            folder if isinstance(folder, ImageList) else scan_images(folder, skip_bad_images)
            for folder in (folder_a, folder_b)
        )
        for images in (images_a, images_b):
            self._check_crop_fits(images)
        if direction == "BtoA":
            images_a, images_b = images_b, images_a
            channels_a, channels_b = channels_b, channels_a
        self.images_a, self.images_b = images_a, images_b
        self.input_channels, self.target_channels = channels_a, channels_b

    def __len__(self) -> int:
        return max(len(self.images_a), len(self.images_b))

    def __getitem__(self, item: Item) -> dict[str, Any]:
        index = item_index(item)
        with seeded_rng(self.seed, item):
            index_b = int(torch.randint(len(self.images_b), ())) if self.train else index % len(self.images_b)
            path_a, image_a = self._read(self.images_a, index % len(self.images_a))
            path_b, image_b = self._read(self.images_b, index_b)
            a = self.transform(to_image(image_a, self.input_channels))
            b = self.transform(to_image(image_b, self.target_channels))
        item = {"A": to_model_range(a), "B": to_model_range(b), "A_path": str(path_a), "B_path": str(path_b)}
        if not self.train:
            item |= {"A_repeat": index >= len(self.images_a), "B_repeat": index >= len(self.images_b)}
        return item


class ImageFolderDataset(Dataset):
    """Every image of one folder, sorted, resized to image_size × image_size: what the `translate`
    command feeds a generator, keeping each file's path so outputs can reuse its name."""

    def __init__(self, folder: str | Path, image_size: int = 256, channels: int = 3) -> None:
        check_options("AtoB", image_size, None, "resize_and_crop", {"channels": channels})
        self.images = scan_images(folder)
        self.channels = channels
        self.transform = build_transform(False, "resize_and_crop", image_size, image_size, flip=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.images.paths[index]
        image = self.transform(to_image(read_image(path), self.channels))
        return {"image": to_model_range(image), "path": str(path)}
