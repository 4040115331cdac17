"""The shipped MNIST feature network: its file, its inputs, its training CLI, and (when the real MNIST
files are around) its test accuracy and the metrics it gives real digits."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.errors import UserError
from gan_experiments.metrics.classifier import (
    WEIGHTS_PATH,
    MNISTClassifier,
    fit_to_classifier,
    load_mnist_classifier,
    read_record,
    record_path,
    sha256_of,
)
from gan_experiments.metrics.generative import MNISTGANMetrics
from gan_lab.train_classifier import accuracy, main

ROOT = Path(__file__).resolve().parents[1]


def real_mnist_raw() -> Path | None:
    """GAN_EXPERIMENTS_MNIST_RAW, else ../shared/data/MNIST/raw; None unless all four files are there."""
    folder = Path(
        os.environ.get("GAN_EXPERIMENTS_MNIST_RAW") or ROOT.parent / "shared" / "data" / "MNIST" / "raw"
    )
    names = (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
    found = [next((p for p in (folder / n, folder / f"{n}.gz") if p.is_file()), None) for n in names]
    return folder if all(found) else None


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory: pytest.TempPathFactory) -> MNISTDataModule:
    """Real MNIST copied into a tmp dir (the shared folder stays read-only), 28 px, no val split."""
    source = real_mnist_raw()
    if source is None:
        pytest.skip(
            "real MNIST not found (set GAN_EXPERIMENTS_MNIST_RAW to a folder with the four IDX files)"
        )
    root = tmp_path_factory.mktemp("real_mnist")
    shutil.copytree(source, root / "MNIST" / "raw")
    data = MNISTDataModule(str(root), image_size=28, val_size=0, download=False)
    data.prepare_data()
    data.setup()
    return data


# ---------------------------------------------------------------- the shipped file
def test_shipped_weights_match_their_record_and_load_frozen():
    record = read_record()
    assert sha256_of(WEIGHTS_PATH) == record["sha256"]
    assert WEIGHTS_PATH.stat().st_size < 3_000_000
    assert record["test_accuracy"] >= 0.99
    network = load_mnist_classifier()
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())


def test_a_corrupted_copy_is_refused(tmp_path):
    copy = tmp_path / "mnist_classifier.pt"
    shutil.copy(WEIGHTS_PATH, copy)
    shutil.copy(record_path(WEIGHTS_PATH), record_path(copy))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"sha256 .* differs from the recorded"):
        load_mnist_classifier(weights_path=copy)
    record_path(copy).unlink()
    with pytest.raises(UserError, match="missing record"):
        load_mnist_classifier(weights_path=copy)


# ---------------------------------------------------------------- what GANs here produce
def test_padded_rgb_and_odd_sized_images_are_fitted_to_28px_gray():
    network = load_mnist_classifier()
    digits = torch.rand(4, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        features = network.features(digits)
        assert features.shape == (4, MNISTClassifier.num_features)
        padded = F.pad(digits, [2, 2, 2, 2], value=-1.0)
        assert torch.equal(network.features(padded), features)
        assert torch.allclose(network.features(digits.expand(-1, 3, -1, -1)), features)
        assert network(F.interpolate(digits, size=64)).shape == (4, 10)
    uint8 = ((digits + 1) * 127.5).round().to(torch.uint8)
    assert torch.allclose(fit_to_classifier(uint8), digits, atol=1 / 127.5)
    assert fit_to_classifier(torch.zeros(2, 1, 32, 32), resize_mode="resize").shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="expected images"):
        fit_to_classifier(torch.zeros(2, 2, 28, 28))


# ---------------------------------------------------------------- the training CLI
def test_training_cli_writes_weights_and_their_record(fake_mnist_dir, tmp_path, capsys):
    out = tmp_path / "clf.pt"
    args = [
        "--data-dir",
        str(fake_mnist_dir),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--val-size",
        "32",
        "--batch-size",
        "32",
    ]
    assert main([*args, "--min-accuracy", "1.01"]) == 1
    assert not out.exists()
    assert main([*args, "--min-accuracy", "0"]) == 0
    record = json.loads(record_path(out).read_text())
    assert record["sha256"] == sha256_of(out)
    assert record["command"].startswith("python -m gan_lab.train_classifier --data-dir")
    assert {"test_accuracy", "torch_version", "seed"} <= set(record)
    assert "test accuracy" in capsys.readouterr().out
    assert load_mnist_classifier(weights_path=out).num_features == MNISTClassifier.num_features


def test_training_cli_reports_missing_data(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "x.pt")]) == 2
    assert "MNIST files missing" in capsys.readouterr().err


# ---------------------------------------------------------------- real MNIST
@pytest.mark.slow
def test_shipped_classifier_reaches_99_percent_on_the_real_test_set(real_mnist):
    images, labels = real_mnist.splits["test"].tensors
    assert len(images) == 10_000
    assert accuracy(load_mnist_classifier(), images, labels) >= 0.99


@pytest.mark.slow
def test_real_digits_score_near_the_floor_and_a_collapsed_set_does_not(real_mnist):
    test_images, test_labels = real_mnist.splits["test"].tensors
    metrics = MNISTGANMetrics(num_samples=500, kid_subsets=10)
    floor = metrics.floor(real_mnist.splits["train"], test_images[:1000])
    honest = metrics.score_images(test_images[1000:1500], test_labels[1000:1500])
    ones = test_images[test_labels == 1][:500]
    collapsed = metrics.score_images(ones)
    assert honest["label_accuracy"] >= 0.98
    assert honest["digits_under_5pct"] == 0 and honest["coverage_kl"] < 0.05
    assert honest["fid"] < 3 * floor["fid_floor"] + 1e-3
    assert collapsed["fid"] > 20 * floor["fid_floor"]
    assert collapsed["digits_under_5pct"] == 9 and collapsed["is_mean"] < 1.5 < floor["is_real_mean"]
