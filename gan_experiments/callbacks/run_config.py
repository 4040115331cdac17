"""Puts the composed run configuration and the data's spec into every checkpoint, so evaluation,
generation and translation rebuild model and data from the checkpoint alone; and, on a resume, applies
the options of this run that the restored state would otherwise override (or refuses them in one line).

A resume restores each optimizer's param groups (learning rate, betas, weight decay, the `fused` flag
…) and each scheduler's state (its base learning rates, and any option it keeps as an attribute), which
would silently win over a changed option of the new command line. So every option of `model.g_optimizer`,
`model.d_optimizer`, `model.lr_scheduler` and `perf.fused_optimizers` that differs from the checkpoint's
run config is set on the restored optimizers and schedulers before the first resumed step, with one log
line each; what cannot be applied (another optimizer or schedule class, another `model.seed`, whose
noise stream the checkpoint restores) is refused in one line. A resume with no changed option touches
nothing (exact resume stays bit-exact)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.optim import Optimizer

from gan_experiments.data.spec import DataSpec
from gan_experiments.errors import ConfigError

log = logging.getLogger("gan_experiments.train")

CHECKPOINT_KEY = "gan_experiments_config"
#: the DataSpec the model was built from, as plain types (checkpoints written before it lack the key)
DATA_SPEC_KEY = "data_spec"
#: where the weights of a checkpoint written by `import_official` came from (official files, sha256,
#: options); such a checkpoint holds no training state
IMPORTED_KEY = "imported_from"

#: the model's optimizers, in the order `configure_optimizers` returns them
OPTIMIZER_KEYS = ("g_optimizer", "d_optimizer")
#: Hydra's keys of a node, not options of the object it builds
HYDRA_KEYS = ("_target_", "_partial_", "_convert_", "_recursive_", "_args_")
FUSED_KEY = "perf.fused_optimizers"


@dataclass(frozen=True)
class ResumeChange:
    """An option whose value differs from the checkpoint's run config and that the restored state holds."""

    key: str  # e.g. "model.g_optimizer.lr"
    old: Any
    new: Any

    @property
    def origin(self) -> str:
        given = given_on_command_line()
        return "from the command line" if self.key in given else "from this run's config"

    def __str__(self) -> str:
        return f"resume: {self.key} {self.old} → {self.new} ({self.origin})"


def given_on_command_line() -> set[str]:
    """The keys the command line set (`key=value`, `+key=value`, `++key=value`)."""
    if not HydraConfig.initialized():
        return set()
    return {o.lstrip("+~").split("=", 1)[0] for o in HydraConfig.get().overrides.task}


def _plain(value: Any) -> Any:
    """Lists and tuples compare alike (a config's betas are a list, an optimizer's a tuple)."""
    return tuple(_plain(v) for v in value) if isinstance(value, (list, tuple)) else value


