"""Learning-rate schedules, stepped once per epoch by the module (manual optimization never does)."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def linear_decay_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """1 for the first n_epochs epochs, then linearly towards 0 over n_epochs_decay epochs (0-based
    epoch; the official pix2pix/CycleGAN "linear" policy: 1 − max(0, e + 1 − n) / (n_decay + 1))."""
    return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)


def linear_decay(optimizer: Optimizer, n_epochs: int = 100, n_epochs_decay: int = 100) -> LambdaLR:
    if n_epochs < 0 or n_epochs_decay < 0:
        raise ValueError(f"n_epochs and n_epochs_decay must be >= 0, got {n_epochs}, {n_epochs_decay}")
    return LambdaLR(optimizer, lambda epoch: max(0.0, linear_decay_factor(epoch, n_epochs, n_epochs_decay)))
