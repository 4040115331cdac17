"""U-Net generator of pix2pix: an encoder–decoder with skip connections between mirrored layers,
built recursively from the innermost block out; dropout 0.5 in the inner decoder blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, conv_bias, norm_layer


def depth_for(image_size: int) -> int:
    """Number of stride-2 levels that take image_size down to 1×1: unet_256 → 8, unet_128 → 7."""
    depth = image_size.bit_length() - 1
    if image_size != 2**depth or depth < 2:
        raise ValueError(
            f"U-Net needs a power-of-two image size >= 4 (or an explicit depth), got {image_size}"
        )
    return depth


class SkipBlock(nn.Module):
    """down → (inner) → up, output concatenated with the input (except for the outermost block)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: NormKind = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)
        up_in = inner if innermost else 2 * inner
        if outermost:
            down = [down_conv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            down = [nn.LeakyReLU(0.2, True), down_conv]
            up = [
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                make_norm(outer),
            ]
        else:
            down = [nn.LeakyReLU(0.2, True), down_conv, make_norm(inner)]
            up = [
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                make_norm(outer),
            ]
            if dropout:
                up.append(nn.Dropout(dropout))
        middle = [] if submodule is None else [submodule]
        self.model = nn.Sequential(*down, *middle, *up)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)


class UnetGenerator(nn.Module):
    """depth stride-2 levels (image_size = 2^depth reaches 1×1 at the bottleneck, as unet_256/128)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        depth: int | None = None,
        image_size: int = 256,
        norm: NormKind = "batch",
        dropout: float = 0.5,
        init: InitKind = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        depth = depth_for(image_size) if depth is None else depth
        if depth < 2:
            raise ValueError(f"U-Net depth must be >= 2, got {depth}")
        # inner channels of each level, outermost first: w, 2w, 4w, 8w, 8w, … (official unet_256/128)
        widths = [width * 2 ** min(level, 3) for level in range(depth)]
        block = SkipBlock(widths[-2], widths[-1], innermost=True, norm=norm)
        for level in range(depth - 2, 0, -1):
            # the official net puts dropout in the 8w→8w blocks between the 8w level and the bottleneck
            block = SkipBlock(
                widths[level - 1],
                widths[level],
                submodule=block,
                norm=norm,
                dropout=dropout if level >= 4 else 0.0,
            )
        self.model = SkipBlock(
            out_channels, width, in_channels=in_channels, submodule=block, outermost=True, norm=norm
        )
        self.depth = depth
        #: every level halves the size and the skip connections need the halves to be whole
        self.size_multiple = 2**depth
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)
