"""Open checkpoints safely and rebuild a trained model (and its data) from one alone: every checkpoint
carries the composed run config (see callbacks.run_config), so no training config is needed afterwards.

A checkpoint is a trust boundary: a `.ckpt` that someone shares is a pickle, and a pickle can run any
code when it is loaded; its run config is handed to `hydra.utils.instantiate`, which calls whatever
`_target_` names. So by default

- the file is unpickled with `weights_only=True`: tensors, containers and primitive values only, which
  is everything the project writes; a pickle that asks for anything else (`os.system`, a class of
  another package) is refused with one line naming the file and that global, before it runs;
- the run config must be the plain, resolved tree `train` stores: a string (which OmegaConf would parse
  as YAML) or an interpolation (`${oc.create:…}` builds new nodes, `${oc.env:…}` reads the environment)
  is refused, so what is checked is what gets built;
- every `_target_` of the run config must be a class of the packages the project's configs use
  (gan_experiments, torch.optim, torch.nn, Lightning's callbacks, loggers, strategies and Trainer) or
  one of the project's learning-rate schedules; `builtins.open`, `os.system` or a helper function are
  refused with the key that names them;
- a dataset download URL other than the dataset's official one (`data.download_url`) is refused.

`trust_checkpoint=true` (every command that opens a checkpoint) lifts both checks for a file the user
trusts: it then runs whatever the file contains.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from hydra.utils import get_class, instantiate
from lightning.pytorch import LightningDataModule, LightningModule
from omegaconf import DictConfig, OmegaConf

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY, DATA_SPEC_KEY
from gan_experiments.compat import upgrade_checkpoint, upgrade_data_facts, upgrade_spec
from gan_experiments.data.spec import DataSpec
from gan_experiments.errors import UserError
from gan_experiments.instantiation import build_model

if TYPE_CHECKING:
    pass

TRUST_HINT = "if you trust this file, add trust_checkpoint=true (that runs whatever it contains)"

#: the packages whose classes a run config may name
ALLOWED_PACKAGES = (
    "gan_experiments.",
    "torch.optim.",
    "torch.nn.",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
    "lightning.pytorch.strategies.",
)
#: dotted prefixes a `_target_` may start with (checked before anything is imported)
ALLOWED_TARGET_PREFIXES = (*ALLOWED_PACKAGES, "lightning.pytorch.Trainer")
#: modules the located class must be defined in (`torch.nn.functional.torch.save` is no class of torch.nn,
#: `lightning.pytorch.callbacks.model_checkpoint.pl.cli.LightningCLI` no callback)
ALLOWED_DEFINING_MODULES = (*ALLOWED_PACKAGES, "lightning.pytorch.trainer.")
#: functions (not classes) a run config may name: the learning-rate schedule and logger factories
ALLOWED_FUNCTION_MODULES = ("gan_experiments.models.schedules", "gan_experiments.loggers")


class CheckpointError(UserError):
    """A checkpoint is missing, unreadable, or asks to run code the project never writes."""


def _refused_global(error: Exception) -> str | None:
    """The global a weights-only unpickler refused (torch names it as 'GLOBAL module.name')."""
    match = re.search(r"GLOBAL ([\w.]+)", str(error))
    return match.group(1) if match else None


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _unpickler_reason(error: Exception) -> str:
    """What torch's weights-only unpickler stopped at (the text after 'WeightsUnpickler error:'; the rest
    of its message is advice)."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        after = [line.strip() for line in text.split(marker, 1)[1].splitlines() if line.strip()]
        if after:
            return after[0]
    return _first_line(error)


