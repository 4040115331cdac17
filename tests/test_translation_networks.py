"""ResNet/U-Net generators and PatchGAN/pixel discriminators: shapes, official sizes, options."""

import pytest
import torch
from torch import nn

from gan_experiments.networks.norm import norm_layer
from gan_experiments.networks.patchgan import PatchDiscriminator, PixelDiscriminator, receptive_field
from gan_experiments.networks.resnet import ResnetGenerator
from gan_experiments.networks.unet import UnetGenerator, depth_for


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_official_network_sizes():
    """Parameter counts of the official resnet_9blocks, unet_256 and basic 70×70 PatchGAN (on A|B)."""
    assert n_params(ResnetGenerator(3, 3, 64, 9)) == 11_378_179
    assert n_params(UnetGenerator(3, 3, 64, image_size=256)) == 54_413_955
    assert n_params(PatchDiscriminator(6, 64, 3)) == 2_768_705


@pytest.mark.parametrize("n_blocks", [0, 2, 6, 9])
@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_resnet_generator_keeps_the_size(n_blocks, upsample):
    g = ResnetGenerator(3, 1, width=4, n_blocks=n_blocks, upsample=upsample)
    out = g(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32) and out.abs().max() <= 1


def test_resnet_uses_reflection_padding_and_instance_norm_by_default():
    g = ResnetGenerator(3, 3, width=4, n_blocks=1)
    assert {m.padding_mode for m in g.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (7, 7)} == {
        "reflect"
    }
    assert any(isinstance(m, nn.InstanceNorm2d) for m in g.modules())


@pytest.mark.parametrize("size, depth", [(256, 8), (128, 7), (64, 6), (32, 5), (16, 4)])
def test_unet_depth_follows_image_size(size, depth):
    assert depth_for(size) == depth
    g = UnetGenerator(3, 3, width=4, image_size=size)
    assert g(torch.randn(1, 3, size, size)).shape == (1, 3, size, size)


def test_unet_dropout_sits_in_the_inner_blocks_only():
    g = UnetGenerator(3, 3, width=4, image_size=256)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3  # 8 levels − 5, as unet_256
    assert sum(isinstance(m, nn.Dropout) for m in UnetGenerator(3, 3, width=4, image_size=32).modules()) == 0
    with pytest.raises(ValueError, match="power-of-two"):
        UnetGenerator(3, 3, image_size=100)


def test_unet_explicit_depth_with_other_channel_counts():
    assert UnetGenerator(1, 3, width=4, depth=3)(torch.randn(2, 1, 24, 24)).shape == (2, 3, 24, 24)


def test_patchgan_receptive_field_and_output_map():
    assert receptive_field(3) == 70
    d = PatchDiscriminator(6, width=8)
    assert d(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert d.receptive_field == 70


def test_pixel_discriminator_decides_per_pixel():
    d = PixelDiscriminator(4, width=8)
    assert d(torch.randn(2, 4, 20, 20)).shape == (2, 1, 20, 20)
    assert all(m.kernel_size == (1, 1) for m in d.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize(
    "norm, kind", [("batch", nn.BatchNorm2d), ("instance", nn.InstanceNorm2d), ("none", nn.Identity)]
)
def test_norm_choice(norm, kind):
    assert isinstance(norm_layer(norm)(8), kind)
    d = PatchDiscriminator(3, width=4, norm=norm)
    assert d(torch.randn(2, 3, 32, 32)).shape == (2, 1, 2, 2)
    with pytest.raises(ValueError, match="norm must be"):
        norm_layer("group")


@pytest.mark.parametrize("init", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_choice_reaches_every_conv(init):
    g = ResnetGenerator(3, 3, width=4, n_blocks=1, init=init, init_gain=0.02)
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is None or m.bias.abs().sum() == 0 for m in convs)
    if init == "normal":
        assert torch.cat([m.weight.flatten() for m in convs]).std().item() == pytest.approx(0.02, rel=0.2)
