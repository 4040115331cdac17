"""What every command does around its own work (train, evaluate, generate, translate, export, score): the
console filters, and bad input reported as one line with exit status 1 instead of a traceback."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from gan_experiments import CONF_DIR
from gan_experiments.console import quiet_console
from gan_experiments.errors import UserError

Result = TypeVar("Result")


def command_line(module: str) -> str:
    """The command as the user ran it (`python -m <module>` and its overrides), for reports and JSON files."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else sys.argv[1:]
    return " ".join([f"python -m {module}", *overrides])


def run_command(
    command: Callable[[Any], Result],
    cfg: Any,
    log: logging.Logger,
    sweep_trial: bool = False,
) -> Result | None:
    """`command(cfg)` (`cfg`: the composed config of a Hydra command, the parsed arguments of an argparse
    one); a UserError is logged as its one line and ends the process with status 1, or, with
    `sweep_trial` inside a multirun, becomes a failed trial (None) so the rest of the sweep goes on. Not
    NaN: with optuna 2.10 the Optuna sweeper's study.tell(NaN) raises twice and ends the sweep."""
    quiet_console()
    try:
        return command(cfg)
    except UserError as error:
        log.error("%s", error)
        if sweep_trial and HydraConfig.get().mode == RunMode.MULTIRUN:
            return None
        sys.exit(1)


def hydra_command(
    command: Callable[[DictConfig], Result],
    config_name: str,
    log: logging.Logger,
    sweep_trial: bool = False,
) -> Callable[[], Result | None]:
    """The `main` of a command: Hydra composes `conf/<config_name>.yaml` with the command line, then
    `run_command`. Wrapping `command` (functools.wraps) keeps Hydra's job name that of the command's
    module (train, evaluate, …): Hydra names the job, and its log file, after the task function's file."""

    @hydra.main(version_base="1.3", config_path=CONF_DIR, config_name=config_name)
    @functools.wraps(command)
    def main(cfg: DictConfig) -> Result | None:
        return run_command(command, cfg, log, sweep_trial=sweep_trial)

    return main
