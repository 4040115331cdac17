"""What a training run tells the user: one line per measurement, and the summary at its end (run
directory, last/best metrics, the quality bar, the commands to use the run)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.trainer.states import RunningStage
from lightning.pytorch.utilities.exceptions import SIGTERMException

from gan_experiments.callbacks.quality_bar import QualityBar
from gan_experiments.callbacks.run_summary import RunSummary
from gan_experiments.metrics.headline import measurement_line
from gan_experiments.train import train

LOGGER = "gan_experiments.train"


def summary_of(caplog: pytest.LogCaptureFixture) -> str:
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Training ")]
    assert len(summaries) == 1, [r.getMessage() for r in caplog.records]
    return summaries[0]


def test_a_smoke_run_ends_with_its_summary(smoke_config, tmp_path, caplog):
    """every_n_epochs=2 of 3 epochs: measured after epochs 1 and 2 (the last); epoch 0's values are not
    repeated as a measurement of epoch 1's validation… nor epoch 1's of epoch 2's."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    bar = ("callbacks=[default,quality_bar]", "callbacks.quality_bar.fid_times_floor=0.001")  # never met
    cfg = smoke_config("trainer.max_epochs=3", "callbacks.metrics.every_n_epochs=2", *bar)
    train(cfg)
    lines = [r.getMessage() for r in caplog.records]
    measured = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in measured] == ["epoch 1 (4 batches)", "epoch 2 (6 batches)"]
    assert "fid " in measured[0] and "(floor " in measured[0] and "digits " in measured[0]

    summary = summary_of(caplog).splitlines()
    assert summary[0].startswith("Training done: max_epochs=3 reached after 6 batches")
    rows = {line.split()[0]: line for line in summary[1:]}
    assert rows["run"] == f"  run directory  {tmp_path}"
    assert "last " in rows["fid"] and "(epoch 2)" in rows["fid"] and "(epoch 1)" in rows["fid"]
    assert {"fid_floor", "coverage_min", "coverage_max"} <= rows.keys()
    assert not any(key.startswith("coverage/") for key in rows)
    assert rows["quality"] == "  quality bar    not met"
    best = tmp_path / "checkpoints" / "best.ckpt"
    assert rows["samples"] == f"  samples        python -m gan_experiments.generate ckpt_path={best}"
    assert rows["TensorBoard"] == f"  TensorBoard    tensorboard --logdir {tmp_path}"
    assert "resume" not in rows


