"""Normalization choices shared by every network: one `norm` option, the same names everywhere.

- `batch`: BatchNorm with running statistics. Couples the samples of a batch, which is what DCGAN
  and pix2pix use, but wrong for a critic trained with a per-sample gradient penalty (WGAN-GP): each
  sample's score then depends on the rest of its batch (`refuse_batch_norm`).
- `instance`: InstanceNorm without affine or running statistics (as the official CycleGAN code).
- `layer`: per-sample normalization over all features (GroupNorm with one group for feature maps,
  LayerNorm for vectors), with an affine scale and shift: the WGAN-GP paper's choice for its critic.
- `none`: identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

NormKind = Literal["batch", "instance", "layer", "none"]
NORM_KINDS = ("batch", "instance", "layer", "none")
#: what a fully connected network can use (instance norm has no meaning for a vector)
VECTOR_NORM_KINDS = ("batch", "layer", "none")


def norm_layer(kind: NormKind) -> Callable[[int], nn.Module]:
    """A factory `channels → module` for (N, C, H, W) feature maps."""
    if kind == "batch":
        return lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "layer":
        return lambda channels: nn.GroupNorm(1, channels, affine=True)
    if kind == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORM_KINDS)}, got {kind!r}")


def vector_norm_layer(kind: NormKind) -> Callable[[int], nn.Module]:
    """A factory `features → module` for (N, F) activations of fully connected layers."""
    if kind == "batch":
        return lambda features: nn.BatchNorm1d(features)
    if kind == "layer":
        return lambda features: nn.LayerNorm(features)
    if kind == "none":
        return lambda features: nn.Identity()
    raise ValueError(
        f"norm of a fully connected network must be one of {', '.join(VECTOR_NORM_KINDS)}, got {kind!r}"
    )


def conv_bias(kind: NormKind) -> bool:
    """A conv followed by an affine norm (batch, layer) needs no bias: the norm's shift replaces it.
    InstanceNorm here has no affine shift, so the conv keeps its bias, as in the official code."""
    return kind not in ("batch", "layer")


def uses_batch_norm(networks: Iterable[nn.Module]) -> bool:
    return any(isinstance(m, _BatchNorm) for network in networks for m in network.modules())


def refuse_batch_norm(penalties: str, networks: Iterable[nn.Module]) -> None:
    """A gradient penalty is a per-sample constraint: with BatchNorm in the critic the gradient of one
    sample's score spreads over the other samples of its batch, so the penalty constrains the wrong
    function. Refused with the option that fixes it (loss=wgan_gp sets model.discriminator.norm=layer);
    `penalties` names the options that asked for the penalty."""
    if uses_batch_norm(networks):
        raise ValueError(
            f"{penalties} penalizes the critic's per-sample gradient, but the discriminator uses "
            "BatchNorm, which couples the samples of a batch; set model.discriminator.norm=layer "
            "(or instance / none)"
        )
