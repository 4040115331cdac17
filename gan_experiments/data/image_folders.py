"""Image folders for image-to-image translation: listing, loading, transforms and the datasets.

Two on-disk layouts, as in the official pix2pix/CycleGAN repository:

- paired (pix2pix): `<root>/<split>/*.jpg`, each image A | B side by side;
- unpaired (CycleGAN): `<root>/<split>A/` and `<root>/<split>B/`, unrelated images per domain.

Training items are `(epoch, index)` pairs (see `EpochShuffleSampler(with_epoch=True)`): all
randomness of an item (crop, flip, the random B of an unpaired pair) is drawn from a generator seeded
by (seed, epoch, index), so the data a run sees depends neither on worker count nor on resuming.
A plain int index draws from the global RNG instead (any other sampler still gets fresh augmentation).
Evaluation datasets have no randomness at all.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from gan_experiments.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
DIRECTIONS = ("AtoB", "BtoA")
BICUBIC = v2.InterpolationMode.BICUBIC  # the official repository's default
# everything PIL raises for a file it cannot decode (truncated data raises OSError)
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
_SKIP_HINT = "fix or remove it, or set data.skip_bad_images=true"

Layout = Literal["paired", "unpaired"]
Direction = Literal["AtoB", "BtoA"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
Item = int | tuple[int, int]


# ----------------------------------------------------------------------------------------------
# listing and loading


def is_image_file(path: Path) -> bool:
    """Image by extension; hidden files (macOS `._name.jpg` resource forks in zips) are not images."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files directly inside `folder` (or anywhere below it when `recursive`, hidden folders such
    as `.ipynb_checkpoints` left out), sorted by relative path (the order evaluation pairs rely on)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} not found (expected a folder of images)")
    if not recursive:
        return sorted(path for path in folder.iterdir() if is_image_file(path))
    return sorted(
        path
        for path in folder.rglob("*")
        if is_image_file(path) and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_image(path: Path) -> Image.Image:
    """Fully decoded PIL image; a file that cannot be decoded raises DatasetError naming it."""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except _DECODE_ERRORS as error:
        raise DatasetError(f"cannot read image {path}: {_reason(error)}") from error


def to_image(image: Image.Image, channels: int) -> tv_tensors.Image:
    """uint8 (C, H, W) with C = 1 (grayscale) or 3 (RGB), whatever mode the file stores."""
    return tv_tensors.Image(v2.functional.pil_to_tensor(image.convert("L" if channels == 1 else "RGB")))


@dataclass(frozen=True)
class ImageList:
    """The readable images of one folder with their (width, height) from the file header."""

    folder: Path
    paths: list[Path]
    sizes: list[tuple[int, int]]
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.paths)


def scan_images(folder: str | Path, skip_bad_images: bool = False, recursive: bool = False) -> ImageList:
    """List a folder (and its subfolders when `recursive`) and read every header (cheap: no decoding),
    so missing, empty and unreadable input fails in `setup()` with the file named instead of mid-epoch
    inside a worker."""
    folder = Path(folder)
    paths = list_images(folder, recursive)
    if not paths:
        where = " or its subfolders" if recursive else ""
        raise DatasetError(
            f"{folder}{where} has no images (expected files ending in {', '.join(IMAGE_EXTENSIONS)})"
        )
    good: list[Path] = []
    sizes: list[tuple[int, int]] = []
    bad: list[Path] = []
    for path in paths:
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
            good.append(path)
        except _DECODE_ERRORS as error:
            if not skip_bad_images:
                raise DatasetError(f"cannot read image {path}: {_reason(error)}; {_SKIP_HINT}") from error
            bad.append(path)
    if bad:
        log.warning("%s: skipped %d unreadable image(s), first %s", folder, len(bad), bad[0].name)
        if not good:
            raise DatasetError(f"{folder}: all {len(bad)} images are unreadable (first: {bad[0]})")
    return ImageList(folder, good, sizes, skipped=len(bad))


# ----------------------------------------------------------------------------------------------
# layouts


def split_folders(layout: Layout, split: str) -> tuple[str, ...]:
    """Folder names of one split: `train` (paired) or `trainA`, `trainB` (unpaired)."""
    return (split,) if layout == "paired" else (f"{split}A", f"{split}B")


def describe_layout(layout: Layout, folders: Sequence[str]) -> str:
    """Human-readable expected layout for messages, e.g. 'train/ val/ with A|B images side by side'."""
    what = "A|B images side by side" if layout == "paired" else "images"
    return f"{' '.join(f'{folder}/' for folder in folders)} with {what}"


def detect_layout(root: Path) -> Layout | None:
    """Which layout a folder looks like: unpaired when it has an xA/xB pair of folders, paired when
    it has train/, val/ or test/, else None."""
    names = {path.name for path in root.iterdir() if path.is_dir()} if root.is_dir() else set()
    if any(name.endswith("A") and f"{name[:-1]}B" in names for name in names):
        return "unpaired"
    return "paired" if names & {"train", "val", "test"} else None


def layout_problem(root: Path, folders: Sequence[str]) -> str | None:
    """The first required folder that is missing or holds no images, or None when all are usable."""
    for name in folders:
        folder = root / name
        if not folder.is_dir():
            return f"{name}/ is missing"
        if not any(is_image_file(path) for path in folder.iterdir()):
            return f"{name}/ has no images"
    return None


# ----------------------------------------------------------------------------------------------
# options and transforms


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


# ----------------------------------------------------------------------------------------------
# datasets


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
        folder: str | Path,
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
        self.images = scan_images(folder, skip_bad_images)
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
    item's seed); evaluation pairs A[i % |A|] with B[i % |B|]. Length max(|A|, |B|) either way.
    With direction BtoA the folders swap roles, so "A" is always the generator's input."""

    def __init__(
        self,
        folder_a: str | Path,
        folder_b: str | Path,
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
        images_a, images_b = scan_images(folder_a, skip_bad_images), scan_images(folder_b, skip_bad_images)
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
        return {"A": to_model_range(a), "B": to_model_range(b), "A_path": str(path_a), "B_path": str(path_b)}


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
