"""The metrics callback: metrics/* next to the losses in smoke runs, best.ckpt by a metric, the optimized
metric returned to sweepers, HParams metrics in TensorBoard, translation models, and switched off."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from conftest import make_config
from synthetic_images import write_paired_dataset, write_unpaired_dataset
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard_events import load_events, scalar_tags

from gan_experiments.callbacks.metrics import GANMetrics
from gan_experiments.checkpoints import load_model
from gan_experiments.metrics import inception
from gan_experiments.train import build, train

ROOT = Path(__file__).resolve().parents[1]
MNIST_KEYS = {
    "fid", "kid_mean", "kid_std", "is_mean", "is_std", "coverage_min", "coverage_max", "digits_under_5pct",
    "coverage_kl", "fid_floor", "kid_floor_mean", "kid_floor_std", "is_real_mean",
    *(f"coverage/{digit}" for digit in range(10)),
}  # fmt: skip


def mnist_overrides(data_dir) -> list[str]:
    return ["debug=smoke", f"data.data_dir={data_dir}", "data.val_size=32", "data.download=false"]


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory, fake_mnist_dir):
    """Two smoke epochs with a sanity check, metrics every epoch, optimized_metric=metrics/fid."""
    out = tmp_path_factory.mktemp("dcgan_metrics")
    cfg = make_config(
        [*mnist_overrides(fake_mnist_dir), "trainer.max_epochs=2", "trainer.num_sanity_val_steps=1",
         "optimized_metric=metrics/fid"],
        out,
    )  # fmt: skip
    return out, train(cfg)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """No InceptionV3 weights anywhere, a fresh warn-once flag, and downloads that fail loudly."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "_warned", False)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)


def values(run_dir, tag: str) -> list[float]:
    return [event.value for event in load_events(run_dir).Scalars(tag)]


def test_smoke_run_logs_every_metric_once_per_epoch_after_the_sanity_check(dcgan_run):
    run_dir, _ = dcgan_run
    tags = scalar_tags(run_dir)
    assert {f"metrics/{key}" for key in MNIST_KEYS} <= tags
    assert "metrics/label_accuracy" not in tags  # unconditional
    for key in MNIST_KEYS:
        logged = values(run_dir, f"metrics/{key}")
        assert len(logged) == 2, (key, logged)  # epochs 1 and 2; not the sanity check
        assert all(math.isfinite(v) for v in logged), key
    assert values(run_dir, "metrics/fid")[-1] > values(run_dir, "metrics/fid_floor")[-1]
    assert sum(values(run_dir, f"metrics/coverage/{d}")[-1] for d in range(10)) == pytest.approx(1)
    assert {"loss/d", "val/loss_d"} <= tags  # next to the losses


def test_train_returns_the_optimized_metric(dcgan_run):
    run_dir, result = dcgan_run
    assert isinstance(result, float)
    assert result == pytest.approx(values(run_dir, "metrics/fid")[-1], rel=1e-6)


def test_best_checkpoint_holds_the_epoch_with_the_lowest_fid(dcgan_run):
    run_dir, _ = dcgan_run
    best = run_dir / "checkpoints" / "best.ckpt"
    checkpoint = torch.load(best, weights_only=False)
    states = [s for k, s in checkpoint["callbacks"].items() if "BestMetricCheckpoint" in k]
    assert len(states) == 1 and states[0]["monitor"] == "metrics/fid"
    assert float(states[0]["best_model_score"]) == pytest.approx(min(values(run_dir, "metrics/fid")))
    model, _ = load_model(best)  # a regular, loadable checkpoint
    assert model.z_dim == 100


def hparams_plugin_data(run_dir) -> dict[str, plugin_data_pb2.HParamsPluginData]:
    found = {}
    for path in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    found[value.tag] = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content
                    )
    return found


def test_final_metrics_reach_the_hparams_tab(dcgan_run):
    run_dir, _ = dcgan_run
    data = hparams_plugin_data(run_dir)
    metric_tags = {info.name.tag for info in data["_hparams_/experiment"].experiment.metric_infos}
    assert {"hp/fid", "hp/kid_mean", "hp/is_mean", "hp/coverage_kl", "hp/fid_floor"} <= metric_tags
    assert not any(tag.startswith("hp/coverage/") for tag in metric_tags)
    hparams = data["_hparams_/session_start_info"].session_start_info.hparams
    assert hparams["model/_target_"].string_value == "gan_experiments.models.gan.GAN"
    assert values(run_dir, "hp/fid") == [pytest.approx(values(run_dir, "metrics/fid")[-1])]


