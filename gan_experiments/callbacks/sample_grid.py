"""Progress grids from fixed inputs, so consecutive grids show the generator learning: G(fixed z)
for noise models, fixed validation examples for translation models. The model declares what a grid
holds (models/base.py: `grid_source`, `grid_inputs`, `grid_images`, `grid_tag`); the examples come
from the data module (`validation_examples`) and are passed in."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from gan_experiments.callbacks.images import log_grid
from gan_experiments.data.spec import SpecifiedDataModule
from gan_experiments.models.base import AdversarialModule


def fixed_grid_inputs(model: AdversarialModule, datamodule: SpecifiedDataModule, num: int, seed: int) -> Any:
    """The inputs of a model's grid: noise drawn from `seed`, or the first `num` validation examples
    (the model's `grid_source`), as this callback and the quality benchmark's grids use them."""
    rng = torch.Generator(device=model.device).manual_seed(seed)
    examples = datamodule.validation_examples(num) if model.grid_source == "examples" else None
    return model.grid_inputs(num, rng, examples)


class SampleGrid(Callback):
    """Logs a grid before training (step 0), every `every_n_epochs` epochs and, optionally, every
    `every_n_batches` batches (the course assignment asks for samples at 0, 10k and 60k iterations)."""

    def __init__(
        self,
        num_samples: int = 64,
        every_n_epochs: int | None = 1,
        every_n_batches: int | None = None,
        png_dir: str | None = None,
        seed: int = 1234,
    ) -> None:
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.every_n_batches = every_n_batches
        self.png_dir = png_dir
        self.seed = seed
        self._inputs: Any = None

    def _fixed_inputs(self, trainer: Trainer, pl_module: AdversarialModule) -> Any:
        if self._inputs is None:
            self._inputs = fixed_grid_inputs(pl_module, trainer.datamodule, self.num_samples, self.seed)
        return self._inputs

    @torch.no_grad()
    def log_samples(self, trainer: Trainer, pl_module: AdversarialModule) -> None:
        if not trainer.is_global_zero:
            return
        inputs = self._fixed_inputs(trainer, pl_module)
        was_training = pl_module.training
        pl_module.eval()
        try:
            images, columns = pl_module.grid_images(inputs)
        finally:
            pl_module.train(was_training)
        log_grid(trainer, pl_module.grid_tag, images, columns, pl_module.batches_seen, self.png_dir)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if pl_module.batches_seen == 0:
            self.log_samples(trainer, pl_module)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        if self.every_n_batches and pl_module.batches_seen % self.every_n_batches == 0:
            self.log_samples(trainer, pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.log_samples(trainer, pl_module)
