"""ResNet generator of CycleGAN (Johnson et al.'s style-transfer network): 7×7 stem, two stride-2
downsamplings, residual blocks with reflection padding, two ×2 upsamplings, 7×7 head, Tanh."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, conv_bias, norm_layer

Padding = Literal["reflect", "replicate", "zeros"]
Upsample = Literal["transposed", "resize"]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: NormKind, dropout: float, padding: Padding) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode=padding, bias=bias),
            make_norm(channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode=padding, bias=bias),
            make_norm(channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def upsampling(n_in: int, n_out: int, mode: Upsample, bias: bool) -> nn.Module:
    """Transposed conv as in the paper, or nearest resize + conv, which avoids checkerboard artifacts."""
    if mode == "transposed":
        return nn.ConvTranspose2d(n_in, n_out, 3, stride=2, padding=1, output_padding=1, bias=bias)
    if mode == "resize":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(n_in, n_out, 3, padding=1, bias=bias)
        )
    raise ValueError(f"upsample must be 'transposed' or 'resize', got {mode!r}")


class ResnetGenerator(nn.Module):
    #: two stride-2 convolutions down, two ×2 upsamplings: the output has the input's size for multiples of 4
    size_multiple = 4

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        n_blocks: int = 9,
        norm: NormKind = "instance",
        dropout: float = 0.0,
        padding: Padding = "reflect",
        upsample: Upsample = "transposed",
        init: InitKind = "normal",
        init_gain: float = 0.02,
        image_size: int | None = None,
    ) -> None:
        """`image_size` is accepted and unused: translation models build every generator with the data's
        channels and image side (a U-Net needs the side for its depth; this network works at any size
        that is a multiple of 4)."""
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 7, padding=3, padding_mode=padding, bias=bias),
            make_norm(width),
            nn.ReLU(True),
        ]
        for i in range(2):
            n_in = width * 2**i
            layers += [
                nn.Conv2d(n_in, 2 * n_in, 3, stride=2, padding=1, bias=bias),
                make_norm(2 * n_in),
                nn.ReLU(True),
            ]
        layers += [ResidualBlock(4 * width, norm, dropout, padding) for _ in range(n_blocks)]
        for i in range(2):
            n_in = width * 2 ** (2 - i)
            layers += [upsampling(n_in, n_in // 2, upsample, bias), make_norm(n_in // 2), nn.ReLU(True)]
        layers += [nn.Conv2d(width, out_channels, 7, padding=3, padding_mode=padding), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)
