"""Grids of samples from a noise-to-image model (GAN, DCGAN, conv GAN, cGAN): square-ish sample grids,
one row per class for a cGAN, and latent interpolations. Used by `generate` and the quality benchmark,
so neither command imports the other."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gan_experiments.models.gan import GAN


def lerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Linear interpolation (N, D), (N, D), (S,) → (N, S, D); uniform noise stays inside its cube."""
    t = t.to(z0)[None, :, None]
    return (1 - t) * z0[:, None] + t * z1[:, None]


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation of rows of z0 (N, D) to z1 (N, D) at fractions t (S,) → (N, S, D).

    For Gaussian z, a straight line between two samples passes through low-norm points that the
    generator almost never saw in training (samples concentrate near the sphere of radius √D); the
    great-circle path keeps the norm typical (White 2016, "Sampling Generative Networks"). Parallel
    rows fall back to the straight line.
    """
    unit0, unit1 = z0 / z0.norm(dim=1, keepdim=True), z1 / z1.norm(dim=1, keepdim=True)
    omega = torch.acos((unit0 * unit1).sum(dim=1).clamp(-1, 1))[:, None, None]
    sin_omega = torch.sin(omega)
    s = t.to(z0)[None, :, None]
    spherical = (
        torch.sin((1 - s) * omega) * z0[:, None] + torch.sin(s * omega) * z1[:, None]
    ) / sin_omega.clamp(min=1e-7)
    return torch.where(sin_omega.abs() < 1e-6, lerp(z0, z1, t), spherical)


def sample_grid(model: GAN, num: int, label: int | None, rng: torch.Generator) -> tuple[Tensor, int]:
    """(images, columns): num samples in a square-ish grid; a cGAN without label gets one row per class."""
    if label is not None:
        z = model.sample_noise(num, rng)
        return model(z, torch.full((num,), label, device=z.device)), max(1, math.isqrt(num))
    inputs = model.sample_inputs(num, rng)
    return model(*inputs), model.grid_columns(len(inputs[0]))


def interpolation_grid(
    model: GAN, rows: int, steps: int, label: int | None, rng: torch.Generator
) -> tuple[Tensor, int]:
    """`rows` rows of `steps` images from G(z0) to G(z1), both ends included."""
    z0, z1 = model.sample_noise(rows, rng), model.sample_noise(rows, rng)
    path = (slerp if model.noise == "normal" else lerp)(z0, z1, torch.linspace(0, 1, steps))
    z = path.flatten(0, 1)
    if not getattr(model, "requires_labels", False):
        return model(z), steps
    per_row = (
        torch.full((rows,), label, device=z.device)
        if label is not None
        else torch.arange(rows, device=z.device) % model.num_classes
    )
    return model(z, per_row.repeat_interleave(steps)), steps
