"""Pretrained generators in the package: packing a checkpoint (fp16 generator + run config + record),
the sha256 check, `generate pretrained=<name>`, and the generators that ship."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from conftest import make_config

from gan_experiments import pretrained
from gan_experiments.checkpoints import load_model
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.generate import generate
from gan_experiments.metrics.classifier import sha256_of
from gan_experiments.models.gan import GAN
from gan_experiments.train import train
from gan_lab import pretrained as packing


@pytest.fixture(scope="module")
def packed(tmp_path_factory, fake_mnist_dir):
    """A smoke cGAN checkpoint (with EMA) packed as `smoke_cgan` into its own weights folder."""
    root = tmp_path_factory.mktemp("pretrained")
    mnist = shutil.copytree(fake_mnist_dir, root / "mnist")
    overrides = [
        "debug=smoke",
        "model=cgan",
        "model.ema_decay=0.9",
        f"data.data_dir={mnist}",
        "data.val_size=32",
    ]
    train(make_config([*overrides, "data.download=false"], root / "run"))
    checkpoint = root / "run" / "checkpoints" / "last.ckpt"
    command = "gan-train " + " ".join(overrides)
    record = packing.pack(checkpoint, "smoke_cgan", command, mnist, root / "weights", num_samples=200)
    return {"checkpoint": checkpoint, "folder": root / "weights", "record": record}


def test_a_packed_generator_samples_what_the_checkpoints_ema_generator_samples(packed):
    original, _ = load_model(packed["checkpoint"])
    loaded = pretrained.load_pretrained("smoke_cgan", folder=packed["folder"])
    assert isinstance(loaded, GAN) and loaded.generator_ema is None and not loaded.training
    z, labels = torch.randn(6, original.z_dim), torch.arange(6)
    with torch.no_grad():
        expected, got = original(z, labels), loaded(z, labels)
    torch.testing.assert_close(got, expected, atol=2e-2, rtol=0)  # fp16 storage
    stored = torch.load(packed["folder"] / "smoke_cgan.pt", weights_only=True)[pretrained.GENERATOR_KEY]
    assert {value.dtype for value in stored.values() if value.is_floating_point()} == {torch.float16}


def test_the_record_holds_checksum_metrics_and_the_training_command(packed):
    record = json.loads((packed["folder"] / "smoke_cgan.json").read_text())
    assert record == packed["record"]
    assert record["sha256"] == sha256_of(packed["folder"] / "smoke_cgan.pt")
    assert record["trained_by"].startswith("gan-train debug=smoke model=cgan")
    assert {"fid", "coverage_min", "label_accuracy"} <= set(record["metrics"]) & set(record["metrics_fp32"])
    assert record["source"]["checkpoint"] == "last.ckpt" and record["source"]["batches_seen"] > 0
    assert pretrained.available(packed["folder"]) == ["smoke_cgan"]
    assert not list(packed["folder"].glob(".*.part"))


def test_a_changed_file_is_refused_naming_it(packed, tmp_path):
    folder = shutil.copytree(packed["folder"], tmp_path / "weights")
    with open(folder / "smoke_cgan.pt", "ab") as f:
        f.write(b"\0")
    with pytest.raises(UserError, match=r"smoke_cgan\.pt: sha256 .* differs from the recorded .*reinstall"):
        pretrained.load_pretrained("smoke_cgan", folder=folder)
    with pytest.raises(
        ConfigError, match=r"^pretrained=nope: no such pretrained generator \(available: smoke_cgan\)$"
    ):
        pretrained.load_pretrained("nope", folder=folder)


def test_generate_pretrained_writes_a_grid_without_a_checkpoint(packed, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", packed["folder"])
    out = generate(make_config(["pretrained=smoke_cgan", f"out={tmp_path / 'grid.png'}", "num=20"], tmp_path,
                               config_name="generate"))  # fmt: skip
    assert out.is_file()
    for overrides in ([], ["pretrained=smoke_cgan", f"ckpt_path={packed['checkpoint']}"]):
        with pytest.raises(
            ConfigError, match=r"^set ckpt_path=… .* or pretrained=<name> \(one of smoke_cgan\)"
        ):
            generate(make_config(overrides, tmp_path, config_name="generate"))


@pytest.mark.parametrize("name", ["gan_mnist", "dcgan_mnist", "conv_gan_mnist", "cgan_mnist"])
def test_the_shipped_generators_load_and_sample_on_a_fresh_install(name, tmp_path):
    """No training, no download: the weights and records in the package (pip install -e or a wheel)."""
    record = pretrained.read_record(name)
    model = pretrained.load_pretrained(name)
    assert record["trained_by"].startswith("python -m gan_experiments.")
    assert record["metrics"]["fid"] > 0
    g_parameters = sum(p.numel() for p in model.generator.parameters())
    assert record["file_bytes"] < 2 * g_parameters + 300_000  # fp16 G only: no D, no optimizer state
    inputs = model.sample_inputs(4, torch.Generator().manual_seed(0))  # a cGAN rounds up to whole rows
    with torch.no_grad():
        images = model(*inputs)
    assert images.shape[0] == len(inputs[0]) >= 4 and images.min() >= -1 and images.max() <= 1
    assert Path(pretrained.WEIGHTS_DIR / f"{name}.pt").stat().st_size == record["file_bytes"]


def test_packing_a_missing_checkpoint_is_one_line_and_writes_nothing(tmp_path, caplog):
    missing = tmp_path / "none.ckpt"
    with pytest.raises(SystemExit) as stopped, caplog.at_level(logging.ERROR):
        packing.main(
            ["--ckpt", str(missing), "--name", "x", "--trained-by", "t", "--out", str(tmp_path / "out")]
        )
    assert stopped.value.code == 1
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [f"ckpt_path={missing}: no such checkpoint file"]
    assert not (tmp_path / "out").exists()
