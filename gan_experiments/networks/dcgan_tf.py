"""DCGAN as carpedm20/DCGAN-tensorflow builds it: the network of VEEGAN's and PacGAN's Stacked MNIST
experiments (fjxmlzn/PacGAN `stacked_MNIST_experiments/VEEGAN_experiment/model.py`), so a row of this
project can stand beside theirs with the same architecture.

Four stride-2 stages of 5×5 kernels with TensorFlow's "SAME" sizes (each side halved and rounded up:
28 → 14 → 7 → 4 → 2), not the 4×4 kernels of `networks/dcgan.py`:

- G: linear z → 2·2·8w, BN, ReLU → transposed convs to 4w, 2w, w channels (BN, ReLU) → image, Tanh;
- D: conv to w channels (LeakyReLU 0.2, no norm) → 2w, 4w, 8w (norm, LeakyReLU 0.2) → linear → logit.

w = `width` (gf_dim = df_dim = 64 there). Weights N(0, 0.02), biases zero, as their ops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from gan_experiments.networks.init import init_weights
from gan_experiments.networks.norm import NormKind, conv_bias, norm_layer

#: stride-2 stages between the image and the 2×2 (at 28 px) bottom of the network
STAGES = 4
KERNEL = 5


def same_sizes(image_size: int) -> list[int]:
    """The feature-map sides from the image down, each TensorFlow "SAME" stride 2: ⌈s / 2⌉."""
    sizes = [image_size]
    for _ in range(STAGES):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _square(image_shape: Sequence[int]) -> tuple[int, int]:
    channels, height, width = image_shape
    if height != width or height < 2**STAGES:
        raise ValueError(f"the TF DCGAN expects square images of at least 16 px, got {height}x{width}")
    return channels, height


class TFDCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, image_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        channels, side = _square(image_shape)
        sizes = same_sizes(side)[::-1]  # 2, 4, 7, 14, 28
        widths = [width * 2 ** (STAGES - 1 - i) for i in range(STAGES)] + [channels]  # 8w, 4w, 2w, w, C
        self.bottom = (widths[0], sizes[0])
        self.project = nn.Sequential(
            nn.Linear(z_dim, widths[0] * sizes[0] ** 2), nn.Unflatten(1, (widths[0], sizes[0], sizes[0]))
        )
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for stage in range(STAGES):
            n_in, n_out, size_in, size_out = widths[stage], widths[stage + 1], sizes[stage], sizes[stage + 1]
            # (in - 1)·2 - 2·2 + 5 + output_padding = out: TensorFlow's SAME deconvolution sizes
            layers.append(
                nn.ConvTranspose2d(n_in, n_out, KERNEL, 2, 2, output_padding=size_out - 2 * size_in + 1)
            )
            last = stage == STAGES - 1
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(n_out), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.z_dim = z_dim
        init_weights(self, "normal", 0.02)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z.flatten(1)))


class TFDCGANDiscriminator(nn.Module):
    def __init__(
        self, image_shape: Sequence[int], width: int = 64, norm: NormKind = "batch", outputs: int = 1
    ) -> None:
        super().__init__()
        channels, side = _square(image_shape)
        bottom = same_sizes(side)[-1]
        widths = [channels] + [width * 2**i for i in range(STAGES)]  # C, w, 2w, 4w, 8w
        make_norm = norm_layer(norm)
        layers: list[nn.Module] = []
        for stage in range(STAGES):
            first = stage == 0
            layers.append(
                nn.Conv2d(widths[stage], widths[stage + 1], KERNEL, 2, 2, bias=first or conv_bias(norm))
            )
            if not first and norm != "none":
                layers.append(make_norm(widths[stage + 1]))
            layers.append(nn.LeakyReLU(0.2, True))
        layers += [nn.Flatten(), nn.Linear(widths[-1] * bottom**2, outputs)]  # outputs > 1: InfoGAN's Q
        self.body = nn.Sequential(*layers)
        init_weights(self, "normal", 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).squeeze(1)
