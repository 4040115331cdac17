"""Shared fixtures: synthetic data in the real on-disk formats, and composing run configs in-process."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import gan_experiments  # noqa: F401  (registers the ${cwd:} config resolver)

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
REAL_MNIST_RAW = ROOT.parent / "shared" / "data" / "MNIST" / "raw"


def write_idx_images(path: Path, images: np.ndarray) -> None:
    """IDX3 as in the MNIST distribution: magic 0x803, count, rows, cols, then uint8 pixels."""
    n, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", 0x803, n, rows, cols) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes())


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28×28 images whose bright square sits at a label-dependent place: not MNIST, but learnable."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, label in enumerate(labels):
        r, c = 2 + (label // 5) * 12, 2 + (label % 5) * 5
        images[i, r : r + 10, c : c + 5] = 255
    return images, labels


def write_fake_mnist(root: Path, n_train: int = 160, n_test: int = 40) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx_images(raw / f"{split}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{split}-labels-idx1-ubyte", labels)
    return root


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
