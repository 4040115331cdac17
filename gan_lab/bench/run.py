"""One (model, variant) measurement in this process: the config, the seed, the reference loop or the
Trainer, timed by the step clock."""

from __future__ import annotations

import tempfile
from pathlib import Path

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig

from gan_lab.bench.configs import Sizes, bench_config
from gan_lab.bench.reference import run_reference
from gan_lab.bench.timing import ClockCallback, Measurement, StepClock, peak_memory


def run_trainer(cfg: DictConfig, clock: StepClock) -> None:
    from gan_experiments.train import build

    datamodule, model, trainer = build(cfg)
    trainer.callbacks.append(ClockCallback(clock))
    trainer.fit(model, datamodule=datamodule)


def measure(model: str, variant: str, data_root: Path, sizes: Sizes, device_name: str) -> Measurement:
    device = torch.device(device_name)
    clock = StepClock(sizes.warmup, sizes.steps, device)
    with tempfile.TemporaryDirectory(prefix="gan-bench-") as out:
        cfg = bench_config(model, variant, data_root, sizes, device_name, Path(out))
        pl.seed_everything(0, verbose=False)
        if variant == "reference":
            run_reference(model, cfg, clock)
        else:
            run_trainer(cfg, clock)
    if clock.seconds is None:
        raise RuntimeError(f"{model}/{variant}: fewer than {sizes.batches} batches ran")
    ms = clock.seconds / sizes.steps * 1000
    batch_size = int(cfg.data.batch_size)
    memory, kind = peak_memory(device)
    return Measurement(
        model, variant, device_name, batch_size, int(cfg.data.image_size), sizes.steps, ms,
        batch_size / ms * 1000, memory, kind,
    )  # fmt: skip
