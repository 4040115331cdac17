"""Selection on validation, reporting on test: the training callback's metrics (best.ckpt, the quality
bar, sweeps) compare with a validation split, `evaluate` reports on the test split with another noise
seed, and the translation sets hold their validation images out of the training folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONF_DIR
from omegaconf import OmegaConf
from synthetic_images import write_paired_dataset, write_unpaired_dataset

from gan_experiments.callbacks.metrics import GANMetrics
from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.data.mnist_translation import MNISTTranslationDataModule
from gan_experiments.data.translation import PairedImageDataModule, UnpairedImageDataModule
from gan_experiments.errors import ConfigError, DatasetError
from gan_experiments.metrics.run import MetricSettings, NoiseModelMetrics

FAST = {"image_size": 32, "num_workers": 0, "pin_memory": False, "download": False}


def mnist(fake_mnist_dir: Path, val_size: int = 32) -> MNISTDataModule:
    data = MNISTDataModule(str(fake_mnist_dir), image_size=28, val_size=val_size, download=False)
    data.setup("fit")
    return data


def test_mnist_metrics_compare_with_the_split_they_are_given(fake_mnist_dir):
    data = mnist(fake_mnist_dir)
    assert len(data.metric_split("val")) != len(data.metric_split("test"))
    for split in ("val", "test"):
        metrics = NoiseModelMetrics(data, MetricSettings(num_samples=16, batch_size=8, split=split), "cpu")
        assert metrics.metrics.num_reference == len(data.metric_split(split))


def test_the_training_callback_selects_on_validation_and_evaluate_reports_on_test():
    assert GANMetrics().settings.split == "val" and MetricSettings().split == "test"
    callback = OmegaConf.load(CONF_DIR / "callbacks" / "metrics.yaml").metrics
    evaluate = OmegaConf.load(CONF_DIR / "eval.yaml")
    assert callback.split == "val" and evaluate.split == "test"
    assert evaluate.seed != callback.seed  # the reported noise is not the noise best.ckpt was chosen by


def test_no_validation_images_is_one_line(fake_mnist_dir):
    data = mnist(fake_mnist_dir, val_size=0)
    with pytest.raises(ConfigError, match=r"^the metrics compare samples with the val split, which holds 0 "):
        NoiseModelMetrics(data, MetricSettings(num_samples=16, split="val"), "cpu")
    with pytest.raises(ValueError, match=r"^split must be one of val, test, got 'train'$"):
        MetricSettings(split="train")


def names(loader) -> list[str]:
    return sorted(Path(path).name for batch in loader for path in batch["A_path"])


def test_paired_validation_is_held_out_of_train_and_test_is_the_val_folder(tmp_path):
    root = write_paired_dataset(tmp_path / "p", splits={"train": 20, "val": 3})
    data = PairedImageDataModule(root=root, batch_size=1, val_size=5, seed=3, **FAST)
    data.setup("fit")
    train = {Path(p).name for p in data.train_set.images.paths}
    val = names(data.val_dataloader())
    assert len(val) == 2 and len(train) == 18  # at most a tenth of train/
    assert not train & set(val) and all("/train/" in p for b in data.val_dataloader() for p in b["A_path"])
    data.setup("test")
    assert names(data.test_dataloader()) == ["000.jpg", "001.jpg", "002.jpg"]
    again = PairedImageDataModule(root=root, batch_size=1, val_size=5, seed=3, **FAST)
    again.setup("validate")
    assert names(again.val_dataloader()) == val  # seeded: every run of a seed trains on the same rest
    other = PairedImageDataModule(root=root, batch_size=1, val_size=5, seed=4, **FAST)
    other.setup("validate")
    assert names(other.val_dataloader()) != val


def test_unpaired_validation_holds_out_each_domain(tmp_path):
    root = write_unpaired_dataset(tmp_path / "u", 20, 30, 2)
    data = UnpairedImageDataModule(root=root, batch_size=1, **FAST)
    data.setup("fit")
    assert (len(data.train_set.images_a), len(data.train_set.images_b)) == (18, 27)
    assert (len(data.val_set.images_a), len(data.val_set.images_b)) == (2, 3)
    held = {str(p) for p in data.val_set.images_a.paths}
    assert not held & {str(p) for p in data.train_set.images_a.paths}
    data.setup("test")
    assert all("/testA/" in str(p) for p in data.test_set.images_a.paths)


def test_a_named_validation_folder_keeps_every_training_image(tmp_path):
    root = write_paired_dataset(tmp_path / "p", splits={"train": 6, "val": 3})
    data = PairedImageDataModule(root=root, val_split="val", **FAST)
    data.setup("fit")
    assert len(data.train_set) == 6 and len(data.val_set) == 3


def test_one_training_image_cannot_be_split(tmp_path):
    root = write_paired_dataset(tmp_path / "p", splits={"train": 1, "val": 1})
    with pytest.raises(DatasetError, match=r"too few to hold out validation images; set data\.val_split"):
        PairedImageDataModule(root=root, **FAST).setup("fit")


def test_mnist_translation_validates_on_held_out_digits_and_tests_on_test_digits(fake_mnist_dir):
    data = MNISTTranslationDataModule("paired", str(fake_mnist_dir), eval_size=8, val_size=32, download=False)
    data.setup()
    val = next(iter(data.val_dataloader()))
    test = next(iter(data.test_dataloader()))
    digits = data.mnist.splits
    assert (val["A_label"][:8] == digits["val"].tensors[1][:8]).all()
    assert (test["A_label"][:8] == digits["test"].tensors[1][:8]).all()
    assert len(data.train_set) == len(digits["train"]) and len(data.val_set) == len(data.test_set) == 8
