"""Hydra `instantiate` as every command uses it: our constructors' errors as one line, config groups of
named entries (callbacks, loggers) as lists. Shared by train, evaluate and the quality benchmark, so no
command imports another command's module for it."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from gan_experiments.errors import ConfigError, UserError


def instantiate_checked(node: DictConfig, **kwargs: Any) -> Any:
    """Hydra wraps constructor errors in a multi-line InstantiationException; our constructors'
    ValueErrors already name the offending option, so they surface as that one line."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        if isinstance(cause, ValueError):
            raise ConfigError(str(cause)) from None
        raise


def instantiate_dict(node: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a `name: {_target_: …}` group (callbacks, loggers); null entries are off."""
    if not node:
        return []
    return [
        instantiate_checked(value) for value in node.values() if value is not None and "_target_" in value
    ]
