"""The generator EMA: a ramped decay, integer buffers kept integral, no host sync, old checkpoints load."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gan_experiments.models.ema import WarmupEMA


def test_decay_ramps_as_one_plus_n_over_ten_plus_n_then_holds():
    network = nn.Linear(1, 1, bias=False)
    averaged = WarmupEMA(network, 0.5)
    expected = None
    for step in range(6):
        with torch.no_grad():
            network.weight.fill_(float(step) + 1)
        averaged.update_parameters(network)
        if step == 0:
            expected = 1.0  # the first update copies
        else:
            rate = min(0.5, (1 + step) / (10 + step))  # n_averaged == step at this update
            expected = rate * expected + (1 - rate) * (step + 1)
        assert averaged.module.weight.item() == pytest.approx(expected, abs=1e-6), step
    assert int(averaged.n_averaged) == 6


def test_matches_averaged_model_with_the_same_decay_rule():
    """The same numbers as torch's AveragedModel given the ramp as its avg_fn (which syncs per step)."""

    def ramped(old, new, n):
        rate = min(0.9, (1 + int(n)) / (10 + int(n)))
        return rate * old + (1 - rate) * new

    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    ours = WarmupEMA(network, 0.9)
    reference = AveragedModel(network, avg_fn=ramped, use_buffers=True)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    for _ in range(30):
        optimizer.zero_grad()
        network(torch.randn(8, 3)).square().mean().backward()
        optimizer.step()
        ours.update_parameters(network)
        reference.update_parameters(network)
    theirs = reference.module.state_dict()
    for name, mine in ours.module.state_dict().items():
        if mine.is_floating_point():
            torch.testing.assert_close(mine, theirs[name], msg=name)


def test_batchnorm_buffers_are_averaged_and_the_counter_stays_integral():
    network = nn.BatchNorm1d(2)
    averaged = WarmupEMA(network, 0.999)
    for _ in range(3):
        network(torch.randn(8, 2) + 5)
        averaged.update_parameters(network)
    assert averaged.module.num_batches_tracked.dtype == torch.int64
    assert 0 < averaged.module.running_mean.mean() < network.running_mean.mean()


def test_update_never_reads_the_counter_on_the_host(monkeypatch):
    """Converting a tensor to a Python bool/int/float is what a host sync is; the update does none."""
    network = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    averaged = WarmupEMA(network, 0.99)
    for name in ("__bool__", "item", "__int__", "__float__"):
        monkeypatch.setattr(torch.Tensor, name, lambda *_, n=name: pytest.fail(f"host read: Tensor.{n}"))
    for _ in range(3):
        averaged.update_parameters(network)


def test_state_dict_keeps_averaged_model_keys():
    """Checkpoints written with torch's AveragedModel (earlier versions of the project) still load."""
    network = nn.Linear(2, 2)
    old = AveragedModel(network, use_buffers=True)
    old.update_parameters(network)
    new = WarmupEMA(nn.Linear(2, 2), 0.999)
    new.load_state_dict(old.state_dict())
    torch.testing.assert_close(new.module.weight, network.weight)
    assert int(new.n_averaged) == 1


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_decay_outside_the_open_unit_interval_is_refused(decay):
    with pytest.raises(ValueError, match="EMA decay must be in"):
        WarmupEMA(nn.Linear(1, 1), decay)
