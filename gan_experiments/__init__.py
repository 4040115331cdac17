"""GAN experiments on PyTorch Lightning and Hydra."""

import os
import time
from pathlib import Path

from omegaconf import OmegaConf

__version__ = "0.1.0"


def _conf_dir() -> str:
    """The Hydra config tree, as an absolute path: `@hydra.main(config_path="../conf")` would resolve it as
    a Python package (`conf`) when the CLIs run as installed commands (gan-train, …), and fail there. A
    wheel carries a copy inside the package (setup.py); an editable install and a checkout use conf/
    beside the package."""
    packaged = Path(__file__).resolve().parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "conf")


CONF_DIR = _conf_dir()

#: wall-clock time when the package was first imported: the start of a `python -m gan_experiments.…`
#: command for the time-to-quality figures (callbacks.quality_bar)
LAUNCHED_AT = time.time()

# `${cwd:}` in configs: where the command was started. Unlike `${hydra:runtime.cwd}` it also resolves
# while Hydra computes a sweep directory, before the job's HydraConfig exists.
OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
