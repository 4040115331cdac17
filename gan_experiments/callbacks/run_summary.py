"""What a training run tells the user: one line per metrics measurement while it trains, and at its end
a short summary — where the run is, what the headline metrics reached (last and best, with the epoch),
whether and when the quality bar was met, and the commands that use it next.

A declared callback (conf/callbacks/run_summary.yaml, in conf/callbacks/default.yaml) rather than a
fixed part of train.py like exact resume: it changes nothing a run computes or saves but words on the
console, so it follows the other console callbacks (progress bar, model summary): `callbacks=none`
(quick experiments in Python) and `~callbacks.run_summary` drop it, and a sweep can keep its console
to the sweeper's lines.

The values come from `trainer.callback_metrics` (every `metrics/*` the run logged, whoever logged
them), read after each validation. A value Lightning kept from an earlier measurement (the metrics
callback measures every n epochs) is the same tensor object as last time, so only fresh measurements
count. The measurements are part of the callback's checkpoint state, so a resumed run's summary covers
the epochs before the interruption too.

The summary is printed by rank zero only, when `fit` returns (max_epochs or max_steps reached, or
stopped early: max_time, `trainer.should_stop`, the quality bar's `stop`) and when it ends on a signal
(SIGTERM/SIGUSR1/SIGUSR2 through callbacks.preemption, or Lightning's own SIGTERM handling) or Ctrl-C,
which both leave a checkpoint to resume from. A run that raised an error gets no summary: the error
line is the message.
"""

from __future__ import annotations

import logging
import shlex
import signal
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import RichProgressBar, Timer
from lightning.pytorch.utilities.exceptions import SIGTERMException

import gan_experiments
from gan_experiments.callbacks.metrics import PREFIX
from gan_experiments.callbacks.quality_bar import QualityBar
from gan_experiments.metrics.headline import best_index, format_value, headlines_of, measurement_line

log = logging.getLogger("gan_experiments.train")


def row(label: str, text: str) -> str:
    """One indented line of the summary, its labels in one column."""
    return f"  {label:<15}{text}"


def shown_path(path: Path) -> str:
    """`path` relative to the current directory when it lies below it (what the user typed to get
    there), else absolute: the commands of the summary work from where the run was started."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def signal_name(exception: BaseException) -> str:
    """The signal behind a SIGTERMException: callbacks.preemption exits with 128 + its number, Lightning's
    own SIGTERM handling with no code."""
    code = getattr(exception, "code", None)
    try:
        return signal.Signals(code - 128).name if isinstance(code, int) else "SIGTERM"
    except ValueError:
        return f"a signal (exit status {code})"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def train_overrides() -> list[str]:
    """The overrides of the `train` command being run, without its ckpt_path (a resume sets its own)."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return [o for o in overrides if not o.lstrip("+~").startswith("ckpt_path=")]


