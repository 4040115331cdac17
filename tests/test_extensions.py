"""The noise GAN's research extras, reached through its declared extension points (models/extensions.py):
top-k training (`extension=[top_k]`, Sinha et al. 2020) and InfoGAN's categorical code
(`extension=[categorical_code]`)."""

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
from gan_experiments.models.extensions import CategoricalCode
from gan_experiments.models.gan import GAN, Generated, LabeledImages
from gan_experiments.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_experiments.train import build, train

TOP_K = ("extension=[top_k]", "model.extensions.top_k.decay=0.5")
CODE = ("extension=[categorical_code]", "model.extensions.categorical_code.values=4")


def at_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    monkeypatch.setattr(GAN, "current_epoch", property(lambda self: epoch))


def generated(images: torch.Tensor, model: GAN) -> Generated:
    return Generated(images, torch.zeros(len(images), model.z_dim))


# ---------------------------------------------------------------- top-k
@pytest.mark.parametrize(("epoch", "share"), [(0, 1.0), (1, 0.5), (2, 0.25), (5, 0.25)])
def test_the_top_k_share_decays_per_epoch_to_its_floor(smoke_config, epoch, share):
    _, model, _ = build(smoke_config("model=dcgan", *TOP_K, "model.extensions.top_k.min_share=0.25"))
    assert model.extensions["top_k"].share(epoch) == share


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan_gp"])
def test_g_learns_only_from_the_fakes_the_critic_rates_most_real(smoke_config, monkeypatch, loss):
    # a critic without BatchNorm: each score depends on its own image only
    _, model, _ = build(smoke_config("model=dcgan", f"loss={loss}", "model.discriminator.norm=none", *TOP_K))
    at_epoch(monkeypatch, 1)  # half the batch
    images = (torch.rand(8, *model.image_shape) * 2 - 1).requires_grad_(True)
    batch = LabeledImages(torch.zeros_like(images), None)
    loss_value, logs = model.generator_loss(batch, generated(images, model))
    scores = model.discriminator(images).detach().flatten()
    best = scores.argsort(descending=True)[:4]
    assert torch.allclose(loss_value, model.loss.generator_term(model.discriminator(images[best])))
    assert logs["g/top_k"].item() == 0.5
    loss_value.backward()
    per_image = images.grad.flatten(1).abs().sum(dim=1)
    worst = scores.argsort(descending=True)[4:]
    assert torch.all(per_image[worst] == 0) and torch.all(per_image[best] > 0)


def test_the_conditional_gan_ranks_with_its_labels(smoke_config, monkeypatch):
    _, model, _ = build(smoke_config("model=cgan", *TOP_K, "model.discriminator.norm=none"))
    at_epoch(monkeypatch, 3)  # 0.125 → the default floor of one half
    images = torch.rand(6, *model.image_shape) * 2 - 1
    labels = torch.arange(6) % 3
    loss_value, logs = model.generator_loss(LabeledImages(images, labels), generated(images, model))
    scores = model.discriminator(images, labels).flatten()
    assert torch.allclose(loss_value, model.loss.generator_term(scores.sort(descending=True).values[:3]))
    assert logs["g/top_k"].item() == 0.5


def test_no_extension_by_default(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan"))
    assert len(model.extensions) == 0
    images = torch.rand(4, *model.image_shape)
    loss_value, logs = model.generator_loss(LabeledImages(images, None), generated(images, model))
    assert logs == {}
    assert torch.allclose(loss_value, model.loss.generator_term(model.discriminator(images)))


# ---------------------------------------------------------------- InfoGAN's categorical code
@pytest.mark.parametrize("model_name", ["gan", "dcgan", "conv_gan"])
def test_the_code_is_the_one_hot_tail_of_z_and_q_has_one_output_per_value(smoke_config, model_name):
    _, model, _ = build(smoke_config(f"model={model_name}", *CODE))
    code = model.extensions["categorical_code"]
    z = model.sample_noise(64, torch.Generator().manual_seed(0))
    tail = z[:, -4:]
    assert z.shape == (64, model.z_dim)
    assert torch.equal(tail.sum(dim=1), torch.ones(64)) and set(tail.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(code.codes_of(z), tail.argmax(dim=1))
    assert code.reader(torch.zeros(3, *model.image_shape)).shape == (3, 4)
    assert code in model.trained_networks()


def test_grids_and_metric_samples_take_every_code_value_in_turn(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan", *CODE))
    (z,) = model.sample_inputs(8, torch.Generator().manual_seed(0))
    assert model.extensions["categorical_code"].codes_of(z).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert model.grid_columns(8) == 2


def test_g_and_q_minimize_the_information_term_and_d_is_unchanged(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan", *CODE, "model.extensions.categorical_code.weight=0.5"))
    code = model.extensions["categorical_code"]
    real = torch.rand(6, *model.image_shape) * 2 - 1
    batch = LabeledImages(real, None)
    fakes = model.generate(batch, torch.Generator().manual_seed(1))
    loss, logs = model.generator_loss(batch, fakes)
    info = F.cross_entropy(code.reader(fakes.images), code.codes_of(fakes.z))
    adversarial = model.loss.generator_term(model.discriminator(fakes.images))
    assert torch.allclose(logs["loss/g_info"], 0.5 * info) and torch.allclose(loss, adversarial + 0.5 * info)
    loss.backward()
    assert all(p.grad is not None for p in code.reader.parameters())
    trained_with_g = {id(p) for p in model.generator_parameters()}
    assert {id(p) for p in code.reader.parameters()} <= trained_with_g
    assert not {id(p) for p in model.discriminator.parameters()} & trained_with_g


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("model=cgan", *CODE), r"^model\.extensions\.categorical_code is for unconditional GANs"),
        (
            ("model=dcgan", "extension=[categorical_code]", "model.extensions.categorical_code.values=1"),
            r"^model\.extensions\.categorical_code\.values must be an integer >= 2",
        ),
        (
            ("model=dcgan", "extension=[categorical_code]", "model.extensions.categorical_code.values=100"),
            r"^model\.extensions\.categorical_code\.values must be < z_dim \(100\), got 100",
        ),
        (("model=dcgan", *TOP_K, "model.extensions.top_k.decay=0"), r"^model\.extensions\.top_k\.decay must"),
        (("model=dcgan", *TOP_K, "model.extensions.top_k.min_share=0"), r"top_k\.min_share must be in"),
        (("model=pix2pix", "data=mnist_outlines", *TOP_K), r"^model \(.*Pix2Pix\): .*'extensions'"),
    ],
)
def test_an_extension_the_model_cannot_take_is_one_line(smoke_config, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build(smoke_config(*overrides))


def test_a_coded_model_trains_and_its_checkpoint_samples_by_code(smoke_config, tmp_path):
    train(smoke_config("model=dcgan", *CODE, "extension=[categorical_code,top_k]"))
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert list(model.extensions) == ["categorical_code", "top_k"]
    assert model.extensions["categorical_code"].values == 4
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
        GAN(*players, data_spec=spec, z_dim=8, extensions={"categorical_code": CategoricalCode(4)})
    assert len(GAN(*players, data_spec=spec, z_dim=8).extensions) == 0
