"""Exponential moving average of generator weights with a warmup of its decay."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

EMAUpdate = Callable[[Sequence[Tensor], Sequence[Tensor], Tensor], None]


def warmup_ema_multi_avg_fn(decay: float) -> EMAUpdate:
    """An `AveragedModel` update whose decay is min(decay, (1 + n) / (10 + n)) at the n-th average.

    With a fixed 0.999 the average still weighs the untrained first weights for ~1000 generator steps
    (over 2 MNIST epochs), so metrics of early epochs read "collapsed" while the raw generator is fine;
    the ramp keeps the average over roughly the last tenth of training until it reaches `decay`.
    The rate stays a device tensor: no host sync per step.
    """
    if not 0 < decay < 1:
        raise ValueError(f"EMA decay must be in (0, 1), got {decay}")

    @torch.no_grad()
    def update(averaged: Sequence[Tensor], current: Sequence[Tensor], num_averaged: Tensor) -> None:
        rate = torch.clamp((1 + num_averaged) / (10 + num_averaged), max=decay)
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(list(averaged), list(current), (1 - rate).to(averaged[0].dtype))
            return
        for a, c in zip(averaged, current, strict=True):  # integer buffers (BatchNorm's batch counter)
            a.copy_(a * rate + c * (1 - rate))

    return update
