"""The training recipes as visible configuration: what each loss brings, what a penalized critic may
not use, the seed assignment's exact network, initialization, and how the D objective is scaled."""

from __future__ import annotations

import pytest
import torch
from conftest import make_config
from torch import nn

from gan_experiments.errors import ConfigError
from gan_experiments.losses import GradientPenalty, LeastSquaresLoss, NonSaturatingLoss, WassersteinLoss
from gan_experiments.networks.conditional import ConditionalDiscriminator
from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator
from gan_experiments.networks.dcgan import DCGANDiscriminator
from gan_experiments.networks.mlp import MLPDiscriminator, MLPGenerator
from gan_experiments.networks.norm import uses_batch_norm
from gan_experiments.networks.patchgan import PatchDiscriminator
from gan_experiments.train import build

NOISE_MODELS = ["gan", "dcgan", "conv_gan", "cgan", "cgan_mlp"]


@pytest.mark.parametrize("model", [*NOISE_MODELS, "pix2pix", "cyclegan"])
def test_wgan_gp_brings_the_papers_optimizer_steps_and_a_per_sample_critic(smoke_config, model):
    cfg = smoke_config(f"model={model}", "loss=wgan_gp")
    assert cfg.model.d_steps == 5
    for name in ("g_optimizer", "d_optimizer"):
        assert cfg.model[name].lr == pytest.approx(1e-4)
        assert list(cfg.model[name].betas) == [0.0, 0.9]
    assert cfg.model.discriminator.norm == "layer"
    if model in ("pix2pix", "cyclegan"):
        return  # their data (folders) is not in this fixture; the config is what is checked here
    _, module, _ = build(cfg)
    assert not uses_batch_norm(module.discriminator_networks())


def test_an_explicit_value_wins_over_the_loss_recipe(smoke_config):
    cfg = smoke_config("loss=wgan_gp", "model.g_optimizer.lr=3e-4", "model.d_steps=2")
    assert cfg.model.g_optimizer.lr == pytest.approx(3e-4)
    assert cfg.model.d_optimizer.lr == pytest.approx(1e-4)
    assert cfg.model.d_steps == 2


def test_other_losses_keep_the_models_optimizer(smoke_config):
    own = smoke_config("model=dcgan").model
    for loss in ("bce", "minimax", "lsgan", "hinge"):
        cfg = smoke_config("model=dcgan", f"loss={loss}")
        for name in ("g_optimizer", "d_optimizer"):
            assert cfg.model[name] == own[name], (loss, name)
        assert cfg.model.d_steps == own.d_steps == 1
        assert cfg.model.discriminator.norm == "batch"


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_batch_norm_in_a_penalized_critic_is_refused_in_one_line(smoke_config, model):
    cfg = smoke_config(f"model={model}", "loss=wgan_gp", "model.discriminator.norm=batch")
    message = r"^loss\.regularizers\.gp penalizes .*BatchNorm.*model\.discriminator\.norm=layer"
    with pytest.raises(ConfigError, match=message):
        build(cfg)


def test_every_discriminator_takes_the_norm_option():
    image = (1, 32, 32)
    critics = {
        "mlp": lambda norm: MLPDiscriminator(image, width=8, norm=norm),
        "dcgan": lambda norm: DCGANDiscriminator(image, width=8, norm=norm),
        "conv_gan": lambda norm: ConvGANDiscriminator(image, width=4, norm=norm),
        "conditional": lambda norm: ConditionalDiscriminator(image, 10, "dcgan", width=8, norm=norm),
        "patch": lambda norm: PatchDiscriminator(2, width=8, norm=norm),
    }
    for name, make in critics.items():
        assert uses_batch_norm([make("batch")]), name
        layer = make("layer")
        assert not uses_batch_norm([layer]), name
        assert any(isinstance(m, (nn.LayerNorm, nn.GroupNorm)) for m in layer.modules()), name
        assert not uses_batch_norm([make("none")]), name
    # layer norm keeps samples independent: one sample's score does not move with the others
    critic = DCGANDiscriminator(image, width=8, norm="layer").eval()
    batch = torch.randn(4, *image)
    alone = critic(batch[:1])
    batch[1:] = torch.randn(3, *image) * 5
    assert torch.allclose(critic(batch)[:1], alone, atol=1e-5)


def test_old_spelling_of_the_dcgan_critic_norm_still_builds():
    assert not uses_batch_norm([DCGANDiscriminator((1, 32, 32), width=8, batch_norm=False)])
    assert uses_batch_norm([DCGANDiscriminator((1, 32, 32), width=8, batch_norm=True)])


