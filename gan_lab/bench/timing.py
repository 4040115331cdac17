"""Timing one training step: the device-synchronized step clock, peak memory, and the Measurement a run
records."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import torch


@dataclass
class Measurement:
    model: str
    variant: str
    device: str
    batch_size: int
    image_size: int
    steps: int
    ms_per_iter: float
    images_per_s: float
    peak_memory_mib: float
    memory_kind: str  # "cuda allocated" or "process RSS"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process RSS"


class StepClock:
    """Wall time from the start of batch `warmup` to the end of the last batch, device synchronized."""

    def __init__(self, warmup: int, steps: int, device: torch.device) -> None:
        self.warmup, self.steps, self.device = warmup, steps, device
        self.started: float | None = None
        self.seconds: float | None = None

    def batch_start(self, index: int) -> None:
        if index == self.warmup:
            synchronize(self.device)
            reset_peak_memory(self.device)
            self.started = time.perf_counter()

    def batch_end(self, index: int) -> None:
        if index == self.warmup + self.steps - 1:
            synchronize(self.device)
            assert self.started is not None
            self.seconds = time.perf_counter() - self.started


class ClockCallback(pl.Callback):
    def __init__(self, clock: StepClock) -> None:
        self.clock = clock

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.clock.batch_start(batch_idx)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.clock.batch_end(batch_idx)
