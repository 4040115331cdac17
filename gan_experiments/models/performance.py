"""Execution options of the training step (the `perf` config group): they change how fast the
same computation runs, never what it computes, and are applied by `train.py` rather than stored in
the model definition, so a checkpoint always rebuilds as a plain eager model."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Performance:
    fused_optimizers: bool = False
    channels_last: bool = False
    compile: bool = False
    compile_mode: str | None = None
    finite_check_every_n: int = 1

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | None) -> Performance:
        """Takes the keys it knows from the `perf` node (data_on_device belongs to the data module)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (node or {}).items() if k in names})

    def optimizer_options(self, factory: Callable[..., torch.optim.Optimizer]) -> dict[str, Any]:
        """`fused=True` where the optimizer class supports it (Adam, AdamW, SGD)."""
        target = getattr(factory, "func", factory)
        accepts_fused = "fused" in inspect.signature(target).parameters
        return {"fused": True} if self.fused_optimizers and accepts_fused else {}

    def resolved_compile_mode(self, device: torch.device) -> str:
        """CUDA graphs (inductor's "reduce-overhead") where launches dominate, plain inductor elsewhere."""
        return self.compile_mode or ("reduce-overhead" if device.type == "cuda" else "default")

    def uses_cuda_graphs(self, device: torch.device) -> bool:
        return self.compile and "reduce-overhead" in self.resolved_compile_mode(device)


def has_instance_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.InstanceNorm2d) for m in module.modules())


def has_dropout(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in module.modules())


def apply_to_networks(networks: Iterable[nn.Module], performance: Performance, device: torch.device) -> None:
    """channels_last where it helps (conv nets; InstanceNorm loses the layout), then compile in place
    (`nn.Module.compile` keeps parameter names, so checkpoints stay loadable without compiling).

    Inductor draws dropout masks from its own Philox stream, not from torch's generator, so a compiled
    network with dropout would train on other masks than the eager one (and than the seeded masks
    exact resume relies on); `fallback_random` makes it call torch's RNG, so compiling stays a matter
    of speed only."""
    networks = list(networks)
    if performance.compile and any(has_dropout(network) for network in networks):
        import torch._inductor.config as inductor_config

        inductor_config.fallback_random = True
    for network in networks:
        if performance.channels_last and not has_instance_norm(network):
            network.to(memory_format=torch.channels_last)
        if performance.compile:
            network.compile(mode=performance.resolved_compile_mode(device))
