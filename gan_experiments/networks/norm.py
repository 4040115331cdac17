"""Normalization choice of the pix2pix/CycleGAN networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from torch import nn

NormKind = Literal["batch", "instance", "none"]


def norm_layer(kind: NormKind) -> Callable[[int], nn.Module]:
    """batch: affine BatchNorm with running stats; instance: InstanceNorm without affine or running
    stats (as the official code); none: identity."""
    if kind == "batch":
        return lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {kind!r}")


def conv_bias(kind: NormKind) -> bool:
    """A conv followed by BatchNorm needs no bias (BN's shift replaces it); InstanceNorm here has no
    affine shift, so the conv keeps its bias, as in the official code."""
    return kind != "batch"
