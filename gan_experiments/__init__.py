"""GAN experiments on PyTorch Lightning and Hydra."""

import os

from omegaconf import OmegaConf

__version__ = "0.1.0"

# `${cwd:}` in configs: where the command was started. Unlike `${hydra:runtime.cwd}` it also resolves
# while Hydra computes a sweep directory, before the job's HydraConfig exists.
OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
