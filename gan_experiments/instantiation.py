"""Hydra `instantiate` as every command uses it: our constructors' errors as one line, config groups of
named entries (callbacks, loggers) as lists, and a model from its config and the data's spec. Shared by
train, evaluate, the checkpoint loader and the quality benchmark, so no command imports another
command's module for it."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from gan_experiments.data.spec import DataSpec
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
        if isinstance(cause, TypeError) and "unexpected keyword argument" in str(cause):
            # an option the class does not take (extension=… on a translation model, a typo in a key)
            raise ConfigError(f"{_full_key(node)}: {cause}") from None
        raise


def _full_key(node: DictConfig) -> str:
    key = node._get_full_key(None) if isinstance(node, DictConfig) else ""
    target = node.get("_target_", "?") if isinstance(node, DictConfig) else "?"
    return f"{key or 'config'} ({target})"


def instantiate_dict(node: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a `name: {_target_: …}` group (callbacks, loggers); null entries are off."""
    if not node:
        return []
    return [
        instantiate_checked(value) for value in node.values() if value is not None and "_target_" in value
    ]


def build_model(node: DictConfig, data_spec: DataSpec) -> Any:
    """The model of a `model` config, built with the data's facts.

    The config states the model's own options only; Hydra turns it into a constructor with those bound
    (its networks into constructors too, `_partial_: true`), and the model is then called with the
    DataSpec, from which it builds its networks (image shape, classes, channels). The spec is passed as
    the object it is: no config is filled in or changed.
    """
    factory = instantiate_checked(node, _partial_=True, _convert_="all")
    try:
        return factory(data_spec=data_spec)
    except UserError:
        raise
    except ValueError as error:
        raise ConfigError(str(error)) from None
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        raise ConfigError(f"{_full_key(node)}: {error}") from None
