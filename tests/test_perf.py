"""The `perf` config group changes how fast the training runs, never what it computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from gan_experiments.checkpoints import load_model
from gan_experiments.config import validate
from gan_experiments.errors import ConfigError, NonFiniteLossError
from gan_experiments.losses import NonSaturatingLoss
from gan_experiments.models.performance import Performance, apply_to_networks, has_instance_norm
from gan_experiments.networks.resnet import ResnetGenerator
from gan_experiments.train import build, train

#: no metrics, sample grids, loggers or validation: only the training computation is compared
QUIET = (
    "callbacks.metrics=null",
    "callbacks.sample_grid=null",
    "callbacks.best_checkpoint=null",
    "trainer.limit_val_batches=0",
    "logger=csv",
)


#: a short dcgan run over two epochs (the second one reshuffled), the reference of the fast paths
DCGAN = ("model=dcgan", "trainer.limit_train_batches=3", "trainer.max_epochs=2")

#: finished runs by overrides; the fake MNIST data is the same for the whole session
_RUNS: dict[tuple[str, ...], tuple[dict[str, torch.Tensor], Any, Path]] = {}


def fit(smoke_config, tmp_path, *overrides: str) -> tuple[dict[str, torch.Tensor], Any, Path]:
    """(weights and buffers, the trained module, its output folder) after a short smoke run."""
    if overrides not in _RUNS:
        output_dir = tmp_path / f"run{len(_RUNS)}"
        cfg = smoke_config(*QUIET, *overrides, output_dir=output_dir)
        datamodule, model, trainer = build(cfg)
        trainer.fit(model, datamodule=datamodule)
        assert model.batches_seen == cfg.trainer.limit_train_batches * cfg.trainer.max_epochs
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        _RUNS[overrides] = (weights, model, output_dir)
    return _RUNS[overrides]


def assert_same_names_and_close(a, b, exact: bool, **tolerances) -> None:
    assert list(a) == list(b)
    for key in a:
        if exact:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], msg=key, **tolerances)


def assert_trained_the_same(start, a, b, share: float = 0.01) -> None:
    """`a` and `b` trained from the same `start`: each weight tensor of `b` is within `share` of the
    distance training moved it in `a`. Elementwise tolerances do not fit Adam: its update is about
    lr·sign(g), so a rounding-level difference in a gradient near zero (another kernel, another memory
    layout) moves that one weight by up to 2·lr, while a different computation moves all of them."""
    assert list(a) == list(b)
    for key in a:
        if not torch.is_floating_point(a[key]):
            assert torch.equal(a[key], b[key]), key
            continue
        moved = (a[key] - start[key]).norm()
        assert moved > 0, f"{key} did not train"
        difference = (a[key] - b[key]).norm()
        assert difference <= share * moved, f"{key}: differs by {difference:.3g}, trained by {moved:.3g}"


# ---------------------------------------------------------------- data on device


def test_device_batches_are_the_dataloader_batches(smoke_config, tmp_path):
    cfg_loader = smoke_config("perf.data_on_device=false")
    cfg_device = smoke_config("perf.data_on_device=true")
    assert cfg_device.data.on_device is True and cfg_loader.data.on_device is False
    datamodule_loader, _, _ = build(cfg_loader)
    datamodule_device, _, _ = build(cfg_device)
    for datamodule in (datamodule_loader, datamodule_device):
        datamodule.setup("fit")
    loader, device_batches = datamodule_loader.train_dataloader(), datamodule_device.train_dataloader()
    assert type(loader).__name__ == "DataLoader" and type(device_batches).__name__ == "DeviceBatches"
    assert len(loader) == len(device_batches) > 2
    epochs = []
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        device_batches.sampler.set_epoch(epoch)
        expected, got = list(loader), list(device_batches)
        assert len(expected) == len(got)
        for (images, labels), (d_images, d_labels) in zip(expected, got, strict=True):
            assert torch.equal(images, d_images) and torch.equal(labels, d_labels)
            assert images.dtype == d_images.dtype and labels.dtype == d_labels.dtype
        epochs.append(torch.cat([labels for _, labels in got]))
    assert not torch.equal(epochs[0], epochs[1]), "each epoch must be reshuffled"


def test_training_on_device_data_ends_with_identical_weights(smoke_config, tmp_path):
    plain, _, _ = fit(smoke_config, tmp_path, *DCGAN)
    fast, model, _ = fit(smoke_config, tmp_path, *DCGAN, "perf.data_on_device=true")
    assert type(model.trainer.train_dataloader).__name__ == "DeviceBatches"
    start = build(smoke_config(*QUIET, *DCGAN))[1].state_dict()
    assert any(not torch.equal(start[k], plain[k]) for k in plain), "the run must have trained"
    assert_same_names_and_close(plain, fast, exact=True)


# ---------------------------------------------------------------- fused optimizers, channels_last


def conv_weights(network: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def test_fused_optimizers_and_channels_last_train_the_same(smoke_config, tmp_path):
    plain, _, _ = fit(smoke_config, tmp_path, *DCGAN)
    fast, model, _ = fit(
        smoke_config, tmp_path, *DCGAN, "perf.fused_optimizers=true", "perf.channels_last=true"
    )
    assert all(opt.optimizer.defaults.get("fused") for opt in model.optimizers())
    for network in model.trained_networks():
        assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(network))
    start = build(smoke_config(*QUIET, *DCGAN))[1].state_dict()
    assert_trained_the_same(start, plain, fast)


def test_fused_option_reaches_the_optimizers(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan", "perf.fused_optimizers=true"))
    assert all(opt.defaults.get("fused") for opt in model.configure_optimizers())
    _, model, _ = build(smoke_config("model=dcgan"))
    assert not any(opt.defaults.get("fused") for opt in model.configure_optimizers())


def test_channels_last_skips_networks_with_instance_norm(smoke_config):
    perf = Performance(channels_last=True)
    resnet = ResnetGenerator(in_channels=3, out_channels=3, width=8, n_blocks=1, norm="instance")
    _, dcgan, _ = build(smoke_config("model=dcgan"))
    assert has_instance_norm(resnet) and not any(has_instance_norm(n) for n in dcgan.trained_networks())
    apply_to_networks([resnet, *dcgan.trained_networks()], perf, torch.device("cpu"))

    assert conv_weights(resnet) and all(w.is_contiguous() for w in conv_weights(resnet))
    for network in dcgan.trained_networks():
        weights = conv_weights(network)
        assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
        assert not all(w.is_contiguous() for w in weights)


# ---------------------------------------------------------------- compile


def test_compiled_training_matches_eager_and_checkpoints_load_eagerly(smoke_config, tmp_path):
    common = ("model=gan", "trainer.limit_train_batches=3", "trainer.max_epochs=1")
    eager, _, _ = fit(smoke_config, tmp_path, *common)
    compiled, model, output_dir = fit(smoke_config, tmp_path, *common, "perf.compile=true")
    assert all(n._compiled_call_impl is not None for n in model.trained_networks()), "was not compiled"
    assert not any("_orig_mod" in key for key in compiled)
    assert_trained_the_same(build(smoke_config(*QUIET, *common))[1].state_dict(), eager, compiled)

    loaded_model, cfg = load_model(output_dir / "checkpoints" / "last.ckpt")
    assert cfg.perf.compile is True
    assert loaded_model.performance == Performance(), "a loaded model is a plain eager model"
    assert all(n._compiled_call_impl is None for n in loaded_model.trained_networks())
    loaded = loaded_model.state_dict()
    assert list(loaded) == list(eager)
    assert_same_names_and_close(loaded, compiled, exact=True)


# ---------------------------------------------------------------- windowed NaN guard


def test_windowed_nan_guard_names_the_window_and_keeps_the_last_good_checkpoint(
    smoke_config, tmp_path, monkeypatch
):
    common = (*QUIET, "trainer.limit_train_batches=3", "perf.finite_check_every_n=3")
    train(smoke_config(*common, "trainer.max_epochs=1"))
    last = tmp_path / "checkpoints" / "last.ckpt"
    good_bytes = last.read_bytes()
    assert torch.load(last, weights_only=False)["adversarial_state"]["batches_seen"] == 3

    calls = {"n": 0}
    original = NonSaturatingLoss.fake_term

    def d_fake_turning_nan(self, logits):
        calls["n"] += 1
        value = original(self, logits)
        return value * float("nan") if calls["n"] == 2 else value  # batch 4: the middle of 3…5

    monkeypatch.setattr(NonSaturatingLoss, "fake_term", d_fake_turning_nan)
    with pytest.raises(NonFiniteLossError) as error:
        train(smoke_config(*common, "trainer.max_epochs=2", f"ckpt_path={last}"))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("training stopped: loss/d")
    assert "became NaN/Inf between batch 3 and 5 (epoch 1; perf.finite_check_every_n=3)" in message
    assert calls["n"] == 3, "the window runs to its end before the one sync that reads it"
    assert last.read_bytes() == good_bytes


def test_windowed_nan_guard_refuses_a_checkpoint_inside_a_window(smoke_config, tmp_path, monkeypatch):
    """An epoch ends (and last.ckpt is written) before the window is read: the save reads it first."""
    common = (*QUIET, "trainer.limit_train_batches=2", "perf.finite_check_every_n=3")
    train(smoke_config(*common, "trainer.max_epochs=1"))
    last = tmp_path / "checkpoints" / "last.ckpt"
    good_bytes = last.read_bytes()

    original = NonSaturatingLoss.fake_term
    calls = {"n": 0}

    def d_fake_turning_nan(self, logits):
        calls["n"] += 1
        value = original(self, logits)
        return value * float("nan") if calls["n"] == 2 else value  # batch 3, before the window ends at 5

    monkeypatch.setattr(NonSaturatingLoss, "fake_term", d_fake_turning_nan)
    with pytest.raises(NonFiniteLossError, match=r"became NaN/Inf between batch 3 and 3 \(epoch 1"):
        train(smoke_config(*common, "trainer.max_epochs=2", f"ckpt_path={last}"))
    assert last.read_bytes() == good_bytes


# ---------------------------------------------------------------- the config group


@pytest.mark.parametrize("model", ["gan", "dcgan", "lsgan", "cgan", "cgan_mlp", "pix2pix", "cyclegan"])
def test_perf_fast_composes_for_every_model(smoke_config, model, tmp_path):
    data = {"pix2pix": ["data=paired_folder"], "cyclegan": ["data=unpaired_folder"]}.get(model, [])
    data += [f"data.root={tmp_path}"] if data else []
    cfg = smoke_config(f"model={model}", *data, "perf=fast")
    validate(cfg)
    assert Performance.from_config(cfg.perf) == Performance(
        fused_optimizers=True, channels_last=True, compile=True, compile_mode=None, finite_check_every_n=100
    )
    assert cfg.perf.data_on_device is True
    if not data:
        assert cfg.data.on_device is True
    assert Performance.from_config(smoke_config(f"model={model}", *data).perf) == Performance()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("perf.finite_check_every_n=0", r"^perf\.finite_check_every_n must be an integer >= 1, got 0$"),
        ("perf.finite_check_every_n=2.5", r"^perf\.finite_check_every_n must be an integer >= 1, got 2\.5$"),
        ("perf.compile=yes", r"^perf\.compile must be true or false, got 'yes'$"),
        ("perf.channels_last=1", r"^perf\.channels_last must be true or false, got 1$"),
        ("perf.compile_mode=fastest", r"^perf\.compile_mode must be null or one of .*got 'fastest'$"),
    ],
)
def test_bad_perf_values_are_refused(smoke_config, override, message):
    with pytest.raises(ConfigError, match=message):
        build(smoke_config(override))
