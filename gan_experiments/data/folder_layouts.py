"""The on-disk layouts of translation datasets, as in the official pix2pix/CycleGAN repository:

- paired (pix2pix): `<root>/<split>/*.jpg`, each image A | B side by side;
- unpaired (CycleGAN): `<root>/<split>A/` and `<root>/<split>B/`, unrelated images per domain.

Naming, detecting and checking these folders is shared by the translation DataModules and the dataset
downloader, which must agree on the layout without decoding any image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from gan_experiments.data.image_reading import is_image_file

Layout = Literal["paired", "unpaired"]


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
