"""Checks of the composed configuration that must fail before any data is read or model built,
with the offending key in the message."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from gan_experiments.errors import ConfigError


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


#: torch.compile's modes
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _positive_number(v: Any) -> bool:
    return is_number(v) and v > 0


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: is_int(v) and v >= low


def _betas(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 2 and all(is_number(b) and 0 <= b < 1 for b in v)


# (key suffix, test, what was expected); a key matches when it equals the suffix or ends with ".suffix"
RULES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("lr", _positive_number, "a number > 0"),
    ("betas", _betas, "two numbers in [0, 1)"),
    ("d_steps", _int_at_least(1), "an integer >= 1"),
    ("batch_size", _int_at_least(1), "an integer >= 1"),
    ("z_dim", _int_at_least(1), "an integer >= 1"),
    ("width", _int_at_least(1), "an integer >= 1"),
    ("num_workers", _int_at_least(0), "an integer >= 0"),
    ("finite_check_every_n", _int_at_least(1), "an integer >= 1"),
    ("perf.data_on_device", is_bool, "true or false"),
    ("perf.fused_optimizers", is_bool, "true or false"),
    ("perf.channels_last", is_bool, "true or false"),
    ("perf.compile", is_bool, "true or false"),
    (
        "perf.compile_mode",
        lambda v: v is None or v in COMPILE_MODES,
        f"null or one of {', '.join(COMPILE_MODES)}",
    ),
    ("image_size", lambda v: v is None or _int_at_least(8)(v), "an integer >= 8"),
    # the models optimize manually (models/base.py), which Lightning's clipping and accumulation refuse
    (
        "trainer.gradient_clip_val",
        lambda v: v is None or v == 0,
        "null (the models clip their own gradients: set model.grad_clip_norm)",
    ),
    ("trainer.accumulate_grad_batches", lambda v: v is None or v == 1, "1 (the models optimize manually)"),
    (
        "trainer.max_epochs",
        lambda v: v is None or (is_int(v) and (v >= 1 or v == -1)),
        "an integer >= 1 (or -1)",
    ),
]


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, resolved value) for every leaf; values whose interpolation fails are skipped here
    (instantiation reports them with their own message)."""
    keys = node.keys() if isinstance(node, DictConfig) else range(len(node))
    for key in keys:
        path = f"{prefix}.{key}" if prefix else str(key)
        try:
            value = node[key]
        except MissingMandatoryValue:
            raise ConfigError(f"{path} must be set (e.g. {path}=…); the config leaves it ???") from None
        except OmegaConfBaseException:
            continue
        if isinstance(value, DictConfig) or (isinstance(value, ListConfig) and not path.endswith("betas")):
            yield from _leaves(value, path)
        else:
            yield path, OmegaConf.to_object(value) if isinstance(value, ListConfig) else value


def validate(cfg: DictConfig) -> None:
    for path, value in _leaves(cfg):
        if path.startswith("hydra."):
            continue
        for suffix, ok, expected in RULES:
            if (path == suffix or path.endswith("." + suffix)) and not ok(value):
                raise ConfigError(f"{path} must be {expected}, got {value!r}")
