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
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan_experiments import CONF_DIR
from gan_experiments.atomic import check_output_folder
from gan_experiments.console import quiet_console
from gan_experiments.errors import UserError

Result = TypeVar("Result")
#: the format of the commands' log lines (Hydra's default job logging)
RUN_FOLDER_LINE = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")


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


class CheckRunFolder(Callback):
    """Hydra creates the run folder (`hydra.run.dir`; a sweep's `hydra.sweep.dir`) before the command
    starts, so a folder under a file, or one that cannot be written, ended in Hydra's traceback. This
    callback (conf/hydra/default.yaml) checks it first with the rule of every output path
    (`atomic.check_output_folder`) and reports a failure as one line with exit status 1."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.check(config, "hydra.sweep.dir")

    @staticmethod
    def check(config: DictConfig, key: str) -> None:
        try:
            check_output_folder(key, OmegaConf.select(config, key))
        except UserError as error:
            # logging is not configured yet: the line the command's logger would print, on stderr
            name = f"gan_experiments.{OmegaConf.select(config, 'task_name', default='cli')}"
            record = logging.LogRecord(name, logging.ERROR, __file__, 0, "%s", (error,), None)
            print(RUN_FOLDER_LINE.format(record), file=sys.stderr)
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
