"""`python -m gan_experiments.train [group=option ...] [key=value ...]`: compose, instantiate, fit.

Returns the configured `optimized_metric` so Hydra sweepers (Optuna) can minimize it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning
import lightning.pytorch as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import get_class
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf
from torch.multiprocessing.spawn import ProcessRaisedException

from gan_experiments.atomic import check_output_folder
from gan_experiments.callbacks.exact_resume import ExactResume
from gan_experiments.callbacks.run_config import (
    CHECKPOINT_KEY,
    IMPORTED_KEY,
    RunConfigInCheckpoint,
    resume_changes,
)
from gan_experiments.checkpoints import read_checkpoint, run_config
from gan_experiments.cli import hydra_command
from gan_experiments.compat import exact_resume_switch, warn_renamed_choices
from gan_experiments.config import validate
from gan_experiments.data.spec import check_model_fits, spec_of
from gan_experiments.errors import ConfigError, UserError, user_error_of_rank
from gan_experiments.instantiation import build_model, instantiate_checked, instantiate_dict
from gan_experiments.models.base import AdversarialModule
from gan_experiments.models.performance import Performance

log = logging.getLogger("gan_experiments.train")

#: Lightning's package folder: errors raised there are its checks of the options it was given
LIGHTNING_DIR = Path(lightning.__file__).resolve().parent


def _choice(group: str) -> str:
    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get(group, "?"))
    return "?"


def model_class_of(cfg: DictConfig) -> type[AdversarialModule]:
    """The class `model._target_` names; the training step, callbacks and metrics need the
    AdversarialModule contract (models/base.py)."""
    model_class = get_class(cfg.model._target_)
    if not (isinstance(model_class, type) and issubclass(model_class, AdversarialModule)):
        raise ConfigError(
            f"model._target_={cfg.model._target_}: not a gan_experiments.models.base.AdversarialModule"
        )
    return model_class


def wants_exact_resume(cfg: DictConfig) -> bool:
    """The top-level `exact_resume` (default true), or the deprecated switch where a script still sets it."""
    old_switch = exact_resume_switch(cfg)
    return bool(old_switch) if old_switch is not None else bool(cfg.get("exact_resume", True))


#: the config sections that name the folders a run writes into (checkpoints, sample PNGs, logs)
OUTPUT_SECTIONS = ("callbacks", "logger", "trainer")


def output_folder_keys(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """(dotted key, folder) for every `dirpath` or `*_dir` string below `node`."""
    if isinstance(node, DictConfig):
        for key, value in node.items():
            dotted = f"{prefix}.{key}"
            if isinstance(value, DictConfig):
                yield from output_folder_keys(value, dotted)
            elif isinstance(value, str) and (key == "dirpath" or str(key).endswith("_dir")):
                yield dotted, value


def check_output_folders(cfg: DictConfig) -> None:
    """Every folder the run will write into (a `dirpath` or `*_dir` of the callbacks, loggers and
    trainer), checked with the rule of every command's outputs (`atomic.check_output_folder`) before any
    data is read: a checkpoint folder under a file would otherwise fail when the first epoch ends."""
    for section in OUTPUT_SECTIONS:
        for key, folder in output_folder_keys(cfg.get(section), section):
            check_output_folder(key, folder)


def build(cfg: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule, pl.Trainer]:
    validate(cfg)
    check_output_folders(cfg)
    if HydraConfig.initialized():
        warn_renamed_choices(dict(HydraConfig.get().runtime.choices))
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate_checked(cfg.data)
    spec = spec_of(datamodule, _choice("data"))
    model_class = model_class_of(cfg)
    check_model_fits(
        spec, model_class.data_layout, model_class.requires_labels, _choice("model"), _choice("data")
    )
    model = build_model(cfg.model, spec)
    model.performance = Performance.from_config(cfg.get("perf"))
    callbacks = [
        *instantiate_dict(cfg.get("callbacks")),
        RunConfigInCheckpoint(OmegaConf.to_container(cfg, resolve=True), spec),
    ]
    if wants_exact_resume(cfg):
        callbacks.append(ExactResume())
    loggers = instantiate_dict(cfg.get("logger"))
    trainer = instantiate_checked(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return datamodule, model, trainer


def refuse_relaunching_ranks_in_a_sweep(trainer: pl.Trainer) -> None:
    """`strategy=ddp` starts ranks 1…N-1 by re-running this process's command line (Lightning's
    _SubprocessScriptLauncher); inside a sweep that command line is the whole sweep, which every extra
    rank would start again. Spawned ranks (trainer=ddp_sim) and ranks started by the cluster (SLURM
    tasks, torchrun) are fine."""
    launcher = trainer.strategy.launcher
    if (
        isinstance(launcher, _SubprocessScriptLauncher)
        and launcher.num_processes > 1
        and not launcher.cluster_environment.creates_processes_externally
        and HydraConfig.initialized()
        and HydraConfig.get().mode == RunMode.MULTIRUN
    ):
        raise ConfigError(
            "a sweep (-m) cannot start DDP ranks by re-running its command line (trainer.strategy "
            "start_method=popen); use trainer.strategy.start_method=spawn, or hydra/launcher=slurm with "
            "tasks_per_node = trainer.devices (docs/scaling.md)"
        )


#: `ckpt_path` values Lightning resolves itself (the checkpoint callbacks' own files)
LIGHTNING_CKPT_KEYWORDS = ("last", "best", "hpc", "registry")


def check_resume(cfg: DictConfig, model: pl.LightningModule) -> None:
    """`ckpt_path=<file>`: the file exists, is a checkpoint the project wrote (read as checkpoints.py
    reads every checkpoint: weights only, targets checked) and fits the model this command built, so a
    wrong path ends in one line before any data is read, not in Lightning's traceback."""
    path = cfg.get("ckpt_path")
    if path is None or str(path) in LIGHTNING_CKPT_KEYWORDS or str(path).startswith("registry:"):
        return
    checkpoint = read_checkpoint(path, trust=bool(cfg.get("trust_checkpoint")))
    if IMPORTED_KEY in checkpoint:
        raise ConfigError(
            f"ckpt_path={path}: weights imported from the official repository (import_official), with no "
            "training state (optimizers, schedule, epoch) to resume; translate, export and evaluate use it"
        )
    stored = run_config(checkpoint).model
    if stored.get("_target_") != cfg.model._target_:
        raise ConfigError(
            f"ckpt_path={path}: a checkpoint of {_short(stored.get('_target_'))}, but this command trains "
            f"{_short(cfg.model._target_)} (model={_choice('model')}); resume with the model it was "
            "trained with"
        )
    resume_changes(checkpoint.get(CHECKPOINT_KEY), OmegaConf.to_container(cfg, resolve=True))  # refusals
    expected = model.state_dict()
    stored_weights = checkpoint.get("state_dict", {})
    for key, value in stored_weights.items():
        here = expected.get(key)
        if here is None or tuple(here.shape) != tuple(value.shape):
            shape_here = "missing" if here is None else list(here.shape)
            raise ConfigError(
                f"ckpt_path={path}: does not fit model={_choice('model')} as configured: {key} is "
                f"{list(value.shape)} in the checkpoint, {shape_here} here; resume with the model options "
                f"it was trained with"
            )
    absent = [key for key in expected if key not in stored_weights]
    if absent:
        raise ConfigError(
            f"ckpt_path={path}: does not fit model={_choice('model')} as configured: {absent[0]} is "
            f"missing in the checkpoint; resume with the model options it was trained with"
        )


