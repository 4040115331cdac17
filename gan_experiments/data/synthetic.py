"""Synthetic datasets in the real on-disk formats: MNIST IDX files and pix2pix/CycleGAN folders.

For trying a pipeline offline, for the benchmark (`gan_lab.bench`) and for the tests: the
images are noise over a gradient (every crop and flip changes the pixels) and the fake digits are a
bright bar at a label-dependent place (not MNIST, but learnable).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision.io import write_jpeg, write_png


def random_image(height: int, width: int, channels: int = 3, seed: int = 0) -> Tensor:
    """uint8 (C, H, W) noise over a gradient: no two crops or flips look alike."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randint(0, 160, (channels, height, width), generator=generator)
    ramp = torch.linspace(0, 95, width).round().to(torch.int64)
    return (noise + ramp).to(torch.uint8)


def write_image(path: Path, image: Tensor) -> Path:
    """Write (C, H, W) uint8 as JPEG (quality 95) or PNG (lossless) by the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        write_png(image, str(path))
    else:
        write_jpeg(image, str(path), quality=95)
    return path


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else size


def write_paired_dataset(
    root: Path,
    n_train: int = 4,
    n_val: int = 2,
    size: int | tuple[int, int] = 40,
    channels: int = 3,
    *,
    splits: dict[str, int] | None = None,
    ext: str = ".jpg",
    same_halves: bool = False,
    seed: int = 0,
) -> Path:
    """pix2pix layout: `<root>/<split>/NNN<ext>`, each image A | B with halves of `size` (H, W).

    `splits` replaces the default {"train": n_train, "val": n_val}; `same_halves` makes A == B
    (use ext=".png": JPEG blocks would make the halves differ)."""
    height, width = _hw(size)
    for s, (split, count) in enumerate((splits or {"train": n_train, "val": n_val}).items()):
        for i in range(count):
            a = random_image(height, width, channels, seed=seed * 10_000 + s * 1000 + 2 * i)
            b = (
                a
                if same_halves
                else random_image(height, width, channels, seed=seed * 10_000 + s * 1000 + 2 * i + 1)
            )
            write_image(root / split / f"{i:03d}{ext}", torch.cat([a, b], dim=2))
    return root


def write_unpaired_dataset(
    root: Path,
    n_a: int = 3,
    n_b: int = 5,
    n_test_a: int = 2,
    n_test_b: int = 3,
    size: int | tuple[int, int] = 40,
    channels: int = 3,
    *,
    ext: str = ".jpg",
    seed: int = 0,
) -> Path:
    """CycleGAN layout: `<root>/{trainA,trainB,testA,testB}/`, files named a000…/b000… per domain."""
    height, width = _hw(size)
    counts = {"trainA": n_a, "trainB": n_b, "testA": n_test_a, "testB": n_test_b}
    for s, (folder, count) in enumerate(counts.items()):
        for i in range(count):
            image = random_image(height, width, channels, seed=seed * 10_000 + s * 1000 + i)
            write_image(root / folder / f"{folder[-1].lower()}{i:03d}{ext}", image)
    return root


def write_idx_images(path: Path, images: np.ndarray) -> None:
    """IDX3 as in the MNIST distribution: magic 0x803, count, rows, cols, then uint8 pixels."""
    n, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", 0x803, n, rows, cols) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes())


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28×28 images whose bright square sits at a label-dependent place: not MNIST, but learnable."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, label in enumerate(labels):
        r, c = 2 + (label // 5) * 12, 2 + (label % 5) * 5
        images[i, r : r + 10, c : c + 5] = 255
    return images, labels


def write_fake_mnist(root: Path, n_train: int = 160, n_test: int = 40) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx_images(raw / f"{split}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{split}-labels-idx1-ubyte", labels)
    return root
