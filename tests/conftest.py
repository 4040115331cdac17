"""Shared fixtures: synthetic data in the real on-disk formats, and composing run configs in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import gan_experiments  # noqa: F401  (registers the ${cwd:} config resolver)
from gan_experiments.data.synthetic import write_fake_mnist

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: one intra-op thread each, not two fighting over a core
    torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
REAL_MNIST_RAW = ROOT.parent / "shared" / "data" / "MNIST" / "raw"


class TinyImageFeatures(torch.nn.Module):
    """A stand-in for InceptionV3 where only the FID/KID wiring is tested: 12 features per image (the
    mean of each RGB channel over 2×2 cells), no weights file, instant on a CPU."""

    num_features = 12

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        rgb = images.float().expand(-1, 3, -1, -1) if images.shape[1] == 1 else images.float()
        return torch.nn.functional.adaptive_avg_pool2d(rgb, 2).flatten(1)


@pytest.fixture(scope="session")
def fake_mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mnist(tmp_path_factory.mktemp("fake_mnist"))


def make_config(overrides: list[str], output_dir: Path, config_name: str = "train") -> DictConfig:
    """Compose like the CLI does, with the run directory pointed at output_dir."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.root_dir = str(output_dir)
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir / "logs")
        del cfg.hydra
    return cfg


@pytest.fixture
def smoke_config(fake_mnist_dir: Path, tmp_path: Path):
    """smoke_config(*overrides) → a debug=smoke run config on synthetic MNIST writing under tmp_path."""

    def _make(*overrides: str, output_dir: Path | None = None) -> DictConfig:
        base = ["debug=smoke"]
        if not any(o.startswith("data=") for o in overrides):
            base += [f"data.data_dir={fake_mnist_dir}", "data.val_size=32", "data.download=false"]
        return make_config([*base, *overrides], output_dir or tmp_path)

    yield _make
    GlobalHydra.instance().clear()
