"""The MNIST translation tasks (outline → digit, thin ↔ bold) and their digit/style metrics."""

from __future__ import annotations

import pytest
import torch
from tensorboard_events import scalar_tags

from gan_experiments.data.mnist_translation import (
    MNISTTranslationDataModule,
    bold,
    core_ink,
    outline,
)
from gan_experiments.metrics.digit_translation import DigitTranslationMetrics
from gan_experiments.train import build, train


@pytest.fixture
def datamodule(fake_mnist_dir):
    def _make(task: str, **kwargs) -> MNISTTranslationDataModule:
        kwargs = {"val_size": 32, **kwargs}
        dm = MNISTTranslationDataModule(task=task, data_dir=str(fake_mnist_dir), download=False, **kwargs)
        dm.prepare_data()
        dm.setup("fit")
        return dm

    return _make


def digit_strokes() -> torch.Tensor:
    """A 'digit': a vertical bar 3 px wide on a -1 background, (1, 1, 32, 32)."""
    image = torch.full((1, 1, 32, 32), -1.0)
    image[..., 8:24, 14:17] = 1.0
    return image


def test_styles_are_what_their_names_say():
    thin = digit_strokes()
    ink = (thin + 1) / 2
    thick, ring = (bold(thin) + 1) / 2, (outline(thin) + 1) / 2
    assert (thick >= ink).all() and thick.sum() > ink.sum()  # bold covers the strokes and more
    assert (ring * ink).sum() == 0  # the outline is hollow: it never touches the strokes
    assert ring.sum() > 0
    assert core_ink(outline(thin)) < core_ink(thin) < core_ink(bold(thin))


def test_paired_items_show_one_digit_in_both_styles(datamodule):
    dm = datamodule("paired")
    item = dm.train_set[(0, 3)]
    assert item["A_path"] == item["B_path"] and item["A_label"] == item["B_label"]
    assert torch.equal(item["A"], outline(item["B"][None])[0])
    assert item["A"].shape == item["B"].shape == (1, 32, 32)
    assert (dm.in_channels, dm.out_channels, dm.image_shape) == (1, 1, (1, 32, 32))


def test_unpaired_domains_come_from_disjoint_images(datamodule):
    dm = datamodule("unpaired", eval_size=10)
    train_set = dm.train_set
    assert len(train_set.images_a) + len(train_set.images_b) == len(dm.mnist.splits["train"])
    a_rows = {tuple(x.flatten().tolist()) for x in train_set.images_a}
    assert not any(tuple(x.flatten().tolist()) in a_rows for x in train_set.images_b)
    first, again, other_epoch = train_set[(0, 5)], train_set[(0, 5)], train_set[(1, 5)]
    assert first["B_path"] == again["B_path"]  # the random B is a function of (seed, epoch, index)
    assert first["A_path"] == other_epoch["A_path"]
    assert torch.equal(first["B"], bold(train_set.images_b[int(first["B_path"].split("/")[1])][None])[0])
    assert len(dm.val_set) == 10 and dm.val_set[0]["A_path"] != dm.val_set[0]["B_path"]


def test_options_are_checked_in_one_line(fake_mnist_dir):
    with pytest.raises(ValueError, match=r"data\.task"):
        MNISTTranslationDataModule(task="sideways", data_dir=str(fake_mnist_dir))
    with pytest.raises(ValueError, match=r"data\.image_size"):
        MNISTTranslationDataModule(image_size=64, data_dir=str(fake_mnist_dir))


def test_digit_metrics_of_perfect_and_useless_translations(datamodule):
    """Real target-style images as 'translations' score like real images; blank outputs score no
    digit and sit on the wrong side of the style statistic."""
    dm = datamodule("unpaired", eval_size=40)
    batch = next(iter(dm.val_dataloader()))
    metrics = DigitTranslationMetrics()
    reference = DigitTranslationMetrics(metrics.classifier)
    for m in (metrics, reference):
        m.update_real("a", batch["A"])
        m.update_real("b", batch["B"])
    metrics.update_translation("b", bold(batch["A"]), batch["A_label"])
    predicted = metrics.classifier(bold(batch["A"])).argmax(1)
    scores = metrics.compute()
    assert scores["digit_accuracy_b"] == pytest.approx((predicted == batch["A_label"]).float().mean().item())
    assert scores["target_side_b"] == 1.0 and scores["digit_accuracy"] == scores["digit_accuracy_b"]
    assert scores["core_ink_b"] > scores["core_ink_a"]
    midpoint = (scores["core_ink_a"] + scores["core_ink_b"]) / 2
    real_on_side = (core_ink(batch["B"]) > midpoint).float().mean().item()
    assert scores["target_side_real_b"] == pytest.approx(real_on_side)
    reference.update_translation("b", torch.full_like(batch["A"], -1.0), batch["A_label"])
    blank = reference.compute()
    assert blank["target_side_b"] == 0.0 and blank["in_target_range_b"] == 0.0


@pytest.mark.parametrize(("model", "data"), [("pix2pix", "mnist_outlines"), ("cyclegan", "mnist_strokes")])
def test_translation_models_train_and_are_scored_on_the_mnist_tasks(
    smoke_config, fake_mnist_dir, tmp_path, model, data
):
    cfg = smoke_config(
        f"model={model}", f"data={data}", f"data.data_dir={fake_mnist_dir}", "data.download=false",
        "data.eval_size=8", "data.val_size=32", "data.batch_size=4",
    )  # fmt: skip
    _, module, _ = build(cfg)
    assert (module.in_channels, module.out_channels) == (1, 1)
    train(cfg)
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    tags = scalar_tags(tmp_path)
    expected = {"metrics/digit_accuracy", "metrics/core_ink_a", "metrics/core_ink_b"}
    if model == "pix2pix":
        expected |= {"metrics/l1"}
    else:
        expected |= {"metrics/digit_accuracy_a", "metrics/target_side_a"}
    assert expected <= tags
