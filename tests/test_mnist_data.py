"""The MNIST DataModule on synthetic IDX files, the offline message, and real MNIST when present."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import REAL_MNIST_RAW

from gan_experiments.data import mnist
from gan_experiments.data.mnist import RAW_FILES, MNISTDataModule
from gan_experiments.data.synthetic import write_fake_mnist
from gan_experiments.errors import DatasetError


def setup_module_for(data_dir: Path, **kwargs) -> MNISTDataModule:
    dm = MNISTDataModule(str(data_dir), batch_size=16, val_size=32, download=False, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_images_in_minus_one_to_one_with_labels(fake_mnist_dir):
    dm = setup_module_for(fake_mnist_dir)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (16, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1 and images.max() == 1  # 255 → 1
    assert labels.dtype == torch.int64 and labels.min() >= 0 and labels.max() <= 9
    assert dm.image_shape == (1, 28, 28) and dm.num_classes == 10
    assert len(dm.splits["train"]) == 128 and len(dm.splits["val"]) == 32 and len(dm.splits["test"]) == 40


def test_pad_to_32_fills_background_and_keeps_the_digit(fake_mnist_dir):
    native = setup_module_for(fake_mnist_dir).splits["train"].tensors[0]
    padded = setup_module_for(fake_mnist_dir, image_size=32).splits["train"].tensors[0]
    assert padded.shape[-2:] == (32, 32)
    assert torch.equal(padded[..., 2:30, 2:30], native)
    assert (padded[..., :2, :] == -1).all()
    resized = setup_module_for(fake_mnist_dir, image_size=32, resize_mode="resize").splits["train"].tensors[0]
    assert resized.shape[-2:] == (32, 32) and resized.min() >= -1


def test_three_channels_repeat_the_gray_image(fake_mnist_dir):
    images = setup_module_for(fake_mnist_dir, channels=3).splits["val"].tensors[0]
    assert images.shape[1] == 3 and torch.equal(images[:, 0], images[:, 2])


def test_split_is_seeded_and_shuffling_depends_on_the_epoch(fake_mnist_dir):
    a, b = setup_module_for(fake_mnist_dir, seed=1), setup_module_for(fake_mnist_dir, seed=1)
    assert torch.equal(a.splits["val"].tensors[1], b.splits["val"].tensors[1])
    loader = a.train_dataloader()
    first = next(iter(loader))[1]
    loader.sampler.set_epoch(1)
    second = next(iter(loader))[1]
    loader.sampler.set_epoch(0)
    assert torch.equal(next(iter(loader))[1], first) and not torch.equal(first, second)


def test_gzipped_files_are_unpacked(tmp_path, fake_mnist_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        with (
            open(fake_mnist_dir / "MNIST" / "raw" / name, "rb") as src,
            gzip.open(raw / f"{name}.gz", "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
    dm = setup_module_for(tmp_path)
    assert len(dm.splits["test"]) == 40


def test_missing_files_offline_give_one_line_naming_directory_and_files(tmp_path):
    dm = MNISTDataModule(str(tmp_path), download=False)
    with pytest.raises(DatasetError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert all(name in message for name in RAW_FILES)


def no_network(*args, **kwargs):
    raise RuntimeError(
        "Error downloading train-images-idx3-ubyte.gz:\nTried https://…, got:\n<urlopen error>"
    )


def packaged_copy_of(data_dir: Path, into: Path) -> dict[str, str]:
    """A stand-in for the package's MNIST copy: data_dir's files gzipped into `into`; their MD5s."""
    into.mkdir(parents=True)
    sums = {}
    for name in RAW_FILES:
        content = (data_dir / "MNIST" / "raw" / name).read_bytes()
        (into / f"{name}.gz").write_bytes(gzip.compress(content))
        sums[name] = hashlib.md5(content).hexdigest()
    return sums


def test_failed_download_gives_the_same_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr("gan_experiments.data.mnist.MNIST", no_network)
    monkeypatch.setattr(mnist, "PACKAGED_DIR", tmp_path / "no-copy-in-this-install")
    with pytest.raises(DatasetError, match=r"download failed: Error downloading train-images") as error:
        MNISTDataModule(str(tmp_path), download=True).prepare_data()
    assert "\n" not in str(error.value)


def test_without_network_the_packaged_copy_is_verified_and_used(
    tmp_path, monkeypatch, caplog, fake_mnist_dir
):
    sums = packaged_copy_of(fake_mnist_dir, tmp_path / "packaged")
    monkeypatch.setattr(mnist, "PACKAGED_DIR", tmp_path / "packaged")
    monkeypatch.setattr(mnist, "PUBLISHED_MD5", sums)
    monkeypatch.setattr("gan_experiments.data.mnist.MNIST", no_network)
    data = tmp_path / "data"
    with caplog.at_level(logging.INFO):
        MNISTDataModule(str(data), download=True).prepare_data()
    assert (
        "download failed: Error downloading" in caplog.text
        and "copy shipped with gan_experiments" in caplog.text
    )
    monkeypatch.undo()  # reading needs the real torchvision reader
    dm = setup_module_for(data)
    assert len(dm.splits["test"]) == 40


def test_a_packaged_copy_that_does_not_match_its_published_md5_is_not_used(
    tmp_path, monkeypatch, fake_mnist_dir
):
    sums = packaged_copy_of(fake_mnist_dir, tmp_path / "packaged")
    sums["t10k-labels-idx1-ubyte"] = "0" * 32
    monkeypatch.setattr(mnist, "PACKAGED_DIR", tmp_path / "packaged")
    monkeypatch.setattr(mnist, "PUBLISHED_MD5", sums)
    monkeypatch.setattr("gan_experiments.data.mnist.MNIST", no_network)
    with pytest.raises(
        DatasetError, match=r"t10k-labels-idx1-ubyte\.gz, unpacks to MD5 \w+, not the published 0+;"
    ):
        MNISTDataModule(str(tmp_path / "data"), download=True).prepare_data()
    assert not (tmp_path / "data" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()
    assert not list((tmp_path / "data" / "MNIST" / "raw").glob("*.part"))


def test_the_shipped_copy_is_the_published_mnist():
    for name in RAW_FILES:
        with gzip.open(mnist.PACKAGED_DIR / f"{name}.gz", "rb") as file:
            assert hashlib.md5(file.read()).hexdigest() == mnist.PUBLISHED_MD5[name], name


def test_partial_files_are_reported_by_name(tmp_path):
    partial = write_fake_mnist(tmp_path)
    (partial / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match=r"missing in .*: t10k-labels-idx1-ubyte \("):
        MNISTDataModule(str(partial), download=False).prepare_data()


def test_a_truncated_file_names_itself_its_expected_size_and_the_way_out(tmp_path):
    data = write_fake_mnist(tmp_path)
    images = data / "MNIST" / "raw" / "train-images-idx3-ubyte"
    full = images.stat().st_size
    images.write_bytes(images.read_bytes()[: full // 2])
    with pytest.raises(DatasetError) as error:
        setup_module_for(data)
    message = str(error.value)
    assert "\n" not in message and str(images) in message
    assert f"is {full // 2} bytes, expected {full}" in message and "cut short" in message
    assert "delete it and the download runs again" in message


def test_a_file_without_the_idx_magic_is_named(tmp_path):
    data = write_fake_mnist(tmp_path)
    labels = data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(
        DatasetError, match=r"t10k-labels-idx1-ubyte is not an IDX label file .*0x00000801.*delete"
    ):
        setup_module_for(data)


def test_a_damaged_archive_is_named_and_leaves_nothing_unpacked(tmp_path, fake_mnist_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        with (
            open(fake_mnist_dir / "MNIST" / "raw" / name, "rb") as src,
            gzip.open(raw / f"{name}.gz", "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
    packed = raw / "train-images-idx3-ubyte.gz"
    packed.write_bytes(packed.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"archive .*train-images-idx3-ubyte\.gz is damaged .*delete it"):
        setup_module_for(tmp_path)
    assert not (raw / "train-images-idx3-ubyte").exists() and not list(raw.glob("*.part"))


def real_mnist_raw() -> Path | None:
    candidate = Path(os.environ.get("GAN_EXPERIMENTS_MNIST_RAW", REAL_MNIST_RAW))
    return (
        candidate
        if all((candidate / f"{n}.gz").exists() or (candidate / n).exists() for n in RAW_FILES)
        else None
    )


@pytest.mark.skipif(real_mnist_raw() is None, reason="real MNIST files not available")
def test_real_mnist_loads_and_trains_a_few_batches(tmp_path, smoke_config):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for source in real_mnist_raw().iterdir():
        shutil.copy(source, raw / source.name)
    dm = MNISTDataModule(str(tmp_path / "data"), download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [55000, 5000, 10000]
    counts = torch.bincount(dm.splits["test"].tensors[1], minlength=10)
    assert counts.min() > 850  # every digit is there, roughly balanced

    from gan_experiments.train import train

    train(
        smoke_config(f"data.data_dir={tmp_path / 'data'}", "data.val_size=5000", output_dir=tmp_path / "run")
    )
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
