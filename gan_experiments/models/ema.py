"""Exponential moving average of generator weights with a warmup of its decay."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


class WarmupEMA(AveragedModel):
    """EMA of a network's parameters and buffers whose decay is min(decay, (1 + n) / (10 + n)) at the
    n-th update; the first update copies.

    With a fixed 0.999 the average still weighs the untrained first weights for ~1000 generator steps
    (over 2 MNIST epochs), so metrics of early epochs read "collapsed" while the raw generator is fine;
    the ramp keeps the average over roughly the last tenth of training until it reaches `decay`.
    `AveragedModel.update_parameters` branches on its `n_averaged` buffer in Python (two host syncs per
    generator step on a GPU); here the branch is a device-side `where`, and the state dict keeps
    AveragedModel's keys (`module.*`, `n_averaged`).
    """

    def __init__(self, network: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        super().__init__(network, use_buffers=True)
        self.decay = float(decay)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        count = self.n_averaged
        ramped = torch.clamp((1 + count) / (10 + count), max=self.decay)
        keep = torch.where(count == 0, torch.zeros_like(ramped), ramped)  # weight of the old average
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [t.detach() for t in (*model.parameters(), *model.buffers())]
        by_dtype: dict[torch.dtype, tuple[list[Tensor], list[Tensor]]] = {}
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                group = by_dtype.setdefault(a.dtype, ([], []))
                group[0].append(a)
                group[1].append(c.to(a.device))
            else:  # integer buffers (BatchNorm's batch counter): rounded toward the newer value
                a.copy_(torch.lerp(a.double(), c.to(a.device).double(), 1 - keep.double()).round())
        for dtype, (olds, news) in by_dtype.items():
            torch._foreach_lerp_(olds, news, (1 - keep).to(dtype))
        self.n_averaged += 1
