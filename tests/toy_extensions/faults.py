"""A loss that turns NaN on one DDP rank only (tests/test_ddp.py): the NaN guard must stop every rank, not
leave the others waiting in the gradient all-reduce. Named on the command line with
`loss._target_=toy_extensions.faults.NaNOnRankOne` (tests/ on PYTHONPATH, as spawned ranks import it)."""

from __future__ import annotations

import torch.distributed as dist
from torch import Tensor

from gan_experiments.losses import NonSaturatingLoss


class NaNOnRankOne(NonSaturatingLoss):
    """The usual cross-entropy loss, but D's fake term is NaN on rank 1."""

    def fake_term(self, fake_scores: Tensor) -> Tensor:
        term = super().fake_term(fake_scores)
        on_rank_one = dist.is_available() and dist.is_initialized() and dist.get_rank() == 1
        return term * float("nan") if on_rank_one else term
