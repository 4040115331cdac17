"""Sweeps through real Hydra plugins, as a user runs them: a parallel joblib sweep and an Optuna study,
both writing every job under one logs/train/multiruns/<timestamp>/ directory."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard_events import load_events

from gan_experiments.train import train

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, root: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAN_EXPERIMENTS_ROOT": str(root), "HYDRA_FULL_ERROR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gan_experiments.train", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def smoke_args(fake_mnist_dir: Path) -> list[str]:
    return [
        "debug=smoke",
        f"data.data_dir={fake_mnist_dir}",
        "data.val_size=32",
        "data.download=false",
        "~callbacks.metrics",  # sample-quality metrics are another test's business
        "~callbacks.best_checkpoint",
    ]


def the_sweep_dir(root: Path) -> Path:
    (sweep,) = (root / "logs" / "train" / "multiruns").iterdir()
    return sweep


def job_dirs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_joblib_launcher_runs_jobs_in_parallel_processes_under_one_sweep_dir(tmp_path, fake_mnist_dir):
    result = run_cli(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *smoke_args(fake_mnist_dir),
        "model=gan,lsgan", root=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in result.stdout + result.stderr
    sweep = the_sweep_dir(tmp_path)
    jobs = job_dirs(sweep)
    assert [j.name for j in jobs] == ["0", "1"]
    pids = set()
    for job, model in zip(jobs, ("gan", "lsgan"), strict=True):
        assert f"model={model}" in (job / ".hydra" / "overrides.yaml").read_text()
        assert (job / "checkpoints" / "last.ckpt").exists()
        (events,) = (job / "tensorboard").glob("events.out.tfevents.*")  # one TensorBoard root: the sweep
        pids.add(events.name.split(".")[-2])
    assert len(pids) == 2  # each job in its own worker process


def test_optuna_sweep_minimizes_the_metric_and_writes_the_best_trial(tmp_path, fake_mnist_dir):
    result = run_cli(
        "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=2", "optimized_metric=val/loss_d",
        *smoke_args(fake_mnist_dir), root=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = the_sweep_dir(tmp_path)
    jobs = job_dirs(sweep)
    assert [j.name for j in jobs] == ["0", "1"]
    final = []
    for job in jobs:
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert "model.g_optimizer.betas.0=" in overrides and "loss=" in overrides
        assert (job / "checkpoints" / "last.ckpt").exists()
        final.append(load_events(job).Scalars("val/loss_d")[-1].value)

    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.best_value == pytest.approx(min(final), rel=1e-5)
    params = results.best_params
    assert set(params) == {
        "model.g_optimizer.lr",
        "model.d_optimizer.lr",
        "model.g_optimizer.betas.0",
        "model.d_optimizer.betas.0",
        "model.d_steps",
        "loss",
    }
    assert params["loss"] in {"bce", "hinge", "lsgan"} and 5e-5 <= params["model.g_optimizer.lr"] <= 1e-3
    best = jobs[final.index(min(final))]
    config = torch.load(best / "checkpoints" / "last.ckpt", weights_only=False)["gan_experiments_config"]
    assert config["model"]["g_optimizer"]["betas"][0] == params["model.g_optimizer.betas.0"]
    assert config["model"]["d_steps"] == params["model.d_steps"]  # the trial trained what Optuna asked


def test_a_metric_that_was_not_logged_makes_a_failed_trial(smoke_config, caplog):
    cfg = smoke_config("model=gan", "optimized_metric=metrics/not_logged", "~callbacks.metrics")
    with caplog.at_level(logging.ERROR, logger="gan_experiments.train"):
        assert train(cfg) is None  # the Optuna sweeper records None as a failed trial
    assert "optimized_metric=metrics/not_logged was not logged" in caplog.text
    assert "val/loss_d" in caplog.text  # what was logged, to pick from
    value = train(smoke_config("model=gan", "optimized_metric=val/loss_d", "~callbacks.metrics"))
    assert isinstance(value, float) and math.isfinite(value)
