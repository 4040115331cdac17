"""The convolutional MNIST GAN of the seed notes (cs231n style; `model=conv_gan`, which the notes train
with the least-squares loss, its default `loss=lsgan`).

D: 5×5 conv (width) → 2×2 max-pool → 5×5 conv (2·width) → pool → FC 32·width → FC 1, LeakyReLU 0.01.
G: FC 32·width + BN → FC (s·s·4·width) + BN → 4×4/2 transposed conv (2·width) + BN → 4×4/2 transposed
conv to the image, Tanh. With width 32 these are the notes' 32/64/1024 and 1024/7·7·128/64 at 28 px.

Larger images (data=image_folder at 64 or 128 px) get one more stage per doubling instead of ever wider
fully connected layers (G's start stays at most 8×8 with twice the channels per extra stage; D adds a
conv + pool per extra stage): at width 32, G has 8.6 / 17.6 / 36.5 M parameters at 32 / 64 / 128 px
(mostly the second FC layer) and D 1.7 / 2.4 / 5.3 M. At 28 and 32 px the networks, and so their
checkpoints, are the notes' two-stage ones (as at every size below 64 px); a checkpoint of it trained
at 64 px or more before this change has the two-stage layout and does not load into the grown one.

Both are initialized like the notes' TensorFlow layers (Glorot/Xavier uniform, zero biases); with
PyTorch's default initialization instead, 41 % of the generator's first output pixels are saturated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, norm_layer, vector_norm_layer


def conv_gan_stages(image_size: int) -> int:
    """×2 stages between G's start and the image: 2 (the notes') below 64 px (28, 32, and the other
    sizes MNIST's padding makes, as before), from 64 px one more per doubling so the start is at most
    8×8 (64 → 3, 128 → 4)."""
    return 2 if image_size < 64 else math.ceil(math.log2(image_size / 8))


class ConvGANGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        image_shape: Sequence[int],
        width: int = 32,
        init: InitKind = "xavier_uniform",
        init_gain: float = 1.0,
    ) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        stages = conv_gan_stages(height)
        if height != width_px or height % 2**stages:
            raise ValueError(
                f"the conv GAN generator needs square images with a size divisible by {2**stages}, "
                f"got {height}x{width_px}"
            )
        start = height // 2**stages
        # channels per stage input: 4·width at the notes' two stages, doubled for each extra stage
        widths = [4 * width * 2 ** (stages - 2 - i) for i in range(stages - 1)] + [2 * width]
        self.start = (widths[0], start, start)
        fc, start_units = 32 * width, widths[0] * start**2
        # the notes apply ReLU before BatchNorm; kept as written
        self.project = nn.Sequential(
            nn.Linear(z_dim, fc), nn.ReLU(True), nn.BatchNorm1d(fc),
            nn.Linear(fc, start_units), nn.ReLU(True), nn.BatchNorm1d(start_units),
        )  # fmt: skip
        layers: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(n_in, n_out, 4, 2, 1), nn.ReLU(True), nn.BatchNorm2d(n_out)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z).view(z.shape[0], *self.start))


class ConvGANDiscriminator(nn.Module):
    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 32,
        norm: NormKind = "none",
        init: InitKind = "xavier_uniform",
        init_gain: float = 1.0,
        outputs: int = 1,
    ) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        stages = conv_gan_stages(height)
        size = height
        for _ in range(stages):  # 5×5 valid conv, then 2×2 pool
            size = (size - 4) // 2
        if height != width_px or size < 1:
            raise ValueError(
                f"the conv GAN discriminator needs square images of at least 16 px, got {height}x{width_px}"
            )

        # the notes' critic has no normalization; `norm` adds one after the second conv and the FC
        # layer (layer indices, and so checkpoints, stay those of the notes' network without it)
        def normed(layer: nn.Module, norm_of: nn.Module) -> list[nn.Module]:
            return [layer] if norm == "none" else [layer, norm_of]

        fc = 32 * width
        fc_norm = "none" if norm == "instance" else norm  # no instance statistics for a vector
        widths = [width * 2**i for i in range(stages)]
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2)]
        for n_in, n_out in itertools.pairwise(widths):
            layers += [
                *normed(nn.Conv2d(n_in, n_out, 5), norm_layer(norm)(n_out)),
                nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
            ]  # fmt: skip
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            *normed(nn.Linear(widths[-1] * size * size, fc), vector_norm_layer(fc_norm)(fc)),
            nn.LeakyReLU(0.01), nn.Linear(fc, outputs),  # outputs > 1: InfoGAN's Q
        )  # fmt: skip
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1)).squeeze(1)
