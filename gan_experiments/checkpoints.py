"""Rebuild a trained model (and its data) from a checkpoint alone: every checkpoint carries the
composed run config (see callbacks.run_config), so no training config is needed afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from lightning.pytorch import LightningDataModule, LightningModule
from omegaconf import DictConfig, OmegaConf

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY
from gan_experiments.errors import UserError


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"ckpt_path={path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise UserError(
            f"ckpt_path={path}: not a readable checkpoint ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(checkpoint, dict) or CHECKPOINT_KEY not in checkpoint:
        raise UserError(f"ckpt_path={path}: not written by gan_experiments.train (no run config inside)")
    return checkpoint


def run_config(checkpoint: dict[str, Any]) -> DictConfig:
    return OmegaConf.create(checkpoint[CHECKPOINT_KEY])


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[LightningModule, DictConfig]:
    """The trained module in eval mode, with non-parameter state (counters, EMA, …) restored."""
    checkpoint = read_checkpoint(path)
    cfg = run_config(checkpoint)
    model = instantiate(cfg.model, _convert_="all")
    model.load_state_dict(checkpoint["state_dict"])
    model.on_load_checkpoint(checkpoint)
    return model.to(device).eval(), cfg


def build_datamodule(cfg: DictConfig, **overrides: Any) -> LightningDataModule:
    """The run's data module, optionally with some arguments replaced (data_dir, batch_size, …)."""
    return instantiate(cfg.data, **overrides)
