"""Puts the composed run configuration into every checkpoint, so evaluation, generation and
translation rebuild model and data from the checkpoint alone."""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

CHECKPOINT_KEY = "gan_experiments_config"


class RunConfigInCheckpoint(Callback):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CHECKPOINT_KEY] = self.config
