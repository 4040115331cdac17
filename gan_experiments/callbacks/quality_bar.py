"""When did this run first reach good samples? The bar of docs/results/README.md checked after every
measurement of the metrics callback: FID ≤ 3 × the real-vs-real floor and every digit at 7–13 % of
the samples (and, for a cGAN, label accuracy ≥ 98 %).

The first time it holds, the callback writes `checkpoints/bar.ckpt` and `bar.json` (seconds since the
command started, batches, epoch, the metrics), logs `metrics/seconds_to_bar`, and with `stop=true`
ends the training there. The time includes everything the command did before: imports, data loading,
every training step and every earlier measurement (the metric schedule is inside the timed window).
Runs without those metrics (translation models, metrics off) are left alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

import gan_experiments
from gan_experiments.callbacks.metrics import PREFIX
from gan_experiments.errors import ConfigError


class QualityBar(Callback):
    def __init__(
        self,
        dirpath: str,
        fid_times_floor: float = 3.0,
        digit_share: tuple[float, float] = (0.07, 0.13),
        label_accuracy: float = 0.98,
        stop: bool = False,
    ) -> None:
        low, high = digit_share
        if not fid_times_floor > 0 or not 0 <= low < high <= 1 or not 0 <= label_accuracy <= 1:
            raise ConfigError(
                "callbacks.quality_bar: expected fid_times_floor > 0, 0 <= digit_share[0] < digit_share[1] "
                f"<= 1 and label_accuracy in [0, 1], got {fid_times_floor}, {digit_share}, {label_accuracy}"
            )
        self.dirpath = Path(dirpath)
        self.fid_times_floor, self.digit_share, self.label_accuracy = (
            fid_times_floor,
            (low, high),
            label_accuracy,
        )
        self.stop = stop
        self.reached: dict[str, Any] | None = None

    def met(self, scores: dict[str, float]) -> bool | None:
        """True/False, or None when the scores are not those of an MNIST noise model."""
        if not {"fid", "fid_floor", "coverage_min", "coverage_max"} <= set(scores):
            return None
        low, high = self.digit_share
        ok = scores["fid"] <= self.fid_times_floor * scores["fid_floor"]
        ok = ok and scores["coverage_min"] >= low and scores["coverage_max"] <= high
        if "label_accuracy" in scores:
            ok = ok and scores["label_accuracy"] >= self.label_accuracy
        return ok

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.reached is not None or trainer.sanity_checking:
            return
        scores = {
            name[len(PREFIX) :]: float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith(PREFIX)
        }
        if not self.met(scores):
            return
        seconds = time.time() - gan_experiments.LAUNCHED_AT
        self.reached = {
            "seconds_since_launch": round(seconds, 1),
            "batches": int(getattr(pl_module, "batches_seen", trainer.global_step)),
            "epoch": trainer.current_epoch,
            "metrics": scores,
        }
        trainer.save_checkpoint(self.dirpath / "bar.ckpt", weights_only=False)  # a full, resumable file
        if trainer.is_global_zero:
            (self.dirpath / "bar.json").write_text(json.dumps(self.reached, indent=2) + "\n")
        for logger in trainer.loggers:
            logger.log_metrics({PREFIX + "seconds_to_bar": seconds}, step=self.reached["batches"])
        if self.stop:
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"reached": self.reached}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.reached = state_dict.get("reached")