def checkpoint_file(path: str | Path) -> Path:
    """`ckpt_path` as a path, refused in one line when no file is there (commands that derive an output
    path from it check this first)."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise CheckpointError(f"ckpt_path={path}: no such checkpoint file")
    return path


def read_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """The checkpoint's dict, unpickled weights-only unless `trust`; its run config's targets checked and
    its weights finite (`check_finite_weights`)."""
    path = checkpoint_file(path)
    try:
        checkpoint = upgrade_checkpoint(
            torch.load(path, map_location="cpu", weights_only=not trust), CHECKPOINT_KEY
        )
    except pickle.UnpicklingError as error:
        refused = _refused_global(error)
        if refused is None:  # a damaged file, or a pickle with more than plain weights: both stop here
            raise CheckpointError(
                f"ckpt_path={path}: not a readable checkpoint (weights-only unpickling stopped: "
                f"{_unpickler_reason(error)}); {TRUST_HINT}"
            ) from None
        raise CheckpointError(
            f"ckpt_path={path}: refused to load: its pickle asks for {refused}, which gan_experiments "
            f"checkpoints never hold; {TRUST_HINT}"
        ) from None
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"ckpt_path={path}: not a readable checkpoint ({_first_line(error)})") from None
    if not isinstance(checkpoint, dict) or CHECKPOINT_KEY not in checkpoint:
        raise CheckpointError(
            f"ckpt_path={path}: not written by gan_experiments.train (no run config inside)"
        )
    weights = checkpoint.get("state_dict")
    if not isinstance(weights, dict):
        raise CheckpointError(f"ckpt_path={path}: not written by gan_experiments.train (no weights inside)")
    check_finite_weights(weights, path)
    if not trust:
        check_run_config(checkpoint[CHECKPOINT_KEY], path)
    return checkpoint


def check_finite_weights(weights: dict[str, Any], path: str | Path) -> None:
    """Every floating tensor of a state dict finite, checked when a checkpoint is opened (also with
    `trust_checkpoint`: trust is about code, this is about damage). Training never writes non-finite
    weights (`AdversarialModule.on_save_checkpoint`) and torch.load checks no CRC, so NaN/Inf here means
    a damaged or foreign file; loaded anyway it would end deep inside a metric (the FID's matrix square
    root crashes the process without a message) or train on from NaN."""
    for key, value in weights.items():
        floating = isinstance(value, torch.Tensor) and torch.is_floating_point(value)
        if floating and not bool(torch.isfinite(value).all()):
            raise CheckpointError(
                f"ckpt_path={path}: weights hold NaN/Inf ({key}); the file is damaged or not a trained "
                "checkpoint (training never writes non-finite weights)"
            )


def _targets(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key of the node, its `_target_`) for every node of a plain config tree that has one."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield prefix or "<root>", node["_target_"]
        for key, value in node.items():
            yield from _targets(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _targets(value, f"{prefix}[{index}]")


def target_is_allowed(target: Any) -> bool:
    """A class of the project's own packages (or a schedule factory); nothing is imported unless the
    dotted name already lies inside the allowed packages."""
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGET_PREFIXES):
        return False
    from hydra._internal.utils import _locate  # hydra's own resolver of `_target_` strings

    try:
        located = _locate(target)
    except Exception:
        return False
    if isinstance(located, type):
        return located.__module__.startswith(ALLOWED_DEFINING_MODULES)
    return callable(located) and getattr(located, "__module__", None) in ALLOWED_FUNCTION_MODULES


def _strings(node: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, text) for every string key and value of a plain config tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(key, str):
                yield dotted, key
            yield from _strings(value, dotted)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _strings(value, f"{prefix}[{index}]")
    elif isinstance(node, str):
        yield prefix, node


def check_run_config(config: Any, path: str | Path) -> None:
    """Refuse a run config that is not the plain resolved tree `train` stores, or that names anything
    but the project's own building blocks."""
    refused = f"ckpt_path={path}: refused to load: its run config"
    if type(config) is not dict or type(config.get("model")) is not dict:
        raise CheckpointError(f"{refused} is not the mapping gan_experiments.train stores; {TRUST_HINT}")
    for key, text in _strings(config):
        if "${" in text:
            raise CheckpointError(
                f"{refused} has an interpolation at {key} ({text[:60]!r}); the project stores resolved "
                f"configs only; {TRUST_HINT}"
            )
    data = config.get("data")
    if isinstance(data, dict) and data.get("download_url"):
        raise CheckpointError(
            f"{refused} sets data.download_url={data['download_url']}, a download source other than "
            f"the dataset's official one; {TRUST_HINT}"
        )
    try:
        OmegaConf.create(config)
    except Exception as error:
        raise CheckpointError(f"{refused} is not a valid config ({_first_line(error)})") from None
    check_targets(config, path)


