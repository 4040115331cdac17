"""The experiment loggers beside TensorBoard and CSV (`logger=wandb`, `logger=mlflow`), and the two
things Lightning's `Logger` interface leaves to each backend: images and a run's final metrics.

Scalars and hyperparameters go through Lightning's loggers as they are (`log_metrics`,
`log_hyperparams`); sample grids (`callbacks.images.log_grid`) and the HParams summary of the metrics
callback go through `log_image` and `log_final_metrics` here, so every logger a run has gets the same
scalars, images and hyperparameters.

Both backends are optional extras (`pip install -e '.[wandb]'`, `'.[mlflow]'`); selecting one without
its package is one line naming the extra. Weights & Biases runs offline (a `wandb/` folder in the run
directory, uploaded later with `wandb sync`) unless a login is found, so a run never waits on a network
or a login prompt; `logger.wandb.offline=true|false` decides explicitly.
"""

from __future__ import annotations

import importlib.util
import netrc
import os
from pathlib import Path
from typing import Any

import numpy as np
from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor

from gan_experiments.errors import ConfigError

WANDB_HOST = "api.wandb.ai"


def require(package: str, extra: str) -> None:
    """One line naming the extra that installs an optional logger's package."""
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"logger={extra} needs the {package} package, which is not installed: pip install -e '.[{extra}]'"
        )


def wandb_login_found() -> bool:
    """A W&B API key in the environment or in ~/.netrc (where `wandb login` stores it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return path.is_file() and netrc.netrc(str(path)).authenticators(WANDB_HOST) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_logger(
    save_dir: str, project: str = "gan_experiments", name: str | None = None, offline: bool | None = None,
    **kwargs: Any,
) -> WandbLogger:  # fmt: skip
    """`WandbLogger` writing under `save_dir`; `offline=None` means offline unless a login is found (or
    WANDB_MODE says otherwise)."""
    require("wandb", "wandb")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        save_dir=save_dir, project=project, name=name, offline=wandb_offline(offline), **kwargs
    )


def wandb_offline(offline: bool | None) -> bool:
    """`offline` when set; else WANDB_MODE when set; else offline unless a login is found."""
    if offline is not None:
        return bool(offline)
    mode = os.environ.get("WANDB_MODE")
    return mode in ("offline", "dryrun") if mode else not wandb_login_found()


def mlflow_logger(
    store_dir: str, experiment_name: str = "gan_experiments", run_name: str | None = None,
    tracking_uri: str | None = None, **kwargs: Any,
) -> MLFlowLogger:  # fmt: skip
    """`MLFlowLogger` on a local store shared by all runs, so the MLflow UI compares them: the run table
    in `<store_dir>/mlflow.db` (SQLite: MLflow 3 refuses new plain-file stores) and the images in
    `<store_dir>/artifacts/`. `tracking_uri` (a server, another database) replaces the local table."""
    require("mlflow", "mlflow")
    if tracking_uri:  # a server or database of the user's: its own artifact store too
        return MLFlowLogger(
            experiment_name=experiment_name, run_name=run_name, tracking_uri=tracking_uri, **kwargs
        )
    store = Path(store_dir).expanduser().resolve()
    store.mkdir(parents=True, exist_ok=True)
    return MLFlowLogger(
        experiment_name=experiment_name,
        run_name=run_name,
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        artifact_location=(store / "artifacts").as_uri(),
        **kwargs,
    )


def to_hwc_uint8(grid: Tensor) -> np.ndarray:
    """A (C, H, W) float grid in [0, 1] as the (H, W, C) uint8 array image APIs take (gray: (H, W))."""
    array = grid.detach().float().clamp(0, 1).mul(255).round().byte().cpu().permute(1, 2, 0).numpy()
    return array[:, :, 0] if array.shape[2] == 1 else array


@rank_zero_only
def log_image(logger: Logger, tag: str, grid: Tensor, step: int) -> None:
    """One image grid, (C, H, W) float in [0, 1], under `tag` at `step`, in the backend's image store
    (loggers without one, such as CSV, are left alone). Rank 0 only: the other ranks' loggers are
    Lightning's placeholders."""
    if isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(tag, grid, global_step=step)
    elif isinstance(logger, WandbLogger):
        logger.log_image(key=tag, images=[to_hwc_uint8(grid)], step=step)
    elif isinstance(logger, MLFlowLogger):
        logger.experiment.log_image(logger.run_id, to_hwc_uint8(grid), key=tag.replace("/", "_"), step=step)


@rank_zero_only
def log_final_metrics(logger: Logger, metrics: dict[str, float], step: int) -> None:
    """A run's final metric values, where each backend compares runs: TensorBoard's HParams tab, the
    W&B run summary, MLflow metrics at the last step."""
    if isinstance(logger, TensorBoardLogger):
        logger.log_hyperparams(logger.hparams, metrics=metrics, step=step)
    elif isinstance(logger, WandbLogger):
        logger.experiment.summary.update(metrics)
    elif isinstance(logger, MLFlowLogger):
        logger.log_metrics(metrics, step=step)
