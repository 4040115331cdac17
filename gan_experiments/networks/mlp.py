"""Fully connected GAN of the original paper and course notes (flattened images)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gan_experiments.networks.init import InitKind, init_weights
from gan_experiments.networks.norm import NormKind, vector_norm_layer


def mlp(
    sizes: Sequence[int],
    negative_slope: float,
    norm: NormKind = "none",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear layers of the given sizes; after each hidden one: norm, LeakyReLU (ReLU for slope 0),
    dropout. Nothing after the last layer."""
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    make_norm = vector_norm_layer(norm)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        hidden = i < len(sizes) - 2
        layers.append(nn.Linear(n_in, n_out, bias=not (hidden and norm in ("batch", "layer"))))
        if hidden:
            if norm != "none":
                layers.append(make_norm(n_out))
            layers.append(nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def doubling_widths(width: int, depth: int) -> list[int]:
    """width, 2·width, 4·width, … (depth entries): 256-512-1024 for width 256, depth 3."""
    return [width * 2**i for i in range(depth)]


class MLPGenerator(nn.Module):
    """z → width → 2·width → … → prod(image_shape), Tanh, reshaped to an image.

    `norm=batch` (BatchNorm after every hidden layer) is what makes this generator cover all ten
    digits; without it the same networks collapse onto two or three (docs/results/mnist_previous_recipes.md).
    """

    def __init__(
        self,
        z_dim: int,
        image_shape: Sequence[int],
        width: int = 256,
        depth: int = 3,
        negative_slope: float = 0.01,
        norm: NormKind = "none",
        init: InitKind = "default",
        init_gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        sizes = [z_dim, *doubling_widths(width, depth), math.prod(self.image_shape)]
        self.body = mlp(sizes, negative_slope, norm)
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, z: Tensor) -> Tensor:
        return torch.tanh(self.body(z)).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Flattened input → … → 2·width → width → 1 logit (no sigmoid: losses take logits).

    `dropout` after every hidden layer keeps D from memorizing the generator's current modes, the
    classic stabilizer of the fully connected GAN."""

    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 256,
        depth: int = 3,
        negative_slope: float = 0.01,
        norm: NormKind = "none",
        dropout: float = 0.0,
        init: InitKind = "default",
        init_gain: float = 1.0,
        outputs: int = 1,
    ) -> None:
        super().__init__()
        widths = doubling_widths(width, depth)[::-1]
        # outputs > 1: the network as InfoGAN's Q (one logit per code value)
        self.body = mlp([math.prod(image_shape), *widths, outputs], negative_slope, norm, dropout)
        init_weights(self, init, init_gain, norm_std=0.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.flatten(1)).squeeze(1)
