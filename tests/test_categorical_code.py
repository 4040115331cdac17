"""InfoGAN's categorical code on the unconditional GANs (`model.categorical_code=K`): the last K entries of
z are a one-hot code, Q (D's network with K outputs) reads it back from G's images, and G and Q learn
together on G's loss."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from gan_experiments.checkpoints import load_model
from gan_experiments.data.spec import DataSpec
from gan_experiments.errors import ConfigError
from gan_experiments.export import noise_targets
from gan_experiments.losses import NonSaturatingLoss
from gan_experiments.models.gan import GAN, Generated, LabeledImages
from gan_experiments.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_experiments.train import build, train


@pytest.mark.parametrize("model_name", ["gan", "dcgan", "lsgan"])
def test_the_code_is_the_one_hot_tail_of_z_and_q_has_one_output_per_value(smoke_config, model_name):
    _, model, _ = build(smoke_config(f"model={model_name}", "model.categorical_code=4"))
    z = model.sample_noise(64, torch.Generator().manual_seed(0))
    tail = z[:, -4:]
    assert z.shape == (64, model.z_dim)
    assert torch.equal(tail.sum(dim=1), torch.ones(64)) and set(tail.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(model.codes_of(z), tail.argmax(dim=1))
    assert model.code_reader(torch.zeros(3, *model.image_shape)).shape == (3, 4)
    assert model.code_reader in model.trained_networks()


def test_grids_and_metric_samples_take_every_code_value_in_turn(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan", "model.categorical_code=4"))
    (z,) = model.sample_inputs(8, torch.Generator().manual_seed(0))
    assert model.codes_of(z).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert model.grid_columns(8) == 2


def test_g_and_q_minimize_the_information_term_and_d_is_unchanged(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan", "model.categorical_code=4", "model.info_weight=0.5"))
    real = torch.rand(6, *model.image_shape) * 2 - 1
    batch = LabeledImages(real, None)
    fakes = model.generate(batch, torch.Generator().manual_seed(1))
    assert isinstance(fakes, Generated) and fakes.codes.shape == (6,)
    loss, logs = model.generator_loss(batch, fakes)
    info = F.cross_entropy(model.code_reader(fakes.images), fakes.codes)
    adversarial = model.loss.g(model.discriminator(fakes.images))
    assert torch.allclose(logs["g/info"], info) and torch.allclose(loss, adversarial + 0.5 * info)
    loss.backward()
    assert all(p.grad is not None for p in model.code_reader.parameters())
    trained_with_g = {id(p) for p in model.generator_parameters()}
    assert {id(p) for p in model.code_reader.parameters()} <= trained_with_g
    assert not {id(p) for p in model.discriminator.parameters()} & trained_with_g


def test_without_a_code_nothing_changes(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan"))
    assert model.code_reader is None and model.codes_of(torch.zeros(2, model.z_dim)) is None
    assert model.generator_loss(LabeledImages(torch.zeros(2, *model.image_shape), None), Generated(
        torch.zeros(2, *model.image_shape)
    ))[1] == {}  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("model=cgan", "model.categorical_code=10"), r"^model\.categorical_code is for unconditional GANs"),
        (
            ("model=dcgan", "model.categorical_code=1"),
            r"^model\.categorical_code must be null or in \[2,",
        ),
        (("model=dcgan", "model.categorical_code=100"), r"^model\.categorical_code must be null or in"),
    ],
)
def test_a_code_the_model_cannot_take_is_one_line(smoke_config, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build(smoke_config(*overrides))


def test_a_coded_model_trains_and_its_checkpoint_samples_by_code(smoke_config, tmp_path):
    train(smoke_config("model=dcgan", "model.categorical_code=4"))
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert model.code_reader is not None and model.categorical_code == 4
    (z,) = model.sample_inputs(4, torch.Generator().manual_seed(0))
    assert model(z).shape == (4, *model.image_shape)
    (target,) = noise_targets(model, ema=True)  # what export writes into the file's metadata
    assert (
        target.extra["categorical_code"] == 4
        and "a one-hot code in the last 4" in target.inputs[0].description["distribution"]
    )
    drawn = target.inputs[0].draw(5, torch.Generator().manual_seed(0))
    assert torch.equal(drawn[:, -4:].sum(dim=1), torch.ones(5))


def test_a_discriminator_network_without_outputs_cannot_be_q():
    def plain_critic(image_shape):  # a network of one's own with no `outputs` option
        return DCGANDiscriminator(image_shape, width=4)

    adam = partial(torch.optim.Adam, lr=1e-3)
    spec = DataSpec("images", (1, 32, 32))
    generator = partial(DCGANGenerator, width=4)
    players = (generator, plain_critic, NonSaturatingLoss(), adam, adam)
    with pytest.raises(ValueError, match=r"needs a discriminator network with an `outputs` option"):
        GAN(*players, data_spec=spec, z_dim=8, categorical_code=4)
    model = GAN(*players, data_spec=spec, z_dim=8)
    assert model.code_reader is None
