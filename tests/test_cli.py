"""The command line as a user runs it: help, printed config, unknown options, a sweep, bad values."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, root: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAN_EXPERIMENTS_ROOT": str(root), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "gan_experiments.train", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_help_lists_the_config_groups(tmp_path):
    out = run_cli("--help", root=tmp_path).stdout
    for line in (
        "model: cgan, cgan_mlp, conv_gan, cyclegan, dcgan, dcgan_tf, gan, lsgan, pix2pix",
        "loss: bce, hinge, lsgan, minimax, rpgan, wgan, wgan_gp",
        "regularizer: gp, r1, r2",
        "extension: categorical_code, top_k",
        "debug:",
    ):
        assert line in out
    for group in (
        "data:",
        "trainer:",
        "logger:",
        "callbacks:",
        "paths:",
        "experiment:",
        "perf:",
        "hparams_search:",
    ):
        assert group in out
    assert "python -m gan_experiments.train" in out  # usage examples in the header


def test_cfg_job_prints_the_composed_config(tmp_path):
    result = run_cli("model=conv_gan", "loss=hinge", "model.d_steps=3", "--cfg", "job", root=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gan_experiments.networks.conv_gan.ConvGANGenerator" in result.stdout
    assert "gan_experiments.losses.HingeLoss" in result.stdout
    assert "d_steps: 3" in result.stdout


def test_unknown_group_option_lists_the_choices(tmp_path):
    result = run_cli("model=foo", root=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'model/foo'" in result.stderr
    assert "Available options in 'model'" in result.stderr and "dcgan" in result.stderr


def test_invalid_value_stops_with_one_line_naming_the_key(tmp_path, fake_mnist_dir):
    result = run_cli(
        "debug=smoke", f"data.data_dir={fake_mnist_dir}", "model.d_optimizer.lr=-1", root=tmp_path
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "model.d_optimizer.lr must be a number > 0, got -1" in errors[0]
    assert "Traceback" not in result.stderr


def test_a_bad_combination_of_data_options_stops_with_one_line(tmp_path, fake_mnist_dir):
    """MNIST padded to 20 px: once found in the data module's setup inside Lightning's fit, a traceback;
    now one line naming the option and what fits, exit status 1, no checkpoint."""
    result = run_cli("debug=smoke", f"data.data_dir={fake_mnist_dir}", "data.image_size=20", root=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert "data.image_size=20: padding needs an even size >= 28; use data.resize_mode=resize" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not list(tmp_path.rglob("*.ckpt"))


def test_two_job_multirun_writes_one_sweep_directory(tmp_path, fake_mnist_dir):
    result = run_cli(
        "-m", "debug=smoke", f"data.data_dir={fake_mnist_dir}", "data.val_size=32", "model=gan,dcgan",
        root=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweeps = list((tmp_path / "logs" / "train" / "multiruns").iterdir())
    assert len(sweeps) == 1
    jobs = sorted(p.name for p in sweeps[0].iterdir() if p.is_dir() and not p.name.startswith("."))
    assert jobs == ["0", "1"]
    for job, model in (("0", "gan"), ("1", "dcgan")):
        job_dir = sweeps[0] / job
        assert f"model={model}" in (job_dir / ".hydra" / "overrides.yaml").read_text()
        assert (job_dir / "checkpoints" / "last.ckpt").exists()
        assert list((job_dir / "tensorboard").glob("events.out.tfevents.*"))
    config = torch.load(sweeps[0] / "1" / "checkpoints" / "last.ckpt", weights_only=False)[
        "gan_experiments_config"
    ]
    assert config["model"]["generator"]["_target_"].endswith("DCGANGenerator")


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.g_optimizer.lr=0", "model.g_optimizer.lr must be a number > 0, got 0"),
        ("data.batch_size=0", "data.batch_size must be an integer >= 1, got 0"),
        ("model.d_steps=0", "model.d_steps must be an integer >= 1, got 0"),
        ("model.d_steps=1.5", "model.d_steps must be an integer >= 1, got 1.5"),
        ("model.g_optimizer.betas=[0.5,1.2]", "model.g_optimizer.betas must be two numbers in [0, 1)"),
        ("model.generator.width=0", "model.generator.width must be an integer >= 1, got 0"),
        ("trainer.max_epochs=0", "trainer.max_epochs must be an integer >= 1 (or -1), got 0"),
    ],
)
def test_invalid_numbers_are_refused_before_training(smoke_config, override, message):
    from gan_experiments.errors import ConfigError
    from gan_experiments.train import build

    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        build(smoke_config(override))


def test_a_run_prints_no_advertisements_deprecations_or_empty_columns(tmp_path, fake_mnist_dir):
    """…and ends on the run's summary. The quality bar is set so any samples meet it: its checkpoint
    (bar.ckpt) is written, which is where Lightning used to print "`weights_only` was not set"."""
    summary = "callbacks.model_summary={_target_:gan_experiments.callbacks.model_summary.NetworkSummary}"
    any_samples_pass = (
        "callbacks=[default,quality_bar]", "callbacks.quality_bar.fid_times_floor=1e9",
        "callbacks.quality_bar.digit_share=[0,1]",
    )  # fmt: skip
    result = run_cli(
        "debug=smoke", f"data.data_dir={fake_mnist_dir}", "data.val_size=32", summary, *any_samples_pass,
        root=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout + result.stderr
    for noise in (
        "💡",
        "litlogger",
        "LeafSpec",
        "FLOPs",
        "already configured",
        "TPU available",
        "was configured so",
        "weights_only",
        "Warning",
    ):
        assert noise not in printed, noise
    assert "Trained params" in printed and "DCGANGenerator" in printed and "GPU available" in printed
    run_dir = next((tmp_path / "logs" / "train" / "runs").iterdir())
    assert (run_dir / "checkpoints" / "bar.ckpt").is_file()
    summary_lines = result.stdout[result.stdout.index("Training done: max_epochs=1 reached") :].splitlines()
    assert f"  run directory  {run_dir}" in summary_lines
    assert any(line.startswith("  fid            last ") for line in summary_lines)
    assert any(line.startswith("  quality bar    met ") for line in summary_lines)
    best = run_dir / "checkpoints" / "best.ckpt"
    assert f"  samples        python -m gan_experiments.generate ckpt_path={best}" in summary_lines
    assert f"  TensorBoard    tensorboard --logdir {run_dir}" in summary_lines
    assert "epoch 0 (2 batches): fid " in result.stdout


INSTALLED_COMMANDS = {
    "gan-train": "gan_experiments.train:main",
    "gan-evaluate": "gan_experiments.evaluate:main",
    "gan-generate": "gan_experiments.generate:main",
    "gan-translate": "gan_experiments.translate:main",
    "gan-export": "gan_experiments.export:main",
    "gan-score": "gan_experiments.score:main",
}


def test_installed_commands_load_and_complete_options_from_any_directory(tmp_path):
    """`pip install -e .` installs one command per CLI; Hydra's tab completion queries the installed
    command (it cannot complete `python -m …`), and the config tree must be found from any directory."""
    from importlib.metadata import distribution

    points = {p.name: p for p in distribution("gan_experiments").entry_points if p.group == "console_scripts"}
    assert {name: p.value for name, p in points.items()} == INSTALLED_COMMANDS
    assert all(callable(p.load()) for p in points.values())
    command = Path(sys.executable).parent / "gan-train"
    if not command.is_file():
        pytest.skip(f"{command} is not installed (pip install -e . writes it)")
    env = {**os.environ, "COMP_LINE": "gan-train model=cy", "GAN_EXPERIMENTS_ROOT": str(tmp_path)}
    result = subprocess.run(
        [str(command), "-sc", "query=bash"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["model=cyclegan"]


def test_a_built_wheel_carries_the_config_tree_and_finds_it(tmp_path):
    """A regular (non-editable) install has no checkout beside it: setup.py copies conf/ into the wheel
    as gan_experiments/conf, and CONF_DIR takes that copy."""
    pytest.importorskip("setuptools")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"pip cannot build a wheel here: {built.stderr.strip()[-300:]}")
    (wheel,) = (tmp_path / "wheel").glob("gan_experiments-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("gan_experiments/conf/")}
        archive.extractall(tmp_path / "site")
    conf = ROOT / "conf"
    expected = {f"gan_experiments/conf/{path.relative_to(conf)}" for path in conf.rglob("*.yaml")}
    assert expected and expected <= packaged
    found = subprocess.run(
        [sys.executable, "-c", "import gan_experiments; print(gan_experiments.CONF_DIR)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True, text=True,
    )  # fmt: skip
    assert found.stdout.strip() == str((tmp_path / "site" / "gan_experiments" / "conf").resolve())