def test_a_translation_run_gets_the_translate_command(smoke_config, fake_mnist_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    data = [
        f"data.data_dir={fake_mnist_dir}",
        "data.download=false",
        "data.eval_size=8",
        "data.val_size=32",
        "data.batch_size=4",
    ]
    train(smoke_config("model=pix2pix", "data=mnist_outlines", *data, "~callbacks.best_checkpoint"))
    rows = {line.split()[0]: line for line in summary_of(caplog).splitlines()[1:]}
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert rows["translate"] == (
        f"  translate      python -m gan_experiments.translate ckpt_path={last} input_dir=IMAGE_DIR "
        f"output_dir={tmp_path / 'translations'}"
    )
    assert "samples" not in rows and "quality" not in rows  # the bar is for MNIST noise models
    assert "l1" in rows and "digit_accuracy" in rows and "(epoch 0)" in rows["l1"]


def test_a_run_without_the_callbacks_prints_no_summary(smoke_config, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    train(smoke_config("callbacks=none"))
    assert not [r for r in caplog.records if r.getMessage().startswith("Training ")]


# ---------------------------------------------------------------- the callback on its own


def fake_trainer(tmp_path: Path, **changes) -> SimpleNamespace:
    trainer = dict(
        current_epoch=3, max_epochs=10, max_steps=-1, global_step=80, callbacks=[], should_stop=False,
        is_global_zero=True, progress_bar_callback=None, sanity_checking=False, callback_metrics={},
    )  # fmt: skip
    return SimpleNamespace(**{**trainer, **changes})


MODULE = SimpleNamespace(batches_seen=40, data_layout="images")


def measured(summary: RunSummary, trainer: SimpleNamespace, epoch: int, **scores: float) -> None:
    trainer.current_epoch = epoch
    trainer.callback_metrics = {f"metrics/{k}": torch.tensor(v) for k, v in scores.items()}
    summary.on_validation_end(trainer, MODULE)


def test_the_time_of_the_quality_bar_is_reported(tmp_path):
    bar = QualityBar(dirpath=str(tmp_path / "checkpoints"))
    bar.reached = {"seconds_since_launch": 697.4, "batches": 5000, "epoch": 5, "metrics": {}}
    trainer = fake_trainer(tmp_path, callbacks=[bar])
    lines = RunSummary(str(tmp_path)).summary_lines(trainer, MODULE)
    assert (
        f"  quality bar    met 697 s after launch (5,000 batches, epoch 5): {bar.dirpath / 'bar.ckpt'}"
        in lines
    )


def test_best_and_last_with_their_epochs(tmp_path):
    summary, trainer = RunSummary(str(tmp_path)), fake_trainer(tmp_path)
    scores = dict(fid_floor=3.0, coverage_min=0.08, coverage_max=0.12, label_accuracy=0.97)
    measured(summary, trainer, 0, fid=20.0, **scores)
    measured(summary, trainer, 1, fid=8.0, **{**scores, "label_accuracy": 0.99})
    measured(summary, trainer, 2, fid=9.5, **scores)
    lines = summary.metric_lines()
    assert lines[0] == "  fid            last 9.50 (epoch 2), best 8.00 (epoch 1)"
    assert lines[1] == "  fid_floor      last 3.00 (epoch 2)"
    assert "  label_accuracy last 97.0 % (epoch 2), best 99.0 % (epoch 1)" in lines
    assert measurement_line(summary.history[1]["scores"]) == (
        "fid 8.00 (floor 3.00) · digits 8.0–12.0 % · labels 99.0 %"
    )


def test_nothing_is_printed_on_other_ranks(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    summary, trainer = RunSummary(str(tmp_path)), fake_trainer(tmp_path, is_global_zero=False)
    measured(summary, trainer, 0, fid=20.0, fid_floor=3.0)
    summary.on_fit_end(trainer, MODULE)
    summary.on_exception(trainer, MODULE, SIGTERMException(143))
    assert caplog.records == []
    assert len(summary.history) == 1  # collected all the same (the checkpoint state agrees across ranks)
    trainer.is_global_zero = True
    summary.on_fit_end(trainer, MODULE)
    assert len(caplog.records) == 1


def test_early_stops_say_why_and_errors_get_no_summary(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    summary = RunSummary(str(tmp_path))

    summary.on_exception(fake_trainer(tmp_path), MODULE, SIGTERMException(128 + 10))  # SIGUSR1
    lines = summary_of(caplog).splitlines()
    assert lines[0].startswith("Training stopped by SIGUSR1 (preemption) in epoch 3 after 40 batches")
    assert any(line.startswith("  resume         python -m gan_experiments.train") for line in lines)
    assert any(line.endswith(f"ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}") for line in lines)

    caplog.clear()
    summary.on_exception(fake_trainer(tmp_path), MODULE, RuntimeError("loss is nan"))
    assert caplog.records == []

    assert summary.ending(fake_trainer(tmp_path, should_stop=True), None) == (
        "Training stopped early (trainer.should_stop) in epoch 2"
    )
    stopping_bar = QualityBar(dirpath=str(tmp_path), stop=True)
    stopping_bar.reached = {"seconds_since_launch": 1.0, "batches": 1, "epoch": 3}
    at_bar = fake_trainer(tmp_path, should_stop=True, callbacks=[stopping_bar])
    assert "at the quality bar" in summary.ending(at_bar, None)
    done = fake_trainer(tmp_path, current_epoch=10)
    assert summary.ending(done, None) == "Training done: max_epochs=10 reached"
    timer = Timer(duration="00:00:00:01")  # what trainer.max_time adds; 5 s of training spent
    timer._start_time[RunningStage.TRAINING], timer._end_time[RunningStage.TRAINING] = 0.0, 5.0
    assert "max_time reached" in summary.ending(fake_trainer(tmp_path, callbacks=[timer]), None)


def test_the_measurements_are_resumed_with_the_run(tmp_path):
    summary, trainer = RunSummary(str(tmp_path)), fake_trainer(tmp_path)
    measured(summary, trainer, 0, fid=20.0)
    state = summary.state_dict()
    resumed = RunSummary(str(tmp_path))
    resumed.load_state_dict(torch.load(_saved(tmp_path, state), weights_only=True))
    assert resumed.history == summary.history


def _saved(tmp_path: Path, state: dict) -> Path:
    """The state as a checkpoint stores it: it must load with weights_only=True (checkpoints.py)."""
    path = tmp_path / "state.pt"
    torch.save(state, path)
    return path


def test_resuming_into_a_new_run_directory_warns_nothing_about_it(smoke_config, tmp_path):
    from gan_experiments.console import quiet_console

    train(smoke_config(output_dir=tmp_path / "first"))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_console()
        train(smoke_config("trainer.max_epochs=2", f"ckpt_path={last}", output_dir=tmp_path / "second"))
    assert not [w for w in caught if "dirpath has changed" in str(w.message)], [
        str(w.message) for w in caught
    ]
