"""DCGAN (Radford et al.): strided (transposed) convolutions, BatchNorm, ReLU in G, LeakyReLU 0.2 in D."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import Tensor, nn

from gan_experiments.networks.init import init_weights
from gan_experiments.networks.norm import NormKind, conv_bias, norm_layer


def dcgan_layout(image_size: int) -> tuple[int, int]:
    """(base size, number of ×2 stages) so that base·2^stages == image_size: 28 → (7, 2), 32 → (4, 3),
    64 → (4, 4). Halves while the size stays even and at least 4."""
    base, stages = image_size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, stages = base // 2, stages + 1
    if stages == 0:
        raise ValueError(
            f"DCGAN needs an image size with at least one factor 2 above 4 (28, 32, 64 …), got {image_size}"
        )
    return base, stages


class DCGANGenerator(nn.Module):
    """z (as 1×1 map) → base×base with width·2^(stages−1) channels → ×2 per stage → image, Tanh."""

    def __init__(self, z_dim: int, image_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        if height != width_px:
            raise ValueError(f"DCGAN expects square images, got {height}x{width_px}")
        base, stages = dcgan_layout(height)
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for n_in, n_out in itertools.pairwise(widths):
            layers += [
                nn.ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(n_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.z_dim = z_dim
        init_weights(self, "normal", 0.02)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image → ×½ per stage (no norm on the first) → base×base → one logit per image.

    `norm=batch` is the paper's; a critic trained with a gradient penalty needs a per-sample one
    (`layer`, `instance`) or none. `batch_norm` is the option's former spelling (true → batch,
    false → none), kept so that configs and checkpoints that use it still build."""

    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 64,
        norm: NormKind = "batch",
        batch_norm: bool | None = None,
        outputs: int = 1,
    ) -> None:
        super().__init__()
        if batch_norm is not None:
            norm = "batch" if batch_norm else "none"
        make_norm = norm_layer(norm)
        channels, height, width_px = image_shape
        if height != width_px:
            raise ValueError(f"DCGAN expects square images, got {height}x{width_px}")
        base, stages = dcgan_layout(height)
        widths = [width * 2**i for i in range(stages)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for n_in, n_out in itertools.pairwise(widths):
            layers.append(nn.Conv2d(n_in, n_out, 4, 2, 1, bias=conv_bias(norm)))
            if norm != "none":  # no placeholder: layer indices (checkpoint keys) stay as before
                layers.append(make_norm(n_out))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(widths[-1], outputs, base, 1, 0))  # outputs > 1: InfoGAN's Q
        self.body = nn.Sequential(*layers)
        init_weights(self, "normal", 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).flatten(1).squeeze(1)
