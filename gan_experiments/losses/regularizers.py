"""Penalties on the critic's input gradient, each a `Regularizer` that any loss takes
(`loss.regularizers.<name>`, or `regularizer=[gp|r1|r2]` on the command line).

All three differentiate the critic's output with respect to its input with `create_graph=True` (the
penalty is then differentiated again for D's update), in float32 with autocast off: in fp16 the double
backward overflows, and under bf16 the penalty is too coarse to steer anything.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gan_experiments.losses.base import Critic, Regularizer


def input_gradient(critic: Critic, images: Tensor) -> Tensor:
    """∂ Σ D(x) / ∂x per sample, (N, …), in fp32 with autocast off, kept in the graph."""
    images = images.detach().float().requires_grad_(True)
    with torch.autocast(device_type=images.device.type, enabled=False):
        scores = critic(images).float()
        (gradient,) = torch.autograd.grad(scores.sum(), images, create_graph=True)
    return gradient


class GradientPenalty(Regularizer):
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇D(x̂)‖₂ − 1)²] at random interpolates x̂ of real and fake."""

    def penalty(
        self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        real, fake = real.detach().float(), fake.detach().float()
        shape = (real.shape[0], *([1] * (real.dim() - 1)))
        alpha = torch.rand(shape, device=real.device, generator=generator)
        norms = input_gradient(critic, alpha * real + (1 - alpha) * fake).flatten(1).norm(2, dim=1)
        return (norms - 1).pow(2).mean()


class R1Penalty(Regularizer):
    """R1 (Mescheder et al. 2018): ½ E[‖∇D(x)‖²] on real images, a zero-centred penalty that keeps D
    flat on the data; `weight` is γ."""

    def penalty(
        self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        return 0.5 * input_gradient(critic, real).flatten(1).pow(2).sum(dim=1).mean()


class R2Penalty(Regularizer):
    """R2: ½ E[‖∇D(G(z))‖²] on the fakes (R3GAN pairs it with R1 under a relativistic loss)."""

    def penalty(
        self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        return 0.5 * input_gradient(critic, fake).flatten(1).pow(2).sum(dim=1).mean()
