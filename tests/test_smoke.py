"""Every model × loss pair trains end to end in debug=smoke on synthetic MNIST-format data."""

from __future__ import annotations

import math

import pytest
import torch
from tensorboard_events import image_tags, load_events, scalar_tags

from gan_experiments.train import train

MODELS = ["gan", "dcgan", "conv_gan", "cgan", "cgan_mlp"]
LOSSES = ["bce", "minimax", "lsgan", "hinge", "wgan_gp"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", MODELS)
def test_model_loss_pair_trains_and_checkpoints(smoke_config, tmp_path, model, loss):
    cfg = smoke_config(f"model={model}", f"loss={loss}", "trainer.limit_train_batches=3")
    train(cfg)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["adversarial_state"]["batches_seen"] == 3
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
    tags = scalar_tags(tmp_path)
    assert {"loss/d", "loss/d_real", "loss/d_fake", "d/real", "d/fake", "lr/g", "lr/d", "val/loss_d"} <= tags
    assert "loss/g" in tags, "the generator must be updated at least once in smoke runs"
    if loss == "wgan_gp":
        assert "loss/d_gp" in tags
    assert "samples" in image_tags(tmp_path)


def test_wgan_gp_defaults_to_five_discriminator_steps(smoke_config, tmp_path):
    cfg = smoke_config("loss=wgan_gp", "trainer.limit_train_batches=6", "trainer.log_every_n_steps=1")
    assert cfg.model.d_steps == 5
    train(cfg)
    events = load_events(tmp_path)
    d_steps = [e.step for e in events.Scalars("loss/d")]
    g_steps = [e.step for e in events.Scalars("loss/g")]
    assert len(d_steps) == 6 and len(g_steps) == 2  # G on batches 0 and 5


def test_model_default_loss_and_command_line_override(smoke_config):
    assert smoke_config("model=lsgan").loss._target_.endswith("LeastSquaresLoss")
    assert smoke_config("model=lsgan", "loss=hinge").loss._target_.endswith("HingeLoss")
    assert smoke_config("model=dcgan").loss._target_.endswith("NonSaturatingLoss")


def test_tensorboard_has_grids_at_step_zero_and_each_epoch_and_hparams(smoke_config, tmp_path):
    cfg = smoke_config("model=cgan", "trainer.max_epochs=2", "callbacks.sample_grid.num_samples=20")
    train(cfg)
    events = load_events(tmp_path)
    grids = events.Images("samples")
    assert [g.step for g in grids] == [0, 2, 4]
    # one row per class: 10 rows of 2 samples for 20 samples of 32 px (+2 px padding per cell)
    assert (grids[0].height, grids[0].width) == (2 + 10 * 34, 2 + 2 * 34)
    pngs = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert pngs == ["samples_step0000000.png", "samples_step0000002.png", "samples_step0000004.png"]
    assert (tmp_path / "tensorboard" / "hparams.yaml").read_text().count("d_steps") >= 1
    assert all(math.isfinite(e.value) for e in events.Scalars("loss/d"))


def test_ema_generator_is_trained_saved_and_used_for_sampling(smoke_config, tmp_path):
    from gan_experiments.checkpoints import load_model

    train(smoke_config("model.ema_decay=0.5", "trainer.limit_train_batches=3"))
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    raw = dict(model.generator.named_parameters())
    averaged = dict(model.generator_ema.module.named_parameters())
    assert raw.keys() == averaged.keys()
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw), "EMA weights trail the raw weights"
    assert int(model.generator_ema.n_averaged) == 3
    z = torch.randn(2, model.z_dim)
    assert torch.equal(model(z), model.generator_ema.module(z))
    assert not any(p.requires_grad for p in model.generator_ema.parameters())


def test_spectral_norm_wraps_every_discriminator_layer(smoke_config):
    from gan_experiments.train import build

    _, model, _ = build(smoke_config("model.d_spectral_norm=true"))
    layers = [m for m in model.discriminator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)


@pytest.mark.parametrize(
    ("experiment", "model_class", "ema"),
    [
        ("dcgan_mnist", "GAN", True),
        ("gan_mnist", "GAN", True),
        ("gan_mnist_assignment", "GAN", False),
        ("conv_gan_mnist", "GAN", True),
        ("cgan_mnist", "ConditionalGAN", True),
    ],
)
def test_mnist_presets_compose_and_train(smoke_config, tmp_path, experiment, model_class, ema):
    """The presets (`make train` runs cgan_mnist) train end to end; debug=smoke only shrinks them."""
    from gan_experiments.checkpoints import load_model

    cfg = smoke_config(f"experiment={experiment}")
    assert cfg.trainer.max_epochs == 1 and cfg.data.image_size == 32
    train(cfg)
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert type(model).__name__ == model_class
    assert (model.generator_ema is not None) == ema
