"""Reading image files: which files count as images, decoding them, and checking a folder up front.

Kept apart from the datasets so that code that only reads images (the `score` command, the
unconditional image-folder DataModule) needs neither the transforms nor the translation datasets, and
every reader reports an undecodable file the same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from gan_experiments.errors import DatasetError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
# everything PIL raises for a file it cannot decode (truncated data raises OSError)
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
_SKIP_HINT = "fix or remove it, or set data.skip_bad_images=true"


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
    return sorted(_images_below(folder))


def _images_below(folder: Path) -> Iterator[Path]:
    """Images anywhere below `folder`, through symlinked subfolders too (a class folder linked from
    another disk), each real folder once (a link back up does not loop); hidden folders left out."""
    seen: set[str] = set()
    for directory, subdirectories, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:
            subdirectories.clear()
            continue
        seen.add(real)
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        yield from (path for path in (Path(directory) / name for name in files) if is_image_file(path))


def decode_failure_reason(error: BaseException) -> str:
    """First line of a decode error's message, or its type name when the message is empty."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_image(path: Path) -> Image.Image:
    """Fully decoded PIL image; a file that cannot be decoded raises DatasetError naming it."""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except DECODE_ERRORS as error:
        raise DatasetError(f"cannot read image {path}: {decode_failure_reason(error)}") from error


#: PIL's one-channel modes with samples wider than 8 bits, and the top of each one's nominal range
WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


def to_8bit(image: Image.Image) -> Image.Image:
    """A one-channel image of a wide mode (`WIDE_MODES`) scaled to 8-bit gray (mode L); any other image
    as it is. PIL's own `convert("L")`/`convert("RGB")` clips these at 255, so a 16-bit photo became a
    white square.

    - 16-bit modes (`I;16`, `I;16B`, …: 16-bit PNG, TIFF): 0…65535 → 0…255 (× 255/65535, rounded), the
      file's own scale, as torchvision's decoders read 16-bit PNGs.
    - `I` (32-bit integers): PIL stores 16-bit samples in it (16-bit PGM/PPM, some TIFFs), so values
      within 0…65535 are scaled as 16 bits. The full 32-bit range would turn every real image black.
    - `F` (32-bit floats, TIFF): floats have no range of their type; [0, 1] is the convention of float
      images (scikit-image, torchvision, OpenCV), so values within it are scaled × 255.
    - An `I` or `F` image with values outside that range (a depth map, a physical quantity) is scaled by
      its own minimum and maximum: its file states no scale, and clipping it would lose the picture.
      Such images are each stretched on their own, so a folder of them is not on one common scale;
      convert them to 8 or 16 bits where levels must compare across images. NaN/Inf read as 0.

    A fixed range is used wherever the file's type gives one (rather than every image's own min–max),
    so that a dark image stays dark: the distribution a GAN learns and FID measures is the data's."""
    top = WIDE_MODES.get(image.mode)
    if top is None:
        return image
    values = np.asarray(image, dtype=np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0 or high > top:  # outside the nominal range: the image's own range
        top = high - low
        values = values - low
    scaled = values * (255.0 / top) if top > 0 else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def to_image(image: Image.Image, channels: int) -> tv_tensors.Image:
    """uint8 (C, H, W) with C = 1 (grayscale) or 3 (RGB), whatever mode the file stores; wide modes
    (16-bit, 32-bit integer, float) scaled to 8 bits first (`to_8bit`), not clipped."""
    image = to_8bit(image)
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
        except DECODE_ERRORS as error:
            if not skip_bad_images:
                raise DatasetError(
                    f"cannot read image {path}: {decode_failure_reason(error)}; {_SKIP_HINT}"
                ) from error
            bad.append(path)
    if bad:
        log.warning("%s: skipped %d unreadable image(s), first %s", folder, len(bad), bad[0].name)
        if not good:
            raise DatasetError(f"{folder}: all {len(bad)} images are unreadable (first: {bad[0]})")
    return ImageList(folder, good, sizes, skipped=len(bad))
