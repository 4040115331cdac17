"""pix2pix and CycleGAN on synthetic folders: training, pools, LR schedule, resume, options."""

from __future__ import annotations

import pytest
import torch
from synthetic_images import write_paired_dataset, write_unpaired_dataset
from tensorboard_events import image_tags, load_events, scalar_tags

from gan_experiments.errors import ConfigError
from gan_experiments.models.image_pool import ImagePool
from gan_experiments.models.schedules import linear_decay, linear_decay_factor
from gan_experiments.train import build, train


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("translation_data")
    return {
        "paired": write_paired_dataset(root / "facades", n_train=8, n_val=3, size=40),
        "unpaired": write_unpaired_dataset(root / "h2z", n_a=5, n_b=7, n_test_a=3, n_test_b=2, size=40),
    }


@pytest.fixture
def translation_config(smoke_config, folders):
    def _make(model: str, *overrides: str, **kwargs):
        layout = "paired" if model == "pix2pix" else "unpaired"
        data = [
            f"data={layout}_folder",
            f"data.root={folders[layout]}",
            "data.download=false",
            "data.batch_size=2",
        ]
        return smoke_config(f"model={model}", *data, *overrides, **kwargs)

    return _make


# ---------------------------------------------------------------- image pool
def test_pool_of_size_zero_passes_images_through():
    images = torch.randn(3, 1, 2, 2)
    assert ImagePool(0).query(images) is images


def test_pool_fills_then_returns_what_it_stored():
    pool = ImagePool(4)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)
    assert len(pool.images) == 3
    pool.query(torch.full((1, 1, 1, 1), 9.0))
    assert len(pool.images) == 4 and sorted(t.item() for t in pool.images) == [0, 1, 2, 9]


def test_full_pool_swaps_about_half_the_time():
    pool = ImagePool(10, seed=3)
    pool.query(-torch.arange(1.0, 11.0).view(10, 1, 1, 1))
    images = torch.arange(400.0).view(400, 1, 1, 1)
    from_history = (pool.query(images) != images).sum().item()
    assert 160 < from_history < 240  # history images come back with probability ½ …
    assert len(pool.images) == 10  # … and the pool never grows


def test_pool_state_round_trip():
    pool = ImagePool(3, seed=1)
    pool.query(torch.randn(5, 1, 2, 2))
    restored = ImagePool(3, seed=99)
    restored.load_state_dict(pool.state_dict())
    batch = torch.randn(6, 1, 2, 2)
    assert torch.equal(pool.query(batch), restored.query(batch))


# ---------------------------------------------------------------- schedule
def test_linear_decay_values_at_epoch_boundaries():
    assert [linear_decay_factor(e, 100, 100) for e in (0, 98, 99)] == [1.0, 1.0, 1.0]
    assert linear_decay_factor(100, 100, 100) == pytest.approx(1 - 1 / 101)
    assert linear_decay_factor(199, 100, 100) == pytest.approx(1 / 101)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    scheduler = linear_decay(opt, n_epochs=2, n_epochs_decay=3)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        scheduler.step()
    assert lrs == pytest.approx([2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4, 0.0])


# ---------------------------------------------------------------- training
def test_pix2pix_trains_checkpoints_and_logs_translations(translation_config, tmp_path):
    train(translation_config("pix2pix", "trainer.limit_train_batches=3"))
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    tags = scalar_tags(tmp_path)
    assert {"loss/d", "loss/g", "loss/g_gan", "loss/g_l1", "loss/d_real", "d/fake", "val/l1"} <= tags
    grid = load_events(tmp_path).Images("translations")[0]
    assert grid.width == 2 + 3 * 34  # input | output | target of 32 px images


def test_cyclegan_trains_and_logs_every_term(translation_config, tmp_path):
    train(translation_config("cyclegan", "trainer.limit_train_batches=3"))
    tags = scalar_tags(tmp_path)
    assert {"loss/g_gan_ab", "loss/g_cycle_a", "loss/g_identity_b", "loss/d_a_real", "loss/d_b_fake"} <= tags
    assert {"val/cycle_l1_a", "val/cycle_l1_b"} <= tags
    assert "translations" in image_tags(tmp_path)
    grid = load_events(tmp_path).Images("translations")[0]
    assert grid.width == 2 + 6 * 34  # real_A | fake_B | rec_A | real_B | fake_A | rec_B


@pytest.mark.parametrize("loss", ["bce", "hinge", "wgan_gp"])
@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_translation_models_take_any_loss(translation_config, tmp_path, model, loss):
    train(translation_config(model, f"loss={loss}", "trainer.limit_train_batches=2"))
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    expected = {"bce": "NonSaturatingLoss", "hinge": "HingeLoss", "wgan_gp": "WassersteinLoss"}[loss]
    assert checkpoint["gan_experiments_config"]["loss"]["_target_"].endswith(expected)
    assert checkpoint["adversarial_state"]["batches_seen"] == 2
    domains = [""] if model == "pix2pix" else ["a_", "b_"]
    terms = ["real", "fake", *(["gp"] if loss == "wgan_gp" else [])]
    expected_tags = {f"loss/d_{domain}{term}" for domain in domains for term in terms}
    assert expected_tags <= scalar_tags(tmp_path)
    events = load_events(tmp_path)
    assert all(torch.isfinite(torch.tensor(e.value)) for tag in expected_tags for e in events.Scalars(tag))


def test_cyclegan_generators_step_before_discriminators(translation_config):
    _, model, _ = build(translation_config("cyclegan"))
    assert model.generator_first and model.pool_a.size == 50


def test_identity_loss_needs_equal_channel_counts(translation_config):
    with pytest.raises(ConfigError, match=r"lambda_identity=0\.5 needs the same channel count"):
        build(translation_config("cyclegan", "data.channels_b=1"))
    _, model, _ = build(translation_config("cyclegan", "data.channels_b=1", "model.lambda_identity=0"))
    assert model.discriminator_b.body[0].in_channels == 1


def test_pix2pix_direction_swaps_channels(translation_config):
    _, model, _ = build(translation_config("pix2pix", "data.channels_a=1", "data.direction=BtoA"))
    assert (model.in_channels, model.out_channels) == (3, 1)
    assert model.discriminator.body[0].in_channels == 4


def test_resume_restores_pools_and_lr_schedule(translation_config, tmp_path):
    schedule = (
        "model.lr_scheduler.n_epochs=1",
        "model.lr_scheduler.n_epochs_decay=3",
        "trainer.limit_train_batches=2",
    )
    train(translation_config("cyclegan", *schedule, "trainer.max_epochs=2", output_dir=tmp_path / "a"))
    last = tmp_path / "a" / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=False)
    assert len(saved["image_pools"]["a"]["images"]) == 8  # 2 epochs × 2 batches × 2 images
    assert saved["lr_schedulers"][0]["last_epoch"] == 2

    datamodule, model, trainer = build(
        translation_config("cyclegan", *schedule, "trainer.max_epochs=3", f"ckpt_path={last}")
    )
    seen = {}
    original = model.on_train_epoch_start

    def capture():
        seen["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        seen["pool"] = [t.clone() for t in model.pool_a.images]
        seen["batches"] = model.batches_seen
        original()

    model.on_train_epoch_start = capture
    trainer.fit(model, datamodule=datamodule, ckpt_path=str(last))
    assert seen["lr"] == pytest.approx(2e-4 * linear_decay_factor(2, 1, 3))
    assert seen["batches"] == 4
    assert all(
        torch.equal(a, b) for a, b in zip(seen["pool"], saved["image_pools"]["a"]["images"], strict=True)
    )
