"""Synthetic image-translation datasets in the official on-disk layouts, and archives of them as the
official server ships them (pix2pix: `<name>.tar.gz` holding `<name>/train/...`; CycleGAN:
`<name>.zip` holding `<name>/trainA/...`). Small random-noise images: every crop and flip changes
the pixels, so tests can tell transforms apart.

    write_paired_dataset(tmp_path / "edges2shoes", n_train=4, n_val=2, size=40)   # 40×80 A|B JPEGs
    write_unpaired_dataset(tmp_path / "horse2zebra", n_a=3, n_b=5)                # 40×40 JPEGs
    pack_dataset(tmp_path / "edges2shoes", tmp_path / "srv" / "edges2shoes.tar.gz")
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

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


def pack_dataset(dataset_dir: Path, archive: Path, top_level: str | None = None) -> Path:
    """Pack `dataset_dir` into `archive` (.zip or .tar.gz by name) under one top folder, by default
    the dataset folder's name, as the official archives do; top_level="" packs the splits bare."""
    top = dataset_dir.name if top_level is None else top_level
    archive.parent.mkdir(parents=True, exist_ok=True)
    paths = sorted(dataset_dir.rglob("*"))

    def name(path: Path) -> str:
        return str(Path(top) / path.relative_to(dataset_dir)) if top else str(path.relative_to(dataset_dir))

    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            if top:
                zipped.write(dataset_dir, top)
            for path in paths:
                zipped.write(path, name(path))
    else:
        with tarfile.open(archive, "w:gz") as tarred:
            for path in ([dataset_dir] if top else []) + paths:
                tarred.add(path, arcname=top if path == dataset_dir else name(path), recursive=False)
    return archive


def truncate(path: Path, fraction: float = 0.5) -> Path:
    """Keep only the first `fraction` of a file's bytes, as an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
