"""Exact resume: a run resumed from any checkpoint (an epoch's end or a preemption's mid-epoch save)
trains on exactly the batches an uninterrupted run would have trained on next.

Part of every training run (`train.build` adds it whatever `callbacks=` holds; `exact_resume=false`
turns it off), because without it Lightning 2.6 repeats and skips data on resume:

- it creates the training iterator before it calls `set_epoch` on the sampler, so with DataLoader
  workers the first resumed epoch is drawn in epoch 0's order (Lightning #21938);
- after a mid-epoch checkpoint it restarts the epoch's DataLoader from its first batch and runs only
  the remaining number of batches: it trains on the first k batches again and never on the last k.

So on resume this sets the restored epoch on the samplers, recreates the iterator and skips the k
batches the interrupted run already trained on (loaded and dropped, not trained on).

Lightning has no public API for the iterator of the running epoch: `fit_loop._data_fetcher` (the
fetcher whose iterator the epoch loop reads) and `fit_loop._combined_loader` (the DataLoaders it
iterates) remain private. The epoch and batch counts come from the public progress trackers.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


def set_sampler_epoch(dataloader: Any, epoch: int) -> None:
    """`set_epoch` on the sampler and the batch sampler's sampler (what Lightning's fit loop does)."""
    samplers = [getattr(dataloader, "sampler", None)]
    samplers.append(getattr(getattr(dataloader, "batch_sampler", None), "sampler", None))
    for sampler in {id(s): s for s in samplers if s is not None}.values():
        if callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)


class ExactResume(Callback):
    """On `on_train_start` of a run started with a checkpoint: the restored epoch's order, and the
    batches of it the checkpoint already trained on skipped."""

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.ckpt_path is not None:
            continue_where_the_checkpoint_stopped(trainer)


def continue_where_the_checkpoint_stopped(trainer: Trainer) -> None:
    fit_loop = trainer.fit_loop
    fetcher, loader = getattr(fit_loop, "_data_fetcher", None), getattr(fit_loop, "_combined_loader", None)
    if fetcher is None or loader is None:
        return
    epoch = fit_loop.epoch_progress.current.processed  # what Lightning passes to set_epoch
    for dataloader in loader.flattened:
        set_sampler_epoch(dataloader, epoch)
    iter(fetcher)  # replaces the iterator Lightning made before set_epoch (#21938)
    if fit_loop.restarted_mid_epoch:
        for _ in range(fit_loop.epoch_loop.batch_progress.current.processed):
            next(fetcher.iterator)  # the batches the interrupted run trained on in this epoch
