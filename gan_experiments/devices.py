"""`device=` of the commands that open a checkpoint or images (evaluate, generate, translate, export,
score): one resolution rule, and a one-line refusal instead of a CUDA traceback later."""

from __future__ import annotations

import torch

from gan_experiments.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """auto: the GPU when there is one; an explicit CUDA device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:<index>, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name}: no CUDA device is available here (device=cpu or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device={name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device
