"""The convolutional MNIST GAN of the seed notes (cs231n style), trained with the least-squares loss.

D: 5×5 conv (width) → 2×2 max-pool → 5×5 conv (2·width) → pool → FC 32·width → FC 1, LeakyReLU 0.01.
G: FC 32·width + BN → FC (s·s·4·width) + BN → 4×4/2 transposed conv (2·width) + BN → 4×4/2 transposed
conv to the image, Tanh. With width 32 these are the notes' 32/64/1024 and 1024/7·7·128/64 at 28 px.

Both are initialized like the notes' TensorFlow layers (Glorot/Xavier uniform, zero biases); with
PyTorch's default initialization instead, 41 % of the generator's first output pixels are saturated.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, norm_layer, vector_norm_layer


class LSGANGenerator(nn.Module):
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
        if height != width_px or height % 4:
            raise ValueError(
                f"LSGAN generator needs square images with a size divisible by 4, got {height}x{width_px}"
            )
        self.start = (4 * width, height // 4, height // 4)
        fc, start_units = 32 * width, 4 * width * (height // 4) ** 2
        # the notes apply ReLU before BatchNorm; kept as written
        self.project = nn.Sequential(
            nn.Linear(z_dim, fc), nn.ReLU(True), nn.BatchNorm1d(fc),
            nn.Linear(fc, start_units), nn.ReLU(True), nn.BatchNorm1d(start_units),
        )  # fmt: skip
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.ReLU(True), nn.BatchNorm2d(2 * width),
            nn.ConvTranspose2d(2 * width, channels, 4, 2, 1), nn.Tanh(),
        )  # fmt: skip
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z).view(z.shape[0], *self.start))


class LSGANDiscriminator(nn.Module):
    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 32,
        norm: NormKind = "none",
        init: InitKind = "xavier_uniform",
        init_gain: float = 1.0,
    ) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        size = ((height - 4) // 2 - 4) // 2
        if height != width_px or size < 1:
            raise ValueError(
                f"LSGAN discriminator needs square images of at least 16 px, got {height}x{width_px}"
            )

        # the notes' critic has no normalization; `norm` adds one after the second conv and the FC
        # layer (layer indices, and so checkpoints, stay those of the notes' network without it)
        def normed(layer: nn.Module, norm_of: nn.Module) -> list[nn.Module]:
            return [layer] if norm == "none" else [layer, norm_of]

        fc = 32 * width
        fc_norm = "none" if norm == "instance" else norm  # no instance statistics for a vector
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
            *normed(nn.Conv2d(width, 2 * width, 5), norm_layer(norm)(2 * width)),
            nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            *normed(nn.Linear(2 * width * size * size, fc), vector_norm_layer(fc_norm)(fc)),
            nn.LeakyReLU(0.01), nn.Linear(fc, 1),
        )  # fmt: skip
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1)).squeeze(1)
