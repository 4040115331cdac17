"""logger=wandb (offline) and logger=mlflow (local store): the same scalars, sample grids,
hyperparameters and final metrics as TensorBoard; each backend's package an optional extra."""

from __future__ import annotations

import importlib.util

import pytest

from gan_experiments import loggers
from gan_experiments.checkpoints import load_model
from gan_experiments.errors import ConfigError
from gan_experiments.train import build, train

#: logged by every smoke run: the losses every step; hp/fid is the metrics callback's final summary
SCALARS = {"loss/d", "loss/g", "metrics/fid"}


def smoke_run(smoke_config, tmp_path, logger: str):
    return smoke_config(
        f"logger={logger}",
        "model.generator.width=8",
        "model.discriminator.width=8",
        output_dir=tmp_path / "run",
    )


@pytest.mark.slow
def test_mlflow_gets_scalars_images_config_and_final_metrics(smoke_config, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    train(smoke_run(smoke_config, tmp_path, "mlflow"))
    load_model(
        tmp_path / "run" / "checkpoints" / "last.ckpt"
    )  # the logger's factory is allowed in a run config
    store = tmp_path / "run" / "logs" / "mlruns"
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "gan_experiments"]
    (run,) = client.search_runs([experiment.experiment_id])
    assert SCALARS | {"hp/fid"} <= set(run.data.metrics)
    assert run.data.params["model/_target_"] == "gan_experiments.models.gan.GAN"
    assert run.data.params["loss/_target_"].endswith("NonSaturatingLoss")
    images = [item.path for item in client.list_artifacts(run.info.run_id, "images")]
    assert any("samples" in path and path.endswith(".png") for path in images)
    assert (store / "artifacts").is_dir()


@pytest.fixture
def no_wandb_login(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("WANDB_SILENT", "true")


@pytest.mark.slow
def test_wandb_runs_offline_without_a_login_with_scalars_images_config_and_summary(
    smoke_config, tmp_path, no_wandb_login, monkeypatch
):
    pytest.importorskip("wandb")
    made = []

    class RecordedWandbLogger(loggers.WandbLogger):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(loggers, "WandbLogger", RecordedWandbLogger)
    train(smoke_run(smoke_config, tmp_path, "wandb"))
    load_model(tmp_path / "run" / "checkpoints" / "last.ckpt")
    (logger,) = made
    run = logger.experiment
    try:
        assert run.settings._offline
        assert run.config["model"]["_target_"] == "gan_experiments.models.gan.GAN"
        assert SCALARS | {"hp/fid"} <= set(run.summary.keys())
        (folder,) = (tmp_path / "run" / "wandb").glob("offline-run-*")
        assert list((folder / "files" / "media" / "images").glob("samples_*.png"))
    finally:
        run.finish()


def test_wandb_is_offline_unless_a_login_is_found(tmp_path, no_wandb_login, monkeypatch):
    assert not loggers.wandb_login_found()
    (tmp_path / "netrc").write_text(f"machine {loggers.WANDB_HOST}\n  login user\n  password key\n")
    assert loggers.wandb_login_found()
    (tmp_path / "netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "key")
    assert loggers.wandb_login_found()
    assert loggers.wandb_offline(None) is False
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert loggers.wandb_offline(None) is True
    assert loggers.wandb_offline(False) is False


@pytest.mark.parametrize("extra", ["wandb", "mlflow"])
def test_a_logger_without_its_package_is_one_line_naming_the_extra(
    smoke_config, tmp_path, monkeypatch, extra
):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == extra else find_spec(name, *a)
    )
    with pytest.raises(
        ConfigError, match=rf"^logger={extra} needs the {extra} package, .*pip install -e '\.\[{extra}\]'$"
    ):
        build(smoke_run(smoke_config, tmp_path, extra))
