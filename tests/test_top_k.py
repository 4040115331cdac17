"""Top-k training (`model.top_k_decay`, `model.top_k_min`; Sinha et al. 2020): G's loss is taken over the
fakes the critic rates most real only, a share of the batch that decays per epoch to a floor."""

from __future__ import annotations

import pytest
import torch

from gan_experiments.errors import ConfigError
from gan_experiments.models.gan import GAN, Generated, LabeledImages
from gan_experiments.train import build


def at_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    monkeypatch.setattr(GAN, "current_epoch", property(lambda self: epoch))


@pytest.mark.parametrize(("epoch", "fraction"), [(0, 1.0), (1, 0.5), (2, 0.25), (5, 0.25)])
def test_the_share_decays_per_epoch_to_its_floor(smoke_config, monkeypatch, epoch, fraction):
    _, model, _ = build(smoke_config("model=dcgan", "model.top_k_decay=0.5", "model.top_k_min=0.25"))
    at_epoch(monkeypatch, epoch)
    assert model.top_k_fraction() == fraction


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan_gp"])
def test_g_learns_only_from_the_fakes_the_critic_rates_most_real(smoke_config, monkeypatch, loss):
    # a critic without BatchNorm: each score depends on its own image only
    overrides = ("model=dcgan", f"loss={loss}", "model.discriminator.norm=none", "model.top_k_decay=0.5")
    _, model, _ = build(smoke_config(*overrides))
    at_epoch(monkeypatch, 1)  # half the batch
    images = (torch.rand(8, *model.image_shape) * 2 - 1).requires_grad_(True)
    batch = LabeledImages(torch.zeros_like(images), None)
    loss_value, logs = model.generator_loss(batch, Generated(images))
    scores = model.discriminator(images).detach().flatten()
    best = scores.argsort(descending=True)[:4]
    assert torch.allclose(loss_value, model.loss.g(model.discriminator(images[best])))
    assert logs["g/top_k"].item() == 0.5
    loss_value.backward()
    per_image = images.grad.flatten(1).abs().sum(dim=1)
    worst = scores.argsort(descending=True)[4:]
    assert torch.all(per_image[worst] == 0) and torch.all(per_image[best] > 0)


def test_the_conditional_gan_ranks_with_its_labels(smoke_config, monkeypatch):
    _, model, _ = build(smoke_config("model=cgan", "model.top_k_decay=0.5", "model.discriminator.norm=none"))
    at_epoch(monkeypatch, 3)  # 0.125 → the default floor of one half
    images = torch.rand(6, *model.image_shape) * 2 - 1
    labels = torch.arange(6) % 3
    loss_value, logs = model.generator_loss(LabeledImages(images, labels), Generated(images))
    scores = model.discriminator(images, labels).flatten()
    assert torch.allclose(loss_value, model.loss.g(scores.sort(descending=True).values[:3]))
    assert logs["g/top_k"].item() == 0.5


def test_off_by_default_and_in_the_first_epoch(smoke_config):
    _, model, _ = build(smoke_config("model=dcgan"))
    assert model.top_k_decay is None
    images = torch.rand(4, *model.image_shape)
    loss_value, logs = model.generator_loss(LabeledImages(images, None), Generated(images))
    assert "g/top_k" not in logs
    assert torch.allclose(loss_value, model.loss.g(model.discriminator(images)))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.top_k_decay=0", r"^model\.top_k_decay must be in \(0, 1\] or null, got 0"),
        ("model.top_k_decay=1.5", r"^model\.top_k_decay must be in"),
        ("model.top_k_min=0", r"^model\.top_k_min must be in \(0, 1\], got 0"),
    ],
)
def test_a_share_out_of_range_is_one_line(smoke_config, override, message):
    with pytest.raises(ConfigError, match=message):
        build(smoke_config("model=dcgan", override))