def test_cgan_every_n_epochs_measures_on_schedule_and_after_the_last_epoch(smoke_config, tmp_path):
    cfg = smoke_config("model=cgan", "trainer.max_epochs=3", "callbacks.metrics.every_n_epochs=2")
    train(cfg)
    assert len(values(tmp_path, "metrics/fid")) == 2  # epoch 2 (schedule) and epoch 3 (the last)
    accuracy = values(tmp_path, "metrics/label_accuracy")
    assert len(accuracy) == 2 and all(0 <= a <= 1 for a in accuracy)


def test_metrics_switched_off_load_nothing_and_best_checkpoint_waits(smoke_config, tmp_path):
    datamodule, model, trainer = build(smoke_config("callbacks.metrics.every_n_epochs=0"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, datamodule=datamodule)
    callback = next(c for c in trainer.callbacks if isinstance(c, GANMetrics))
    assert callback.run is None  # no classifier, no reference statistics
    assert not any(tag.startswith(("metrics/", "hp/")) for tag in scalar_tags(tmp_path))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last.ckpt"]
    assert len([w for w in caught if "monitors 'metrics/fid'" in str(w.message)]) == 1


def test_metrics_callback_removed_does_not_break_checkpointing(smoke_config, tmp_path):
    train(smoke_config("~callbacks.metrics", "trainer.max_epochs=2"))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last.ckpt"]


@pytest.mark.parametrize(
    "model, keys, monitor",
    [
        ("pix2pix", {"l1", "psnr", "ssim"}, "l1"),
        ("cyclegan", {"cycle_l1_a", "cycle_l1_b", "cycle_l1"}, "cycle_l1"),
    ],
)
def test_translation_runs_log_their_metrics_without_inception(offline_hub, tmp_path, model, keys, monitor):
    if model == "pix2pix":
        data = ["data=paired_folder", f"data.root={write_paired_dataset(tmp_path / 'pairs', 4, 5, 40)}"]
    else:
        root = write_unpaired_dataset(tmp_path / "h2z", n_a=4, n_b=4, n_test_a=5, n_test_b=3, size=40)
        data = ["data=unpaired_folder", f"data.root={root}"]
    cfg = make_config(["debug=smoke", "data.download=false", f"model={model}", *data], tmp_path / "run")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg)
    assert len([w for w in caught if "Inception FID/KID skipped" in str(w.message)]) == 1
    run_dir = tmp_path / "run"
    tags = scalar_tags(run_dir)
    assert {f"metrics/{key}" for key in keys} <= tags
    assert not any(tag.startswith("metrics/fid") for tag in tags)
    assert all(math.isfinite(values(run_dir, f"metrics/{key}")[0]) for key in keys)
    # the same images through the same generator as validation_step: the numbers must agree
    # (CycleGAN's B side differs on purpose: the 3 test B images are counted once, not 5 times)
    same = {"pix2pix": ("l1", "val/l1"), "cyclegan": ("cycle_l1_a", "val/cycle_l1_a")}[model]
    assert values(run_dir, f"metrics/{same[0]}") == pytest.approx(values(run_dir, same[1]), rel=1e-5)
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    state = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=False)["callbacks"]
    assert any(s.get("monitor") == f"metrics/{monitor}" for s in state.values())


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dcgan", "pix2pix"])
def test_two_ddp_ranks_measure_without_deadlock(fake_mnist_dir, tmp_path, model):
    """trainer=ddp_sim (2 spawned CPU processes, gloo): MNIST metrics are computed by every rank and
    broadcast from rank 0; pix2pix accumulators sync over the ranks' validation shards. A subprocess
    with a timeout turns a deadlock into a failure instead of a hung suite."""
    if model == "dcgan":
        data = [f"data.data_dir={fake_mnist_dir}", "data.val_size=32"]
    else:
        data = ["data=paired_folder", f"data.root={write_paired_dataset(tmp_path / 'pairs', 8, 5, 40)}"]
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "gan_experiments.train", "debug=smoke", "trainer=ddp_sim", f"model={model}",
         "data.download=false", *data, f"hydra.run.dir={run_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    key = "metrics/fid" if model == "dcgan" else "metrics/l1"
    logged = values(run_dir, key)
    assert len(logged) == 1 and math.isfinite(logged[0])
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
