"""Images written as single files: the translations of `translate`, the samples of `generate out_dir=`
(which `score` and other tools read)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor
from torchvision.transforms.v2.functional import to_pil_image

from gan_experiments.atomic import check_output_folder, partial_name


def save_image_file(image: Tensor, path: Path) -> None:
    """[-1, 1] tensor → file in the format of its extension (JPEG at quality 95); one channel stays a
    gray (mode L) image, as MNIST's own files are. Rounded to 8 bits as torchvision's `save_image` does
    (to_pil_image on floats would truncate: every pixel up to a level darker)."""
    levels = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
    pil = to_pil_image(levels)
    options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    pil.save(path, **options)


def write_image_folder(batches: Iterable[Tensor], out_dir: Path, suffix: str = ".png") -> int:
    """Every image of `batches` as `000000.png`, `000001.png`, … in a new folder `out_dir`, written under
    a temporary name beside it and renamed when complete: an interrupted run leaves no folder that a
    later `score` would read as a (smaller) sample. An existing non-empty `out_dir` is refused, so no
    earlier samples are mixed in or lost. Returns the number of files."""
    check_output_folder("out_dir", out_dir, new=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_name(out_dir)
    partial.mkdir()
    count = 0
    try:
        for batch in batches:
            for image in batch:
                save_image_file(image, partial / f"{count:06d}{suffix}")
                count += 1
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        os.replace(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return count