def test_the_penalty_is_inside_the_discriminator_weight():
    """pix2pix/CycleGAN halve D's loss as the official code does; the penalty must be halved with it,
    or λ is effectively doubled."""
    loss = WassersteinLoss(regularizers={"gp": GradientPenalty(weight=10.0)})
    critic = nn.Sequential(nn.Flatten(), nn.Linear(8, 1))
    real, fake = torch.randn(3, 2, 2, 2), torch.randn(3, 2, 2, 2)
    generator = torch.Generator().manual_seed(0)
    total, logs = loss.discriminator_objective(critic, real, fake, weight=0.5, generator=generator)
    terms = logs["loss/d_real"] + logs["loss/d_fake"] + logs["loss/d_gp"]
    assert total.item() == pytest.approx(0.5 * terms.item())


def test_discriminator_objective_names_its_terms_per_domain():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    real, fake = torch.randn(2, 1, 2, 2), torch.randn(2, 1, 2, 2)
    _, logs = NonSaturatingLoss().discriminator_objective(critic, real, fake, domain="a")
    assert set(logs) == {"loss/d_a_real", "loss/d_a_fake", "d/a_real", "d/a_fake"}
    _, logs = LeastSquaresLoss().discriminator_objective(critic, real, fake)
    assert set(logs) == {"loss/d_real", "loss/d_fake", "d/real", "d/fake"}


def test_course_assignment_preset_is_the_seed_network(fake_mnist_dir, tmp_path):
    data = [f"data.data_dir={fake_mnist_dir}", "data.download=false", "data.val_size=32"]
    cfg = make_config(["experiment=gan_mnist_assignment", *data], tmp_path)  # not debug=smoke: real widths
    _, module, _ = build(cfg)
    g_linears = [m for m in module.generator.modules() if isinstance(m, nn.Linear)]
    d_linears = [m for m in module.discriminator.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in g_linears] == [(100, 128), (128, 784)]
    assert [(m.in_features, m.out_features) for m in d_linears] == [(784, 128), (128, 1)]
    assert all(m.bias.abs().sum() == 0 for m in g_linears + d_linears)  # zero biases as tf.zeros
    activations = {type(m) for m in [*module.generator.modules(), *module.discriminator.modules()]}
    assert nn.ReLU in activations and nn.LeakyReLU not in activations and nn.Dropout not in activations
    assert not uses_batch_norm([module.generator, module.discriminator])
    assert module.noise == "uniform" and module.generator_ema is None
    assert cfg.model.g_optimizer.lr == pytest.approx(1e-3)
    assert list(cfg.model.g_optimizer.betas) == [0.9, 0.999]
    # Xavier/Glorot normal: weight std ≈ sqrt(2 / (fan_in + fan_out))
    assert g_linears[0].weight.std().item() == pytest.approx((2 / (100 + 128)) ** 0.5, rel=0.1)


def test_mlp_recipe_options_build_the_stabilized_networks():
    g = MLPGenerator(100, (1, 28, 28), width=32, depth=2, negative_slope=0.2, norm="batch")
    d = MLPDiscriminator((1, 28, 28), width=32, depth=2, negative_slope=0.2, dropout=0.3)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 2
    assert sum(isinstance(m, nn.Dropout) for m in d.modules()) == 2
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert g(torch.randn(4, 100)).shape == (4, 1, 28, 28) and d(torch.randn(4, 1, 28, 28)).shape == (4,)
    with pytest.raises(ValueError, match="dropout"):
        MLPDiscriminator((1, 28, 28), dropout=1.0)


def saturated_share(generator: nn.Module, z_dim: int) -> float:
    """Share of output pixels with |tanh| > 0.95 at the first training step (BatchNorm on batch stats)."""
    generator.train()
    with torch.no_grad():
        images = generator(torch.rand(256, z_dim) * 2 - 1)
    return (images.abs() > 0.95).float().mean().item()


def test_conv_gan_generator_starts_unsaturated_with_the_notes_initialization():
    torch.manual_seed(0)
    assert saturated_share(ConvGANGenerator(96, (1, 28, 28), width=32), 96) < 0.05
    torch.manual_seed(0)
    pytorch_default = ConvGANGenerator(96, (1, 28, 28), width=32, init="default")
    assert saturated_share(pytorch_default, 96) > 0.2  # what the notes' init avoids
