"""Train one row of the matrix as a user would (the train CLI in its own process), then score its last
checkpoint with the project's metrics and draw its sample grid.

Training runs as `python -m gan_experiments.train <row overrides> …` so that the row's number is the
number of that command line; each row gets a fresh process (no compile caches, thread pools or RNG
state carried over). Per-epoch metrics are off during training, so the whole budget goes to training;
the checkpoint is scored once afterwards with the same code as `evaluate`.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningDataModule, LightningModule
from torchvision.utils import make_grid, save_image

from gan_experiments.callbacks.sample_grid import fixed_grid_inputs
from gan_experiments.checkpoints import build_datamodule, load_model, read_checkpoint
from gan_experiments.data.spec import SpecifiedDataModule
from gan_experiments.metrics.run import MetricSettings, evaluate_model
from gan_experiments.models.base import AdversarialModule
from gan_lab.quality.rows import Row


@dataclass(frozen=True)
class Budget:
    """How long each row trains: wall-clock seconds (`trainer.max_time`), a number of epochs, or the
    preset's own length (`full`)."""

    seconds: float | None = None
    epochs: int | None = None

    @property
    def full(self) -> bool:
        return self.seconds is None and self.epochs is None

    def overrides(self) -> list[str]:
        if self.seconds is not None:
            whole = math.ceil(self.seconds)
            days, rest = divmod(whole, 86_400)
            hours, rest = divmod(rest, 3600)
            minutes, seconds = divmod(rest, 60)
            return [
                f"trainer.max_time={days:02d}:{hours:02d}:{minutes:02d}:{seconds:02d}",
                "trainer.max_epochs=-1",
            ]
        if self.epochs is not None:
            return [f"trainer.max_epochs={self.epochs}"]
        return []

    def scaled(self, factor: float) -> Budget:
        """A time budget `factor` times as long (rows whose steps cost more); other budgets unchanged."""
        return Budget(seconds=self.seconds * factor) if self.seconds is not None else self

    def describe(self) -> str:
        if self.seconds is not None:
            return f"{self.seconds / 60:g} min of training per row (trainer.max_time)"
        if self.epochs is not None:
            return f"{self.epochs} epochs per row"
        return "each preset's full length (its trainer.max_epochs)"


def parse_duration(text: str) -> float:
    """'90s', '5m', '1.5h' or plain seconds → seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    scale = units.get(text[-1:])
    number = text[:-1] if scale else text
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise ValueError(f"--budget: expected a duration such as 90s, 5m or 1.5h, got {text!r}") from None
    if not seconds > 0:
        raise ValueError(f"--budget: expected a positive duration, got {text!r}")
    return seconds


def train_command(row: Row, run_dir: Path, budget: Budget, extra: list[str], cpu: bool) -> list[str]:
    """The train CLI of one row: its overrides, the runner's `extra` ones, the budget, the run dir."""
    return [
        sys.executable, "-m", "gan_experiments.train", *row.command(cpu), *extra, *budget.overrides(),
        f"hydra.run.dir={run_dir}",
    ]  # fmt: skip


def metric_schedule(
    budget: Budget, eval_every: int | None, num_samples: int, has_bar: bool = True
) -> list[str]:
    """When the metrics run during training. The matrix scores each row once afterwards, so the whole
    budget trains (off); full-length runs keep their presets' per-epoch curve; time-to-quality
    measures every `eval_every` batches (all inside the timed window) and stops at the bar. The bar
    (callbacks.quality_bar) is switched on by the MNIST noise experiments only (`has_bar`): the
    translation rows have none to stop at, and run their whole budget."""
    if eval_every:
        return [
            *(["callbacks.quality_bar.stop=true"] if has_bar else []),
            "callbacks.metrics.every_n_epochs=1",
            f"callbacks.metrics.num_samples={num_samples}",
            "trainer.check_val_every_n_epoch=null",
            f"trainer.val_check_interval={eval_every}",
        ]
    # no metrics: nothing for the best-by-FID checkpoint to monitor either
    return [] if budget.full else ["callbacks.metrics.every_n_epochs=0", "callbacks.best_checkpoint=null"]


def shown_command(command: list[str]) -> str:
    """What the table prints: the user's command line, without the runner's own bookkeeping."""
    hidden = (
        "hydra.run.dir=",
        "data.data_dir=",
        "callbacks.progress_bar=",
        "++trainer.enable_progress_bar=",
        "callbacks.metrics.every_n_epochs=0",
        "callbacks.best_checkpoint=null",
        "trainer.accelerator=",
        "ckpt_path=",  # --resume: the row's command continued, not another one
    )
    kept = [part for part in command[3:] if not part.startswith(hidden)]
    return " ".join(["python -m gan_experiments.train", *kept])


def run_training(command: list[str], log_path: Path) -> tuple[float, int]:
    """Run the CLI with its output in a log file; (wall seconds, exit status)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log_path, "w") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    return time.perf_counter() - start, status


def last_lines(path: Path, n: int = 3) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-n:])


def progress_of(checkpoint_path: Path) -> dict[str, Any]:
    checkpoint = read_checkpoint(checkpoint_path)
    return {
        "epochs": int(checkpoint.get("epoch", 0)) + 1,
        "batches": int(checkpoint.get("adversarial_state", {}).get("batches_seen", 0)),
    }


def load(
    checkpoint_path: Path, device: torch.device, data_dir: Path
) -> tuple[LightningModule, LightningDataModule]:
    """The row's trained model (eval mode) and its own data, prepared for evaluation. The data are read
    from this benchmark's `data_dir`, not the one stored in the checkpoint: a resumed row's checkpoint
    may come from a launch with another (e.g. temporary) data directory."""
    model, run = load_model(checkpoint_path, device)
    run.data.data_dir = str(data_dir)
    datamodule = build_datamodule(run)
    datamodule.prepare_data()
    datamodule.setup("validate")
    return model, datamodule


def score(
    model: LightningModule, datamodule: LightningDataModule, settings: MetricSettings, device: torch.device
) -> dict[str, float]:
    """The metrics `evaluate` prints for this checkpoint."""
    return evaluate_model(model, datamodule, settings, device)


def draw_grid(model: AdversarialModule, datamodule: SpecifiedDataModule, out: Path, num: int = 100) -> Path:
    """The model's progress grid: noise models `num` samples (a cGAN one row per digit, as `generate`
    draws them); translation models the grid's columns for the first ten evaluation examples."""
    with torch.no_grad():
        num = 10 if model.grid_source == "examples" else num
        images, columns = model.grid_images(fixed_grid_inputs(model, datamodule, num, seed=0))
    grid = make_grid(images.float().cpu(), nrow=columns, normalize=True, value_range=(-1, 1), pad_value=1.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, out)
    return out
