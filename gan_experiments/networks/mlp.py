"""Fully connected GAN of the original paper and course notes (flattened images)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def mlp(sizes: Sequence[int], negative_slope: float) -> nn.Sequential:
    """Linear layers of the given sizes with LeakyReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*layers)


def doubling_widths(width: int, depth: int) -> list[int]:
    """width, 2·width, 4·width, … (depth entries): 256-512-1024 for width 256, depth 3."""
    return [width * 2**i for i in range(depth)]


class MLPGenerator(nn.Module):
    """z → width → 2·width → … → prod(image_shape), Tanh, reshaped to an image."""

    def __init__(
        self,
        z_dim: int,
        image_shape: Sequence[int],
        width: int = 256,
        depth: int = 3,
        negative_slope: float = 0.01,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.body = mlp([z_dim, *doubling_widths(width, depth), math.prod(self.image_shape)], negative_slope)

    def forward(self, z: Tensor) -> Tensor:
        return torch.tanh(self.body(z)).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Flattened input → … → 2·width → width → 1 logit (no sigmoid: losses take logits)."""

    def __init__(
        self,
        image_shape: Sequence[int],
        width: int = 256,
        depth: int = 3,
        negative_slope: float = 0.01,
    ) -> None:
        super().__init__()
        widths = doubling_widths(width, depth)[::-1]
        self.body = mlp([math.prod(image_shape), *widths, 1], negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x.flatten(1)).squeeze(1)
