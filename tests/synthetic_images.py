"""Archives of synthetic datasets as the official server ships them (pix2pix: `<name>.tar.gz` holding
`<name>/train/...`; CycleGAN: `<name>.zip` holding `<name>/trainA/...`), plus the dataset writers of
`gan_experiments.data.synthetic` under their test-suite names.

    write_paired_dataset(tmp_path / "edges2shoes", n_train=4, n_val=2, size=40)   # 40×80 A|B JPEGs
    write_unpaired_dataset(tmp_path / "horse2zebra", n_a=3, n_b=5)                # 40×40 JPEGs
    pack_dataset(tmp_path / "edges2shoes", tmp_path / "srv" / "edges2shoes.tar.gz")
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import torch

from gan_experiments.data.synthetic import (  # noqa: F401  (re-exported for the tests)
    random_image,
    synthetic_digits,
    write_image,
    write_paired_dataset,
    write_unpaired_dataset,
)


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


def write_digit_folder(
    folder: Path, n: int, seed: int = 0, suffix: str = ".png", channels: int = 1, nested: bool = True
) -> Path:
    """n synthetic 28×28 digits (`synthetic_digits`) as single image files, as a tool saves its samples:
    gray (channels=1) or three equal channels (channels=3, what torchvision's save_image writes); with
    `nested` every tenth image lands in a subfolder."""
    images, _ = synthetic_digits(n, seed)
    for i, image in enumerate(images):
        pixels = torch.from_numpy(image)[None].expand(channels, -1, -1).contiguous()
        name = f"{i:05d}{suffix}"
        write_image(folder / "more" / name if nested and i % 10 == 9 else folder / name, pixels)
    return folder
