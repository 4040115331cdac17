"""GAN experiments on PyTorch Lightning and Hydra."""

import os
import time
from pathlib import Path

from omegaconf import OmegaConf

__version__ = "0.1.0"

#: the Hydra config tree, as an absolute path: `@hydra.main(config_path="../conf")` would resolve it as a
#: Python package (`conf`) when the CLIs run as installed commands (gan-train, …), and fail there. conf/
#: sits beside the package, so the commands need the editable install (`pip install -e .`, what `make`
#: does); a wheel does not carry conf/
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")

#: wall-clock time when the package was first imported: the start of a `python -m gan_experiments.…`
#: command for the time-to-quality figures (callbacks.quality_bar)
LAUNCHED_AT = time.time()

# `${cwd:}` in configs: where the command was started. Unlike `${hydra:runtime.cwd}` it also resolves
# while Hydra computes a sweep directory, before the job's HydraConfig exists.
OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
