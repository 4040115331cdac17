"""The generator EMA: a ramped decay, the same on every device group, integer buffers kept integral."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gan_experiments.models.ema import warmup_ema_multi_avg_fn


def test_decay_ramps_as_one_plus_n_over_ten_plus_n_then_holds():
    network = nn.Linear(1, 1, bias=False)
    averaged = AveragedModel(network, multi_avg_fn=warmup_ema_multi_avg_fn(0.5), use_buffers=True)
    expected = None
    for step in range(6):
        with torch.no_grad():
            network.weight.fill_(float(step))
        averaged.update_parameters(network)
        if step == 0:
            expected = 0.0  # the first update copies
        else:
            rate = min(0.5, (1 + step) / (10 + step))  # n_averaged == step at this update
            expected = rate * expected + (1 - rate) * step
        assert averaged.module.weight.item() == pytest.approx(expected, abs=1e-6), step


def test_batchnorm_buffers_are_averaged_and_the_counter_stays_integral():
    network = nn.BatchNorm1d(2)
    averaged = AveragedModel(network, multi_avg_fn=warmup_ema_multi_avg_fn(0.999), use_buffers=True)
    for _ in range(3):
        network(torch.randn(8, 2) + 5)
        averaged.update_parameters(network)
    assert averaged.module.num_batches_tracked.dtype == torch.int64
    assert 0 < averaged.module.running_mean.mean() < network.running_mean.mean()


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_decay_outside_the_open_unit_interval_is_refused(decay):
    with pytest.raises(ValueError, match="EMA decay must be in"):
        warmup_ema_multi_avg_fn(decay)
