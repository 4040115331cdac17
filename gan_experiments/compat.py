"""Every former name the project still accepts, in one place, each with the version that removes it.

Two kinds of old input keep working:

- **names a user types** (config options such as `model=lsgan`, `experiment=lsgan_mnist`,
  `backbone=lsgan`, `pretrained=lsgan_mnist`, the key `callbacks.preemption.exact_resume`): they still
  compose or resolve, and the command says once, in one line, what to write instead;
- **files written by older versions** (checkpoints and packed generators): their run config and weights
  are upgraded on load, before the safety checks read them, so the checks see only current names.

CHANGELOG.md lists the same deprecations. Nothing outside this module knows an old name.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from typing import Any

from torch import Tensor

from gan_experiments.data.image_transforms import FREE_SIZE_MODES

log = logging.getLogger("gan_experiments")

#: the release that drops every name below
REMOVAL_VERSION = "0.3.0"

#: option values renamed because their names misled: option → {old value: (new value, why)}
RENAMED_OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "model": {
        "lsgan": (
            "conv_gan",
            "the course notes' convolutional GAN; lsgan names the loss (loss=lsgan), its default loss",
        )
    },
    "experiment": {"lsgan_mnist": ("conv_gan_mnist", "it trains model=conv_gan with loss=lsgan")},
    "pretrained": {"lsgan_mnist": ("conv_gan_mnist", "the weights of experiment=conv_gan_mnist")},
    "backbone": {"lsgan": ("conv_gan", "the course notes' convolutional GAN's networks")},
}

#: classes renamed in the code: old `_target_` → new (the state-dict keys are the same)
RENAMED_TARGETS = {
    "gan_experiments.networks.lsgan.LSGANGenerator": "gan_experiments.networks.conv_gan.ConvGANGenerator",
    "gan_experiments.networks.lsgan.LSGANDiscriminator": (
        "gan_experiments.networks.conv_gan.ConvGANDiscriminator"
    ),
    "gan_experiments.losses.WassersteinGPLoss": "gan_experiments.losses.WassersteinLoss",
}

#: model keys that held the data's facts in run configs written before models were built from the
#: DataSpec (checkpoints up to 2026-12-03 hold them)
LEGACY_DATA_KEYS = ("image_shape", "num_classes", "in_channels", "out_channels")
#: what those run configs resolved into the network nodes and the model now passes to their constructors
LEGACY_NETWORK_KEYS = ("image_shape", "num_classes", "z_dim", "in_channels", "out_channels", "image_size")
#: the noise GAN's research options before they became extensions (models/extensions.py)
LEGACY_EXTENSION_KEYS = ("categorical_code", "info_weight", "top_k_decay", "top_k_min")


@functools.cache
def _hint(option: str, old: str) -> None:
    new, why = RENAMED_OPTIONS[option][old]
    log.warning(
        "%s=%s is deprecated and will be removed in %s: use %s=%s (%s)",
        option, old, REMOVAL_VERSION, option, new, why,
    )  # fmt: skip


def current_name(option: str, value: str) -> str:
    """`value`, or the name that replaced it (after a one-line hint, once per process)."""
    if value in RENAMED_OPTIONS.get(option, {}):
        _hint(option, value)
        return RENAMED_OPTIONS[option][value][0]
    return value


def warn_renamed_choices(choices: dict[str, Any]) -> None:
    """The hints for the config group options a command was composed with (Hydra's runtime choices)."""
    for option in RENAMED_OPTIONS:
        chosen = choices.get(option)
        if isinstance(chosen, str):
            current_name(option, chosen)


def exact_resume_switch(cfg: Any) -> bool | None:
    """`callbacks.preemption.exact_resume`, where exact resume was switched before it became part of
    every run (top-level `exact_resume`); None when a config does not set it."""
    preemption = (cfg.get("callbacks") or {}).get("preemption") or {}
    old = preemption.get("exact_resume")
    if old is not None:
        log.warning(
            "callbacks.preemption.exact_resume is deprecated and will be removed in %s: use exact_resume=%s",
            REMOVAL_VERSION,
            str(old).lower(),
        )
    return old


# ---------------------------------------------------------------- files of older versions
def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def upgrade_run_config(config: Any) -> Any:
    """A run config as this version writes it, from one of any earlier version (in place; anything but
    a plain mapping is returned untouched, for the safety checks to refuse)."""
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        return config
    for node in _nodes(config):
        target = node.get("_target_")
        if target == "gan_experiments.losses.WassersteinGPLoss":
            weight = node.pop("gp_weight", 10.0)
            gp = {"_target_": "gan_experiments.losses.GradientPenalty", "weight": weight}
            node["regularizers"] = {"gp": gp}
        if isinstance(target, str) and target in RENAMED_TARGETS:
            node["_target_"] = RENAMED_TARGETS[target]
        if node.get("backbone") in RENAMED_OPTIONS["backbone"]:
            node["backbone"] = RENAMED_OPTIONS["backbone"][node["backbone"]][0]
    data = config.get("data")
    if isinstance(data, dict) and data.get("preprocess") in FREE_SIZE_MODES and "size_multiple" not in data:
        data["size_multiple"] = _fitted_size_multiple(config["model"], data)
    model = config["model"]
    old = {key: model.pop(key) for key in LEGACY_EXTENSION_KEYS if key in model}
    extensions = model.setdefault("extensions", {}) if old else None
    if old.get("categorical_code"):
        extensions["categorical_code"] = {
            "_target_": "gan_experiments.models.extensions.CategoricalCode",
            "values": old["categorical_code"],
            "weight": old.get("info_weight", 1.0),
        }
    if old.get("top_k_decay") is not None:
        extensions["top_k"] = {
            "_target_": "gan_experiments.models.extensions.TopK",
            "decay": old["top_k_decay"],
            "min_share": old.get("top_k_min", 0.5),
        }
    return config


def _fitted_size_multiple(model: dict[str, Any], data: dict[str, Any]) -> int:
    """The multiple that versions before `data.size_multiple` rounded free-size images to: 4, raised to
    the generator's stride (a U-Net's 2^depth, its depth from the image size when not set)."""
    generator = model.get("generator") or {}
    if str(generator.get("_target_", "")).endswith("UnetGenerator"):
        depth = generator.get("depth") or (int(data.get("image_size") or 256).bit_length() - 1)
        return math.lcm(4, 2**depth)
    return 4


def upgrade_spec(stored: dict[str, Any], data: Any) -> dict[str, Any]:
    """A stored DataSpec with the facts later versions added, from the run's data config."""
    if "size_multiple" not in stored and data is not None and data.get("preprocess") in FREE_SIZE_MODES:
        stored = {**stored, "size_multiple": data.get("size_multiple")}
    return stored


def upgrade_data_facts(model: Any) -> dict[str, Any]:
    """The data's facts an old run config kept in its model config (removed from it, returned), and its
    networks turned into the constructors the model now calls with those facts."""
    facts = {key: model.pop(key) for key in LEGACY_DATA_KEYS if key in model}
    if facts:
        for name in ("generator", "discriminator"):
            node = model.get(name)
            if hasattr(node, "pop"):
                for key in LEGACY_NETWORK_KEYS:
                    node.pop(key, None)
                node["_partial_"] = True
    return facts


#: state-dict key prefixes renamed with the extensions
RENAMED_STATE_PREFIXES = {"code_reader.": "extensions.categorical_code.reader."}


def upgrade_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """A model's weights under this version's keys."""
    renamed = {}
    for key, value in state_dict.items():
        for old, new in RENAMED_STATE_PREFIXES.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        renamed[key] = value
    return renamed


def upgrade_checkpoint(checkpoint: Any, config_key: str) -> Any:
    """A checkpoint or packed file of any earlier version as this version writes it (in place)."""
    if isinstance(checkpoint, dict):
        if config_key in checkpoint:
            upgrade_run_config(checkpoint[config_key])
        if isinstance(checkpoint.get("state_dict"), dict):
            checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"])
    return checkpoint
