"""The convolutional MNIST GAN of the seed notes (cs231n style), trained with the least-squares loss.

D: 5×5 conv (width) → 2×2 max-pool → 5×5 conv (2·width) → pool → FC 32·width → FC 1, LeakyReLU 0.01.
G: FC 32·width + BN → FC (s·s·4·width) + BN → 4×4/2 transposed conv (2·width) + BN → 4×4/2 transposed
conv to the image, Tanh. With width 32 these are the notes' 32/64/1024 and 1024/7·7·128/64 at 28 px.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class LSGANGenerator(nn.Module):
    def __init__(self, z_dim: int, image_shape: Sequence[int], width: int = 32) -> None:
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

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z).view(z.shape[0], *self.start))


class LSGANDiscriminator(nn.Module):
    def __init__(self, image_shape: Sequence[int], width: int = 32) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        size = ((height - 4) // 2 - 4) // 2
        if height != width_px or size < 1:
            raise ValueError(
                f"LSGAN discriminator needs square images of at least 16 px, got {height}x{width_px}"
            )
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
            nn.Conv2d(width, 2 * width, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Linear(2 * width * size * size, 32 * width), nn.LeakyReLU(0.01), nn.Linear(32 * width, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1)).squeeze(1)
