"""A checkpoint whose weights hold NaN/Inf (damaged, or not a trained checkpoint: torch checks no CRC) is
refused in one line when it is opened, naming the file and the first such tensor (issue 26): `evaluate`
used to die in the FID's matrix square root without a message, and a resume would train on from NaN."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from conftest import make_config
from omegaconf import OmegaConf

import gan_experiments.evaluate as evaluate_module
from gan_experiments.callbacks.run_config import CHECKPOINT_KEY
from gan_experiments.checkpoints import CheckpointError, read_checkpoint
from gan_experiments.export import export
from gan_experiments.generate import generate
from gan_experiments.train import build, train

CHECKPOINT = Path(__file__).parent / "data" / "gan_smoke_2026-11-23.ckpt"


def damaged(tmp_path: Path, value: float = float("nan")) -> tuple[Path, str]:
    """A copy of the small checkpoint with one of its generator's weights set to `value`."""
    content = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    key = next(
        k for k, v in content["state_dict"].items() if k.startswith("generator.") and v.is_floating_point()
    )
    content["state_dict"][key].view(-1)[0] = value
    path = tmp_path / "damaged.ckpt"
    torch.save(content, path)
    return path, key


def refusal(path: Path, key: str) -> str:
    return f"ckpt_path={path}: weights hold NaN/Inf ({key}); the file is damaged or not a trained checkpoint"


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_opening_a_checkpoint_with_non_finite_weights_is_refused(tmp_path, value):
    path, key = damaged(tmp_path, value)
    with pytest.raises(CheckpointError, match="^" + re.escape(refusal(path, key))) as refused:
        read_checkpoint(path)
    assert "\n" not in str(refused.value)
    with pytest.raises(CheckpointError, match="weights hold NaN/Inf"):  # trust is about code, not damage
        read_checkpoint(path, trust=True)


def test_evaluate_refuses_in_one_line_before_any_metric(tmp_path, monkeypatch, caplog):
    path, key = damaged(tmp_path)
    monkeypatch.setattr(evaluate_module, "metrics_for", lambda *a: pytest.fail("metrics were computed"))
    overrides = [f"ckpt_path={path}", f"data.data_dir={tmp_path / 'no_data'}"]
    with pytest.raises(SystemExit) as exited:
        evaluate_module.main(make_config(overrides, tmp_path, config_name="eval"))
    assert exited.value.code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"{refusal(path, key)} (training never writes non-finite weights)"]
    assert not (tmp_path / "metrics.json").exists()


def test_generate_and_export_refuse_in_one_line(tmp_path):
    path, key = damaged(tmp_path)
    out = tmp_path / "grid.png"
    with pytest.raises(CheckpointError, match="^" + re.escape(refusal(path, key))):
        generate(make_config([f"ckpt_path={path}", f"out={out}"], tmp_path, config_name="generate"))
    with pytest.raises(CheckpointError, match="^" + re.escape(refusal(path, key))):
        export(make_config([f"ckpt_path={path}", "format=torchscript"], tmp_path, config_name="export"))
    assert not out.exists() and not list(tmp_path.glob("*.pt"))


def test_resume_from_non_finite_weights_is_refused_before_training(smoke_config, tmp_path):
    """The weights fit the model this command builds (names and shapes: what `check_resume` compared
    before), one of them NaN."""
    _, model, _ = build(smoke_config(output_dir=tmp_path / "first"))
    weights = model.state_dict()
    key = next(k for k in weights if k.startswith("generator."))
    weights[key].view(-1)[0] = float("nan")
    run = OmegaConf.to_container(smoke_config(output_dir=tmp_path / "first"), resolve=True)
    path = tmp_path / "damaged.ckpt"
    torch.save({"state_dict": weights, CHECKPOINT_KEY: run, "epoch": 0, "global_step": 0}, path)
    with pytest.raises(CheckpointError, match="^" + re.escape(refusal(path, key))):
        train(smoke_config(f"ckpt_path={path}", output_dir=tmp_path / "resumed"))
    assert not (tmp_path / "resumed" / "checkpoints").exists()
