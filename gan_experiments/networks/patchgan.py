"""Discriminators of pix2pix/CycleGAN that judge patches rather than whole images."""

from __future__ import annotations

from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, conv_bias, norm_layer


def receptive_field(n_layers: int) -> int:
    """Input pixels seen by one output logit: 70 for the default 3 layers (the "70×70 PatchGAN")."""
    field = 1
    for kernel, stride in reversed([(4, 2)] * n_layers + [(4, 1), (4, 1)]):
        field = (field - 1) * stride + kernel
    return field


class PatchDiscriminator(nn.Module):
    """n_layers stride-2 convs (width doubling, capped at 8·width), one stride-1 conv, a 1-channel
    map of logits: one real/fake decision per overlapping patch."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 64,
        n_layers: int = 3,
        norm: NormKind = "batch",
        init: InitKind = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = width
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            out = width * min(2**i, 8)
            layers += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=bias),
                make_norm(out),
                nn.LeakyReLU(0.2, True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.body = nn.Sequential(*layers)
        self.receptive_field = receptive_field(n_layers)
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class PixelDiscriminator(nn.Module):
    """1×1 convolutions only: a real/fake decision per pixel (pix2pix's "pixel" GAN, colour only)."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 64,
        norm: NormKind = "batch",
        init: InitKind = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 1, bias=conv_bias(norm)),
            norm_layer(norm)(2 * width),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * width, 1, 1, bias=conv_bias(norm)),
        )
        self.receptive_field = 1
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)
