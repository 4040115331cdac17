"""Puts the composed run configuration and the data's spec into every checkpoint, so evaluation,
generation and translation rebuild model and data from the checkpoint alone."""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from gan_experiments.data.spec import DataSpec

CHECKPOINT_KEY = "gan_experiments_config"
#: the DataSpec the model was built from, as plain types (checkpoints written before it lack the key)
DATA_SPEC_KEY = "data_spec"


class RunConfigInCheckpoint(Callback):
    def __init__(self, config: dict[str, Any], data_spec: DataSpec | None = None) -> None:
        self.config = config
        self.data_spec = data_spec

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CHECKPOINT_KEY] = self.config
        if self.data_spec is not None:
            checkpoint[DATA_SPEC_KEY] = self.data_spec.to_dict()
