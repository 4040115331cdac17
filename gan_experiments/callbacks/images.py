"""Writing image grids to every logger of a trainer that stores images, and to PNG files."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Trainer
from torch import Tensor
from torchvision.utils import make_grid, save_image

from gan_experiments.loggers import log_image


def log_grid(trainer: Trainer, tag: str, images: Tensor, nrow: int, step: int, png_dir: str | None) -> None:
    """images in [-1, 1]; the grid goes to every image-storing logger (TensorBoard, W&B, MLflow) under
    `tag` and, if asked, to png_dir."""
    grid = make_grid(
        images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), pad_value=1.0
    )
    for logger in trainer.loggers:
        log_image(logger, tag, grid, step)
    if png_dir:
        folder = Path(png_dir)
        folder.mkdir(parents=True, exist_ok=True)
        save_image(grid, folder / f"{tag.replace('/', '_')}_step{step:07d}.png")
