"""MNIST generators shipped in the package: `generate pretrained=<name>` samples one with no training
and no download.

Each is a packed checkpoint in `gan_experiments/weights/<name>.pt` — the run config the checkpoint
stored and the generator's weights only (the EMA copy when the run kept one), floats stored as fp16 —
next to `<name>.json`: its sha256 (checked before loading, like the metric classifier's), the metrics
of the packed weights as `evaluate` measures them (and of the fp32 original, to show what fp16 storage
costs), the command that trained it and which checkpoint of that run it is.

This module only reads them: packing one (training checkpoint in, scored `.pt` + `.json` out) is a
measurement job and lives in the lab, `python -m gan_lab.pretrained` (gan_lab/pretrained.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY
from gan_experiments.checkpoints import check_run_config, model_config_and_spec
from gan_experiments.compat import current_name, upgrade_checkpoint
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.instantiation import build_model
from gan_experiments.metrics.classifier import sha256_of
from gan_experiments.models.gan import GAN

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: the key of the generator's weights in a packed file
GENERATOR_KEY = "generator"


def available(folder: Path | None = None) -> list[str]:
    """Names of the packed generators (a `.pt` with its `.json` record)."""
    folder = folder or WEIGHTS_DIR
    return sorted(path.stem for path in folder.glob("*.pt") if path.with_suffix(".json").is_file())


def read_record(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The JSON record of a packed generator (sha256, metrics, commands); unknown names list the known."""
    folder = folder or WEIGHTS_DIR
    path = folder / f"{name}.json"
    if not path.is_file():
        names = ", ".join(available(folder)) or "none are installed"
        raise ConfigError(f"pretrained={name}: no such pretrained generator (available: {names})")
    return json.loads(path.read_text())


def load_pretrained(name: str, device: str | torch.device = "cpu", folder: Path | None = None) -> GAN:
    """The packed generator as a GAN module in eval mode (fp32), after its sha256 matches the record."""
    folder = folder or WEIGHTS_DIR
    name = current_name("pretrained", name)
    record = read_record(name, folder)
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise UserError(f"{path}: weights of pretrained={name} missing (reinstall the package)")
    actual = sha256_of(path)
    if actual != record["sha256"]:
        raise UserError(
            f"{path}: sha256 {actual[:12]}… differs from the recorded {record['sha256'][:12]}…; the file is "
            "corrupted or was replaced (reinstall the package)"
        )
    return load_packed(path).to(device)


def load_packed(path: Path) -> GAN:
    """A packed file as a GAN module in eval mode, fp32; its run config checked like a checkpoint's."""
    packed = upgrade_checkpoint(torch.load(path, map_location="cpu", weights_only=True), CHECKPOINT_KEY)
    check_run_config(packed[CHECKPOINT_KEY], path)
    model = build_model(*model_config_and_spec(packed))
    model.discard_ema()  # the packed weights are the EMA's: they go into the generator
    weights = packed[GENERATOR_KEY]
    model.generator.load_state_dict(
        {key: value.float() if value.is_floating_point() else value for key, value in weights.items()}
    )
    return model.eval()
