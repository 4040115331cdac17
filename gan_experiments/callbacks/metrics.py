"""Sample quality as numbers next to the losses: `metrics/*` scalars every n validation epochs, the
final values as TensorBoard HParams metrics, and a checkpoint of the best epoch by one of them.

What is computed is `gan_experiments.metrics.run` (shared with `python -m gan_experiments.evaluate`);
docs/evaluation.md says what each number means.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from gan_experiments.errors import ConfigError
from gan_experiments.loggers import log_final_metrics
from gan_experiments.metrics.run import MetricSettings, RunMetrics, Split, metrics_for

PREFIX = "metrics/"
HPARAMS_PREFIX = "hp/"


class GANMetrics(Callback):
    """Computes the run's metrics after every `every_n_epochs`-th validation epoch (and after the last
    epoch), never during the sanity check, and logs them as `metrics/<name>` through `pl_module.log`:
    to every logger and into `trainer.callback_metrics`, where ModelCheckpoint and `optimized_metric`
    find them.

    The numbers compare with the validation split (`split`): they choose `best.ckpt`, meet the quality
    bar and score sweep trials, and `evaluate` then reports on the test split with another noise seed.
    MNIST models are sampled in `on_validation_epoch_end` (`num_samples` samples against the cached
    split); translation models are fed the validation batches Lightning already loads, so under
    DDP each rank measures its shard and the accumulators sync. The MNIST numbers do not sync: every
    rank draws the same seeded samples, and rank 0's dict is broadcast so the ranks agree bit for bit.

    The feature networks and reference statistics live on this callback (built once per fit, never
    saved in checkpoints); with `every_n_epochs` null or 0 nothing is built at all.
    """

    def __init__(
        self,
        every_n_epochs: int | None = 1,
        num_samples: int = 10_000,
        batch_size: int = 500,
        seed: int = 0,
        inception_weights: str | Path | None = None,
        log_hparams: bool = True,
        split: Split = "val",
    ) -> None:
        if every_n_epochs is not None and (not isinstance(every_n_epochs, int) or every_n_epochs < 0):
            raise ConfigError(
                f"callbacks.metrics.every_n_epochs must be an integer >= 0 or null, got {every_n_epochs!r}"
            )
        self.every_n_epochs = every_n_epochs or 0
        try:
            self.settings = MetricSettings(num_samples, batch_size, seed, inception_weights, split)
        except ValueError as error:
            raise ConfigError(f"callbacks.metrics.{error}") from None
        self.log_hparams = log_hparams
        self.run: RunMetrics | None = None
        self.last_scores: dict[str, float] = {}
        self._active = False

    @property
    def enabled(self) -> bool:
        return self.every_n_epochs > 0

    def _due(self, trainer: Trainer) -> bool:
        if not self.enabled or trainer.sanity_checking:
            return False
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and trainer.max_epochs > 0 and epoch >= trainer.max_epochs
        return epoch % self.every_n_epochs == 0 or last

    # ---------------------------------------------------------------- building (outside inference mode)
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.enabled and self.run is None:
            self.run = metrics_for(pl_module, trainer.datamodule, self.settings, pl_module.device)
        self.last_scores = {}

    # ---------------------------------------------------------------- measuring
    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._active = self.run is not None and self._due(trainer)
        if self._active:
            self.run.to(pl_module.device).reset()

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._active and self.run.per_batch:
            self.run.update(pl_module, batch)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._active:
            return
        self._active = False
        scores = self.run.compute(pl_module)
        if not self.run.per_batch:
            scores = trainer.strategy.broadcast(scores, src=0)
        self.last_scores = scores
        # sync_dist: the values already agree across ranks; it only keeps Lightning's epoch-level
        # logging contract under DDP (and costs one all_reduce per key every n epochs)
        pl_module.log_dict(
            {PREFIX + name: float(value) for name, value in scores.items()},
            on_step=False,
            on_epoch=True,
            sync_dist=True,
        )

    # ---------------------------------------------------------------- comparing runs
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """The last values as `hp/<name>`: a sweep compares its jobs side by side in TensorBoard's HParams
        tab (the W&B run summary, MLflow's run table). Per-digit coverage stays out to keep it readable."""
        if not (self.log_hparams and self.last_scores):
            return
        metrics = {
            HPARAMS_PREFIX + name: float(value)
            for name, value in self.last_scores.items()
            if not name.startswith("coverage/")
        }
        step = int(getattr(pl_module, "batches_seen", trainer.global_step))
        for logger in trainer.loggers:
            log_final_metrics(logger, metrics, step)


class BestMetricCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` that waits for its metric instead of failing without it.

    Lightning 2.6 raises MisconfigurationException when `monitor` is missing after a validation run.
    Here the metric may legitimately be absent: the metrics callback switched off, an epoch between
    two measurements (`every_n_epochs` > 1), or an optional metric (Inception FID without weights).
    Such epochs save nothing, with one warning per run; epochs with the metric behave as usual.
    """

    _warned = False

    def _save_topk_checkpoint(self, trainer: Trainer, monitor_candidates: dict[str, torch.Tensor]) -> None:
        if self.monitor is not None and self.monitor not in monitor_candidates:
            if not self._warned and trainer.is_global_zero:
                self._warned = True
                warnings.warn(
                    f"checkpoint '{self.filename}' monitors {self.monitor!r}, which has not been logged "
                    f"(yet); nothing is saved until it is (is callbacks.metrics enabled?)",
                    UserWarning,
                    stacklevel=2,
                )
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)
