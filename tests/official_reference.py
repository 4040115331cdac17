"""Reference generators in the layout of junyanz/pytorch-CycleGAN-and-pix2pix (`models/networks.py`), built
here from its documented layer order so the import can be checked against the official forward and key
names without the official code:

- ResnetGenerator (`model.<i>`): ReflectionPad2d(3), Conv 7×7, norm, ReLU; two stride-2 3×3 convs (norm,
  ReLU); n ResnetBlocks (`conv_block`: reflect pad, conv 3×3, norm, ReLU, [Dropout(0.5)], reflect pad,
  conv 3×3, norm; plus the skip); two ConvTranspose2d 3×3 stride 2, output_padding 1 (norm, ReLU);
  ReflectionPad2d(3), Conv 7×7 (with bias), Tanh.
- UnetGenerator (`model.model.<i>`…): nested skip blocks, innermost first (ngf*8 → ngf*8), then
  `num_downs - 5` ngf*8 blocks (with Dropout(0.5) after their up path when use_dropout), then ngf*4,
  ngf*2, ngf, and the outermost (input_nc → ngf, up-conv with bias, Tanh). Down: LeakyReLU(0.2), Conv 4×4
  stride 2, norm (none in the outermost and innermost); up: ReLU, ConvTranspose2d 4×4 stride 2, norm
  (Tanh in the outermost). Every block but the outermost returns `cat([x, block(x)], 1)`.
- Conv biases only where the norm is InstanceNorm (`use_bias`), except the last conv, which always has one;
  BatchNorm2d(affine=True, running stats), InstanceNorm2d(affine=False, no running stats), or identity.
"""

from __future__ import annotations

import torch
from torch import nn

NUM_DOWNS = {"unet_256": 8, "unet_128": 7}
N_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}


def norm_of(norm: str):
    """(layer factory, use_bias) as the official get_norm_layer and its use_bias rule give them."""
    if norm == "batch":
        return (lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)), False
    if norm == "instance":
        return (lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)), True
    return (lambda c: nn.Identity()), False


class ReferenceResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: bool) -> None:
        super().__init__()
        make_norm, bias = norm_of(norm)
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim), nn.ReLU(True)]
        layers += [nn.Dropout(0.5)] if dropout else []
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ReferenceResnetGenerator(nn.Module):
    def __init__(
        self, input_nc: int, output_nc: int, ngf: int, norm: str, dropout: bool, n_blocks: int
    ) -> None:
        super().__init__()
        make_norm, bias = norm_of(norm)
        layers = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        for k in (1, 2):
            channels = ngf * 2 ** (k - 1)
            layers += [
                nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1, bias=bias),
                make_norm(2 * channels),
                nn.ReLU(True),
            ]
        layers += [ReferenceResnetBlock(4 * ngf, norm, dropout) for _ in range(n_blocks)]
        for channels in (4 * ngf, 2 * ngf):
            layers += [
                nn.ConvTranspose2d(
                    channels, channels // 2, 3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                make_norm(channels // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ReferenceSkipBlock(nn.Module):
    def __init__(
        self,
        outer: int,
        inner: int,
        norm: str,
        input_nc: int | None = None,
        sub: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_of(norm)
        down_conv = nn.Conv2d(
            outer if input_nc is None else input_nc, inner, 4, stride=2, padding=1, bias=bias
        )
        if outermost:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1)
            layers = [down_conv, sub, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up, make_norm(outer)]
        else:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [
                nn.LeakyReLU(0.2, True),
                down_conv,
                make_norm(inner),
                sub,
                nn.ReLU(True),
                up,
                make_norm(outer),
            ]
            layers += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class ReferenceUnetGenerator(nn.Module):
    def __init__(
        self, input_nc: int, output_nc: int, ngf: int, norm: str, dropout: bool, num_downs: int
    ) -> None:
        super().__init__()
        block = ReferenceSkipBlock(8 * ngf, 8 * ngf, norm, innermost=True)
        for _ in range(num_downs - 5):
            block = ReferenceSkipBlock(8 * ngf, 8 * ngf, norm, sub=block, dropout=dropout)
        for outer in (4 * ngf, 2 * ngf, ngf):
            block = ReferenceSkipBlock(outer, 2 * outer, norm, sub=block)
        self.model = ReferenceSkipBlock(output_nc, ngf, norm, input_nc=input_nc, sub=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def reference_generator(
    net_g: str, input_nc: int, output_nc: int, ngf: int, norm: str, dropout: bool, seed: int = 0
) -> nn.Module:
    """An official-layout generator with random weights, biases and BatchNorm statistics (not the
    N(0, 0.02) init, whose near-zero outputs would make a comparison weak)."""
    torch.manual_seed(seed)
    if net_g in N_BLOCKS:
        net = ReferenceResnetGenerator(input_nc, output_nc, ngf, norm, dropout, N_BLOCKS[net_g])
    else:
        net = ReferenceUnetGenerator(input_nc, output_nc, ngf, norm, dropout, NUM_DOWNS[net_g])
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(1234)
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.bias is not None:
                module.bias.normal_(0, 0.1)
    return net


def legacy_instance_norm_entries(net: nn.Module) -> dict[str, torch.Tensor]:
    """What a file of PyTorch < 0.4 holds for each InstanceNorm layer besides the weights (the official
    loader drops them): running statistics and, from 0.4.1 on, the counter."""
    extra = {}
    for name, module in net.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            channels = module.num_features
            extra[f"{name}.running_mean"] = torch.randn(channels)
            extra[f"{name}.running_var"] = torch.rand(channels) + 0.5
            extra[f"{name}.num_batches_tracked"] = torch.tensor(7)
    return extra