def _short(target: Any) -> str:
    return str(target).rsplit(".", 1)[-1]


def raised_by_lightning(error: BaseException) -> bool:
    """Whether the innermost frame of `error`'s traceback is Lightning's code: a check of what it was
    given (a ValueError from torch or from our code is a bug, and keeps its traceback)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and Path(frame.tb_frame.f_code.co_filename).is_relative_to(LIGHTNING_DIR)


def train(cfg: DictConfig) -> float | None:
    datamodule, model, trainer = build(cfg)
    check_resume(cfg, model)
    refuse_relaunching_ranks_in_a_sweep(trainer)
    for logger in trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        trainer.fit(
            model,
            datamodule=datamodule,
            ckpt_path=cfg.get("ckpt_path"),
            weights_only=not cfg.get("trust_checkpoint"),
        )
    except ProcessRaisedException as error:  # a spawned rank's error (trainer=ddp_sim): its one line
        reported = user_error_of_rank(error.msg)
        if reported is None:
            raise
        raise reported from None
    except (MisconfigurationException, ValueError) as error:
        if isinstance(error, UserError) or not raised_by_lightning(error):
            raise
        # Lightning's own checks of the options it was given, made inside fit (val_check_interval
        # against the number of batches, …): one line, like ours
        raise ConfigError(f"trainer: {' '.join(str(error).split())}") from None
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    if metric not in trainer.callback_metrics:
        logged = ", ".join(sorted(trainer.callback_metrics)) or "nothing"
        log.error("optimized_metric=%s was not logged by this run (logged: %s)", metric, logged)
        return None  # the sweeper records a failed trial
    return float(trainer.callback_metrics[metric])


main = hydra_command(train, "train", log, sweep_trial=True)


if __name__ == "__main__":
    main()
