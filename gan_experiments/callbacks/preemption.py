"""Preemption: a signal saves a checkpoint at the next batch boundary and ends the run; a resumed run
continues with exactly the batches the interrupted one had not trained on yet.

What Lightning 2.6 does on its own, and why this callback exists:

- SIGTERM: Lightning's handler sets `trainer.received_sigterm`; after the current batch the loop raises
  `SIGTERMException` (exit status 0) and nothing is saved unless an `OnExceptionCheckpoint` is set up.
- SIGUSR1 under SLURM (`SLURMEnvironment(auto_requeue=True)`): Lightning saves `hpc_ckpt_N.ckpt` inside
  the signal handler, i.e. anywhere in a training step (between the D and the G update, say), requeues
  the job with `scontrol` and trains on until SLURM kills it.
- submitit (hydra/launcher=slurm) catches SIGUSR2, requeues and calls `sys.exit(-1)` inside its handler,
  again in the middle of a step.

Here a signal only sets a flag. At the end of the current batch (all ranks agree under DDP; in an
epoch's last batch, after the epoch's end: validation, LR schedule, grids) the callback writes
`checkpoints/last.ckpt`, logs one line, lets the handlers installed before it act on SIGUSR1/SIGUSR2
(Lightning's SLURM requeue, submitit's requeue) and ends the run with exit status 128 + the signal
number, as a shell reports a process killed by that signal.

SLURM signals every process of a job step, DataLoader workers included, and a worker that dies of it
makes the training step fail (torch's SIGCHLD check) before any boundary is reached. Workers are forked
from the trainer's process and inherit its handlers, so SIGUSR1/SIGUSR2 get a handler that ignores the
signal in forked processes before the workers start (in `setup`; Lightning's SLURM requeue, which then
does not register itself, is called after the save instead); SIGTERM is Lightning's to install then,
and its handler does not end a worker of a single-process run.

Resuming (`ckpt_path=…/last.ckpt`, or `ckpt_path=last` in the same output directory) continues with
exactly the batches the interrupted run had not trained on: that is `callbacks/exact_resume.py`, part
of every run whatever the callbacks (a checkpoint of an epoch's end needs it too).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from gan_experiments.errors import ConfigError

log = logging.getLogger(__name__)

#: signals after which the previous handler runs too (it requeues the job); SIGTERM only stops
REQUEUE_SIGNALS = {signal.SIGUSR1, signal.SIGUSR2}


def _signal_number(name: str | int) -> signal.Signals:
    if isinstance(name, int):
        return signal.Signals(name)
    try:
        return signal.Signals[name if name.startswith("SIG") else f"SIG{name}"]
    except KeyError:
        raise ConfigError(f"callbacks.preemption.signals: unknown signal {name!r}") from None


class Preemption(Checkpoint):
    """Save `dirpath/filename.ckpt` and stop at the next batch boundary after one of `signals`.

    A `Checkpoint` callback, so Lightning runs its epoch-end hook after the module's (which steps the
    LR schedulers) and after the ModelCheckpoints."""

    def __init__(
        self,
        dirpath: str,
        filename: str = "last",
        signals: Sequence[str | int] = ("SIGTERM", "SIGUSR1", "SIGUSR2"),
        exact_resume: bool | None = None,
    ) -> None:
        """`exact_resume` is accepted for configs written before exact resume moved into every run
        (train.build reads it from there as the top-level `exact_resume`, with a deprecation notice)."""
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self.signals = [_signal_number(s) for s in signals]
        self.received: list[signal.Signals] = []
        self._original: dict[signal.Signals, Any] = {}  # the handlers this callback replaced
        self._active = False
        self._lightning_requeue: signal.Signals | None = None
        self._pid = os.getpid()

    # ---------------------------------------------------------------- signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:
            return  # a DataLoader worker forked from the trainer's process: the trainer decides
        if not self._active:  # a handler kept after its run by someone else: act as the original
            handler = self._original.get(signal.Signals(signum), signal.SIG_DFL)
            signal.signal(signum, handler)
            if callable(handler):
                handler(signum, frame)
            else:
                signal.raise_signal(signum)
            return
        self.received.append(signal.Signals(signum))  # between two bytecodes of a step: only note it

    def _install(self, signals: Sequence[signal.Signals]) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python allows handlers only there; Lightning's own then apply
        self._pid, self._active = os.getpid(), True
        for signum in signals:
            if signal.getsignal(signum) != self._on_signal:
                self._original.setdefault(signum, signal.getsignal(signum))
                signal.signal(signum, self._on_signal)

    def _restore(self, trainer: Trainer) -> None:
        self._active = False
        if threading.current_thread() is not threading.main_thread():
            return
        # Lightning's teardown puts back the handlers it saw when it registered its own, after setup:
        # for SIGUSR1/SIGUSR2 those were ours, which would outlive the run
        seen_by_lightning = trainer._signal_connector._original_handlers
        for signum, handler in self._original.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            if seen_by_lightning.get(signum) == self._on_signal:
                seen_by_lightning[signum] = handler

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        # Lightning's SLURM requeue (hpc checkpoint + scontrol requeue) is registered only if nothing
        # handles its signal yet; ours comes first now, so it is called from here after our save
        environment = trainer._accelerator_connector.cluster_environment
        slurm_requeue = isinstance(environment, SLURMEnvironment) and environment.auto_requeue
        self._lightning_requeue = environment.requeue_signal if slurm_requeue else None
        self.received, self._original = [], {}
        self._install([s for s in self.signals if s in REQUEUE_SIGNALS])  # before workers are forked

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._install(self.signals)  # outermost, after Lightning registered its handlers

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._restore(trainer)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._restore(trainer)

    # ---------------------------------------------------------------- stopping at a boundary
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        if not trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            self._stop_if_signalled(trainer, pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._stop_if_signalled(trainer, pl_module)

    def _stop_if_signalled(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.strategy.reduce_boolean_decision(bool(self.received), all=False):
            return
        received = self.received[0] if self.received else signal.SIGTERM  # only another rank got one
        trainer.save_checkpoint(self.path, weights_only=False)  # full: resumable
        if trainer.is_global_zero:  # to train.log too (Lightning's own logger does not propagate)
            done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
            where = f"epoch {trainer.current_epoch}, {done}/{trainer.num_training_batches} of its batches"
            log.warning(
                "%s: saved %s after batch %s (%s) and stopped; resume with ckpt_path=%s",
                *(received.name, self.path, getattr(pl_module, "batches_seen", "?"), where, self.path),
            )
        self._restore(trainer)
        for signum in dict.fromkeys(s for s in self.received if s in REQUEUE_SIGNALS):
            handler = self._original.get(signum)
            if callable(handler):
                handler(signum, None)  # e.g. submitit: requeue, then exit
            elif signum == self._lightning_requeue:
                trainer._signal_connector._slurm_sigusr_handler_fn(signum, None)
        raise SIGTERMException(128 + int(received))