class RunSummary(Callback):
    """`run_dir`: the run's output directory (what TensorBoard reads); `checkpoint_dir`: where the
    checkpoint callbacks write (default `<run_dir>/checkpoints`); `every_measurement`: also one INFO line
    per metrics measurement."""

    def __init__(
        self, run_dir: str, checkpoint_dir: str | None = None, every_measurement: bool = True
    ) -> None:
        self.run_dir = Path(run_dir)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else self.run_dir / "checkpoints"
        self.every_measurement = every_measurement
        #: one entry per fresh measurement: {"epoch", "batches", "scores": {name without metrics/: value}}
        self.history: list[dict[str, Any]] = []
        self._seen: dict[str, Any] = {}

    # ---------------------------------------------------------------- collecting
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit":  # before a resumed checkpoint restores the history
            self.history, self._seen = [], {}

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        logged = {k: v for k, v in trainer.callback_metrics.items() if k.startswith(PREFIX)}
        fresh = any(self._seen.get(k) is not v for k, v in logged.items())
        self._seen = logged
        if not fresh:
            return
        entry = {
            "epoch": int(trainer.current_epoch),
            "batches": int(getattr(pl_module, "batches_seen", trainer.global_step)),
            "scores": {k[len(PREFIX) :]: float(v) for k, v in logged.items()},
        }
        self.history.append(entry)
        if self.every_measurement and trainer.is_global_zero:
            log.info(
                "epoch %d (%s batches): %s",
                entry["epoch"],
                f"{entry['batches']:,}",
                measurement_line(entry["scores"]),
            )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))

    # ---------------------------------------------------------------- reporting
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.is_global_zero:
            self.report(trainer, pl_module)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if isinstance(exception, (SIGTERMException, KeyboardInterrupt)) and trainer.is_global_zero:
            self.report(trainer, pl_module, exception)

    def report(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException | None = None
    ) -> None:
        """Log the summary below the progress bar: a live rich bar is stopped first (else Lightning's
        teardown draws it again under the summary); stopping it again there draws nothing."""
        progress_bar = trainer.progress_bar_callback
        if isinstance(progress_bar, RichProgressBar) and progress_bar.progress is not None:
            progress_bar.progress.stop()
        log.info("%s", "\n".join(self.summary_lines(trainer, pl_module, exception)))

    def summary_lines(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException | None = None
    ) -> list[str]:
        batches = int(getattr(pl_module, "batches_seen", trainer.global_step))
        since = duration(time.time() - gan_experiments.LAUNCHED_AT)
        lines = [f"{self.ending(trainer, exception)} after {batches:,} batches, {since} since launch"]
        lines.append(row("run directory", shown_path(self.run_dir)))
        lines += self.metric_lines()
        lines += self.bar_lines(trainer)
        lines += self.command_lines(pl_module, interrupted=exception is not None)
        return lines

    def ending(self, trainer: Trainer, exception: BaseException | None) -> str:
        """How the training ended, as the first words of the summary."""
        epoch = trainer.current_epoch
        if isinstance(exception, KeyboardInterrupt):
            return f"Training interrupted (Ctrl-C) in epoch {epoch}"
        if exception is not None:
            return f"Training stopped by {signal_name(exception)} (preemption) in epoch {epoch}"
        epoch = max(epoch - 1, 0)  # fit returned: the epoch loop counted the stopped epoch as done
        max_epochs, max_steps = trainer.max_epochs, trainer.max_steps
        if max_epochs not in (None, -1) and trainer.current_epoch >= max_epochs:
            return f"Training done: max_epochs={max_epochs} reached"
        if max_steps not in (None, -1) and trainer.global_step >= max_steps:
            return f"Training done: max_steps={max_steps} reached"
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        remaining = timer.time_remaining() if timer is not None else None
        if remaining is not None and remaining <= 0:
            return f"Training stopped early: max_time reached in epoch {epoch}"
        bar = self._quality_bar(trainer)
        if bar is not None and bar.stop and bar.reached is not None:
            return f"Training stopped early at the quality bar (callbacks.quality_bar.stop) in epoch {epoch}"
        if trainer.should_stop:
            return f"Training stopped early (trainer.should_stop) in epoch {epoch}"
        return f"Training ended in epoch {epoch}"

    def metric_lines(self) -> list[str]:
        if not self.history:
            return [row("metrics", "none measured (callbacks.metrics off, or no measurement was due)")]
        last = self.history[-1]
        lines = []
        for headline in headlines_of(last["scores"]):
            measured = [e for e in self.history if headline.name in e["scores"]]
            values = [e["scores"][headline.name] for e in measured]
            best = best_index(headline, values) if len(values) > 1 else None
            last_is_best = ", the best" if best == len(values) - 1 else ""
            text = f"last {format_value(headline, values[-1])} (epoch {measured[-1]['epoch']}{last_is_best})"
            if best is not None and not last_is_best:
                text += f", best {format_value(headline, values[best])} (epoch {measured[best]['epoch']})"
            lines.append(row(headline.name, text))
        return lines

    def _quality_bar(self, trainer: Trainer) -> QualityBar | None:
        return next((c for c in trainer.callbacks if isinstance(c, QualityBar)), None)

    def bar_lines(self, trainer: Trainer) -> list[str]:
        """The quality bar's time when it was met; "not met" only where it applies (MNIST noise models
        with their metrics measured)."""
        bar = self._quality_bar(trainer)
        if bar is None:
            return []
        reached = bar.reached
        if reached is not None:
            when = f"{reached['seconds_since_launch']:.0f} s after launch"
            where = f"{reached['batches']:,} batches, epoch {reached['epoch']}"
            return [row("quality bar", f"met {when} ({where}): {shown_path(bar.dirpath / 'bar.ckpt')}")]
        if self.history and bar.met(self.history[-1]["scores"]) is not None:
            return [row("quality bar", "not met")]
        return []

    def checkpoint(self) -> Path | None:
        """best.ckpt where the best-metric checkpoint wrote one, else last.ckpt, else None."""
        for name in ("best.ckpt", "last.ckpt"):
            if (self.checkpoint_dir / name).is_file():
                return self.checkpoint_dir / name
        return None

    def command_lines(self, pl_module: LightningModule, interrupted: bool) -> list[str]:
        lines = []
        checkpoint = self.checkpoint()
        if checkpoint is not None:
            ckpt = shlex.quote(shown_path(checkpoint))
            if getattr(pl_module, "data_layout", "images") == "images":
                lines.append(row("samples", f"python -m gan_experiments.generate ckpt_path={ckpt}"))
            else:
                out = shlex.quote(shown_path(self.run_dir / "translations"))
                command = f"python -m gan_experiments.translate ckpt_path={ckpt} input_dir=IMAGE_DIR"
                lines.append(row("translate", f"{command} output_dir={out}"))
        last = self.checkpoint_dir / "last.ckpt"
        if interrupted and last.is_file():
            command = ["python -m gan_experiments.train", *map(shlex.quote, train_overrides())]
            lines.append(row("resume", f"{' '.join(command)} ckpt_path={shlex.quote(shown_path(last))}"))
        lines.append(row("TensorBoard", f"tensorboard --logdir {shlex.quote(shown_path(self.run_dir))}"))
        return lines
