"""Class-conditional wrappers (Mirza & Osindero): the label is encoded and joined to z for G and to
the input of D, as a vector for fully connected backbones and as constant feature maps for conv ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.compat import current_name
from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator
from gan_experiments.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_experiments.networks.mlp import MLPDiscriminator, MLPGenerator
from gan_experiments.networks.norm import NormKind

Backbone = Literal["mlp", "dcgan", "conv_gan"]
LabelEncoding = Literal["embedding", "onehot"]

GENERATORS = {"mlp": MLPGenerator, "dcgan": DCGANGenerator, "conv_gan": ConvGANGenerator}
DISCRIMINATORS = {"mlp": MLPDiscriminator, "dcgan": DCGANDiscriminator, "conv_gan": ConvGANDiscriminator}


class LabelEncoder(nn.Module):
    """Integer labels → (B, dim): a learned embedding, or a fixed one-hot code (dim = num_classes)."""

    def __init__(
        self, num_classes: int, encoding: LabelEncoding = "embedding", dim: int | None = None
    ) -> None:
        super().__init__()
        if encoding not in ("embedding", "onehot"):
            raise ValueError(f"label_encoding must be 'embedding' or 'onehot', got {encoding!r}")
        self.num_classes = num_classes
        self.encoding = encoding
        self.dim = num_classes if encoding == "onehot" or dim is None else dim
        self.embedding = nn.Embedding(num_classes, self.dim) if encoding == "embedding" else None

    def forward(self, labels: Tensor) -> Tensor:
        if self.embedding is not None:
            return self.embedding(labels)
        return F.one_hot(labels, self.num_classes).float()


def _backbone(table: dict[str, type[nn.Module]], name: str) -> type[nn.Module]:
    name = current_name("backbone", name)
    if name not in table:
        raise ValueError(f"backbone must be one of {sorted(table)}, got {name!r}")
    return table[name]


class ConditionalGenerator(nn.Module):
    """G(z, y) = backbone([z, enc(y)])."""

    def __init__(
        self,
        z_dim: int,
        image_shape: Sequence[int],
        num_classes: int,
        backbone: Backbone = "dcgan",
        width: int = 64,
        label_encoding: LabelEncoding = "embedding",
        label_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.labels = LabelEncoder(num_classes, label_encoding, label_dim)
        self.net = _backbone(GENERATORS, backbone)(
            z_dim=z_dim + self.labels.dim, image_shape=image_shape, width=width
        )

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.net(torch.cat([z, self.labels(labels).to(z.dtype)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """D(x, y): the label code is appended to the flattened image (mlp) or as extra channels (conv).

    `norm` is the backbone's (null: the backbone's own default, BatchNorm for dcgan); a critic trained
    with a gradient penalty needs a per-sample one (layer) or none."""

    def __init__(
        self,
        image_shape: Sequence[int],
        num_classes: int,
        backbone: Backbone = "dcgan",
        width: int = 64,
        label_encoding: LabelEncoding = "embedding",
        label_dim: int | None = None,
        norm: NormKind | None = None,
    ) -> None:
        super().__init__()
        self.labels = LabelEncoder(num_classes, label_encoding, label_dim)
        channels, height, width_px = image_shape
        self.as_vector = backbone == "mlp"
        if self.as_vector:
            in_shape: tuple[int, ...] = (channels * height * width_px + self.labels.dim,)
        else:
            in_shape = (channels + self.labels.dim, height, width_px)
        options = {} if norm is None else {"norm": norm}
        self.net = _backbone(DISCRIMINATORS, backbone)(image_shape=in_shape, width=width, **options)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        code = self.labels(labels).to(x.dtype)
        if self.as_vector:
            return self.net(torch.cat([x.flatten(1), code], dim=1))
        maps = code[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, maps], dim=1))