def _node(config: Mapping[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(config, Mapping):
            return None
        config = config.get(key)
    return config


def _target(node: Any) -> Any:
    return node.get("_target_") if isinstance(node, Mapping) else None


def resume_changes(stored: Mapping[str, Any] | None, config: Mapping[str, Any]) -> list[ResumeChange]:
    """The options of `config` (this run's resolved config) that differ from `stored` (the checkpoint's)
    and that a resume's restored state would override; refuses, in one line, the ones it cannot apply."""
    if not isinstance(stored, Mapping):
        return []
    old_seed, new_seed = _node(stored, "model", "seed"), _node(config, "model", "seed")
    if old_seed is not None and new_seed is not None and old_seed != new_seed:
        raise ConfigError(
            f"model.seed={new_seed}: the checkpoint continues the noise stream of model.seed={old_seed}, "
            f"which a resume restores; resume with seed={old_seed}, or start a new run without ckpt_path"
        )
    changes = []
    for name in (*OPTIMIZER_KEYS, "lr_scheduler"):
        old, new = _node(stored, "model", name), _node(config, "model", name)
        if _target(old) != _target(new):
            given = f"model.{name}._target_={_target(new)}" if new else f"model.{name}=null"
            stored_as = f"model.{name}._target_={_target(old)}" if old else f"model.{name}=null"
            raise ConfigError(
                f"{given}: the checkpoint holds the state of {stored_as}, which a resume restores; resume "
                f"with {stored_as}, or start a new run without ckpt_path"
            )
        old, new = old or {}, new or {}
        for option in sorted((set(old) | set(new)) - set(HYDRA_KEYS)):
            if _plain(old.get(option)) != _plain(new.get(option)):
                changes.append(ResumeChange(f"model.{name}.{option}", old.get(option), new.get(option)))
    old_fused, new_fused = (_node(tree, *FUSED_KEY.split(".")) for tree in (stored, config))
    if old_fused is not None and new_fused is not None and bool(old_fused) != bool(new_fused):
        changes.append(ResumeChange(FUSED_KEY, old_fused, new_fused))
    return changes


def apply_resume_changes(trainer: Trainer, changes: list[ResumeChange]) -> None:
    """Set each change on the restored optimizers and schedulers (after Lightning restored them)."""
    optimizers = dict(zip(OPTIMIZER_KEYS, trainer.optimizers, strict=False))
    schedulers = [config.scheduler for config in trainer.lr_scheduler_configs]
    for change in changes:
        section, option = change.key.rsplit(".", 1)
        if change.key == FUSED_KEY:
            for optimizer in optimizers.values():
                if "fused" in optimizer.defaults:
                    _set_option(optimizer, "fused", optimizer.defaults["fused"], schedulers)
        elif section == "model.lr_scheduler":
            # a schedule's options it keeps as attributes are restored from its state; those it closes
            # over (linear_decay's epochs) were built from this run's config already
            for scheduler in schedulers:
                if hasattr(scheduler, option):
                    setattr(scheduler, option, change.new)
        else:
            optimizer = optimizers[section.rsplit(".", 1)[-1]]
            if option not in optimizer.defaults:
                raise ConfigError(
                    f"{change.key}={change.new}: the checkpoint's {type(optimizer).__name__} state, which a "
                    "resume restores, has no such option to change; resume without it, or start a new run"
                )
            _set_option(optimizer, option, optimizer.defaults[option], schedulers)
        if trainer.is_global_zero:
            log.info("%s", change)


def _set_option(optimizer: Optimizer, option: str, value: Any, schedulers: list[Any]) -> None:
    """`value` (what this run built the optimizer with) in every param group. A learning rate under a
    schedule becomes the schedule's base rate, scaled by the schedule's current factor."""
    scheduler = next((s for s in schedulers if getattr(s, "optimizer", None) is optimizer), None)
    for index, group in enumerate(optimizer.param_groups):
        if option == "lr" and scheduler is not None and "initial_lr" in group:
            old_base = group["initial_lr"]
            factor = group["lr"] / old_base if old_base else 1.0
            group["initial_lr"] = value
            scheduler.base_lrs[index] = value
            group["lr"] = value * factor
        else:
            group[option] = value
    if scheduler is not None:
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    if option == "fused":  # the state's step counters live where the fused (or the plain) kernel wants them
        optimizer.load_state_dict(optimizer.state_dict())


class RunConfigInCheckpoint(Callback):
    """Part of every training run (train.build adds it whatever `callbacks=` holds)."""

    def __init__(self, config: dict[str, Any], data_spec: DataSpec | None = None) -> None:
        self.config = config
        self.data_spec = data_spec
        self.resume_changes: list[ResumeChange] = []

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CHECKPOINT_KEY] = self.config
        if self.data_spec is not None:
            checkpoint[DATA_SPEC_KEY] = self.data_spec.to_dict()

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.resume_changes = resume_changes(checkpoint.get(CHECKPOINT_KEY), self.config)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Lightning restored the optimizers and schedulers by now (after on_load_checkpoint)
        if self.resume_changes:
            apply_resume_changes(trainer, self.resume_changes)
            self.resume_changes = []