def check_targets(config: Any, path: str | Path) -> None:
    """Refuse a run config that names anything but the project's own building blocks."""
    for key, target in _targets(config):
        if not target_is_allowed(target):
            raise CheckpointError(
                f"ckpt_path={path}: refused to load: its run config sets {key}._target_={target}, which is "
                f"not a class of gan_experiments, torch.optim, torch.nn or Lightning's callbacks, loggers, "
                f"strategies and Trainer; {TRUST_HINT}"
            )


def run_config(checkpoint: dict[str, Any]) -> DictConfig:
    return OmegaConf.create(checkpoint[CHECKPOINT_KEY])


def model_config_and_spec(checkpoint: dict[str, Any]) -> tuple[DictConfig, DataSpec]:
    """The model config of a checkpoint (or packed generator) and the DataSpec its networks were built
    from, ready for `instantiation.build_model`.

    Run configs written before the spec existed carry the data's facts as model keys and their networks
    as fully configured nodes; those keys move into the spec (the stored `data_spec` where the file has
    one) and the network nodes become the constructors the model now calls, so older checkpoints keep
    loading into the same networks.
    """
    run = run_config(checkpoint)
    model = run.model
    facts = upgrade_data_facts(model)
    stored = checkpoint.get(DATA_SPEC_KEY)
    if stored:
        return model, DataSpec.from_dict(upgrade_spec(dict(stored), run.get("data")))
    return model, legacy_spec(run, facts)


def legacy_spec(run: DictConfig, facts: dict[str, Any]) -> DataSpec:
    """A checkpoint without a stored spec: the facts its run config held (the model's data keys; for a
    translation model the image side of its data config)."""
    layout = get_class(run.model._target_).data_layout
    if layout == "images":
        shape = facts.get("image_shape")
        if shape is None:
            raise CheckpointError(
                "the checkpoint's run config holds neither a data spec nor model.image_shape"
            )
        return DataSpec(layout, tuple(shape), num_classes=facts.get("num_classes"))
    in_channels, out_channels = facts.get("in_channels"), facts.get("out_channels")
    if in_channels is None or out_channels is None:
        raise CheckpointError(
            "the checkpoint's run config holds neither a data spec nor model.in_channels/out_channels"
        )
    side = int(run.data.get("image_size") or 256)
    return DataSpec(layout, (out_channels, side, side), in_channels=in_channels, out_channels=out_channels)


def model_from_checkpoint(checkpoint: dict[str, Any], device: str | torch.device = "cpu") -> LightningModule:
    """The trained module in eval mode, with non-parameter state (counters, EMA, …) restored."""
    upgrade_checkpoint(checkpoint, CHECKPOINT_KEY)
    model = build_model(*model_config_and_spec(checkpoint))
    model.load_state_dict(checkpoint["state_dict"])
    model.on_load_checkpoint(checkpoint)
    return model.to(device).eval()


def load_model(
    path: str | Path, device: str | torch.device = "cpu", trust: bool = False
) -> tuple[LightningModule, DictConfig]:
    """The trained module in eval mode and the run config it was trained with."""
    checkpoint = read_checkpoint(path, trust=trust)
    return model_from_checkpoint(checkpoint, device), run_config(checkpoint)


def build_datamodule(cfg: DictConfig, **overrides: Any) -> LightningDataModule:
    """The run's data module, optionally with some arguments replaced (data_dir, …)."""
    return instantiate(cfg.data, **overrides)
