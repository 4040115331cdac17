"""Output shapes and conventions of the MNIST-family networks."""

import pytest
import torch
from torch import nn

from gan_experiments.networks.conditional import ConditionalDiscriminator, ConditionalGenerator, LabelEncoder
from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator
from gan_experiments.networks.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_layout
from gan_experiments.networks.init import init_weights
from gan_experiments.networks.mlp import MLPDiscriminator, MLPGenerator

SHAPES = [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "make_g, make_d",
    [
        (lambda s: MLPGenerator(16, s, width=8), lambda s: MLPDiscriminator(s, width=8)),
        (lambda s: DCGANGenerator(16, s, width=8), lambda s: DCGANDiscriminator(s, width=8)),
        (lambda s: ConvGANGenerator(16, s, width=4), lambda s: ConvGANDiscriminator(s, width=4)),
    ],
    ids=["mlp", "dcgan", "conv_gan"],
)
def test_generator_makes_images_and_discriminator_one_logit_each(make_g, make_d, shape):
    g, d = make_g(shape), make_d(shape)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1  # Tanh output, like the data
    assert d(images).shape == (5,)


def test_mlp_defaults_follow_the_seed_notes():
    g, d = MLPGenerator(100, (1, 28, 28)), MLPDiscriminator((1, 28, 28))
    g_linear = [m.out_features for m in g.modules() if isinstance(m, nn.Linear)]
    d_linear = [m.out_features for m in d.modules() if isinstance(m, nn.Linear)]
    assert g_linear == [256, 512, 1024, 784]
    assert d_linear == [1024, 512, 256, 1]
    slopes = {m.negative_slope for m in [*g.modules(), *d.modules()] if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}


def test_conv_gan_networks_match_the_seed_notes_at_28px():
    d = ConvGANDiscriminator((1, 28, 28))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(32, (5, 5)), (64, (5, 5))]
    fcs = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(4 * 4 * 64, 1024), (1024, 1)]
    g = ConvGANGenerator(96, (1, 28, 28))
    fcs = [m for m in g.modules() if isinstance(m, nn.Linear)]
    assert [f.out_features for f in fcs] == [1024, 7 * 7 * 128]
    deconvs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in deconvs] == [
        (64, (4, 4), (2, 2)),
        (1, (4, 4), (2, 2)),
    ]


@pytest.mark.parametrize("size, layout", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (16, (4, 2))])
def test_dcgan_depth_follows_image_size(size, layout):
    assert dcgan_layout(size) == layout


def test_dcgan_conventions():
    g, d = DCGANGenerator(100, (1, 64, 64)), DCGANDiscriminator((1, 64, 64))
    assert any(isinstance(m, nn.BatchNorm2d) for m in g.modules())
    assert not isinstance(d.body[1], nn.BatchNorm2d), "no BatchNorm on D's first layer"
    assert {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.1)


def test_dcgan_rejects_sizes_it_cannot_build():
    with pytest.raises(ValueError, match="image size"):
        DCGANGenerator(10, (1, 7, 7))


@pytest.mark.parametrize("kind", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_schemes(kind):
    net = init_weights(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 4)), kind, 0.02)
    assert net[0].bias.abs().sum() == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="init kind"):
        init_weights(net, "uniformish")


@pytest.mark.parametrize("backbone, width", [("mlp", 8), ("dcgan", 8), ("conv_gan", 4)])
@pytest.mark.parametrize("encoding", ["embedding", "onehot"])
def test_conditional_networks(backbone, width, encoding):
    shape = (1, 32, 32)
    g = ConditionalGenerator(16, shape, 10, backbone=backbone, width=width, label_encoding=encoding)
    d = ConditionalDiscriminator(shape, 10, backbone=backbone, width=width, label_encoding=encoding)
    labels = torch.arange(6) % 10
    images = g(torch.randn(6, 16), labels)
    assert images.shape == (6, *shape)
    assert d(images, labels).shape == (6,)


def test_conditional_output_depends_on_the_label():
    g = ConditionalGenerator(8, (1, 28, 28), 10, backbone="mlp", width=8, label_encoding="onehot")
    z = torch.randn(1, 8).repeat(2, 1)
    out = g(z, torch.tensor([3, 7]))
    assert not torch.allclose(out[0], out[1])


def test_label_encoder_dims():
    assert LabelEncoder(10, "onehot").dim == 10
    assert LabelEncoder(10, "embedding", 4)(torch.tensor([1, 2])).shape == (2, 4)
    with pytest.raises(ValueError, match="label_encoding"):
        LabelEncoder(10, "binary")
