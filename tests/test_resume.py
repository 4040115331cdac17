"""Resuming from last.ckpt continues the same training: 2 epochs + resume + 2 epochs == 4 epochs."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch import Callback

from gan_experiments.errors import ConfigError
from gan_experiments.train import build, train


def final_state(path) -> dict:
    return torch.load(path, weights_only=False)


@pytest.mark.parametrize(
    "overrides",
    [
        ("model=dcgan", "model.d_steps=2", "model.ema_decay=0.9"),  # G steps follow the batch counter; EMA
        ("model=cgan", "loss=wgan_gp", "model.d_steps=2"),  # the penalty draws from the noise stream
    ],
    ids=["dcgan-d_steps2", "cgan-wgan_gp"],
)
def test_resume_matches_an_uninterrupted_run(smoke_config, tmp_path, overrides):
    common = ("trainer.limit_train_batches=3", *overrides)
    train(smoke_config(*common, "trainer.max_epochs=2", output_dir=tmp_path / "first"))
    resumed_from = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert final_state(resumed_from)["adversarial_state"]["batches_seen"] == 6
    train(
        smoke_config(
            *common, "trainer.max_epochs=4", f"ckpt_path={resumed_from}", output_dir=tmp_path / "resumed"
        )
    )
    train(smoke_config(*common, "trainer.max_epochs=4", output_dir=tmp_path / "straight"))

    resumed = final_state(tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    straight = final_state(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    assert resumed["epoch"] == straight["epoch"]
    assert resumed["adversarial_state"]["batches_seen"] == straight["adversarial_state"]["batches_seen"] == 12
    assert resumed["state_dict"].keys() == straight["state_dict"].keys()
    for key, value in straight["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    for opt_resumed, opt_straight in zip(
        resumed["optimizer_states"], straight["optimizer_states"], strict=True
    ):
        for param_id, state in opt_straight["state"].items():
            for name, value in state.items():
                assert torch.equal(opt_resumed["state"][param_id][name], value), (param_id, name)


def test_resume_restores_counter_and_noise_stream(smoke_config, tmp_path):
    train(smoke_config("trainer.max_epochs=1", output_dir=tmp_path / "a"))
    checkpoint = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=False)
    state = checkpoint["adversarial_state"]
    assert state["batches_seen"] == 2
    assert isinstance(state["noise_rng"], torch.Tensor) and state["noise_rng"].dtype == torch.uint8
    assert "gan_experiments_config" in checkpoint and checkpoint["gan_experiments_config"]["seed"] == 12345


class LastCheckpointProbe(Callback):
    """Reads last.ckpt at the start of every epoch after the first: a crash mid-run must lose at most
    the current epoch."""

    def __init__(self, path) -> None:
        self.path = path
        self.epochs_found: list[int] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch > 0:
            self.epochs_found.append(torch.load(self.path, weights_only=False)["epoch"])


def test_last_checkpoint_is_written_after_every_epoch_not_only_at_the_end(smoke_config, tmp_path):
    overrides = ("trainer.limit_train_batches=2", "trainer.max_epochs=3", "~callbacks.periodic_checkpoint")
    cfg = smoke_config(*overrides)
    datamodule, model, trainer = build(cfg)
    probe = LastCheckpointProbe(tmp_path / "checkpoints" / "last.ckpt")
    trainer.callbacks.append(probe)
    trainer.fit(model, datamodule=datamodule)
    assert probe.epochs_found == [0, 1]  # the epoch each was written in, counted from 0
    assert final_state(tmp_path / "checkpoints" / "last.ckpt")["epoch"] == 2
    assert "last.ckpt" in {p.name for p in (tmp_path / "checkpoints").iterdir()}
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith("last-v")]


def test_ckpt_path_last_resumes_from_the_run_directory(smoke_config, tmp_path):
    train(smoke_config("trainer.limit_train_batches=2", "trainer.max_epochs=1"))
    train(smoke_config("trainer.limit_train_batches=2", "trainer.max_epochs=2", "ckpt_path=last"))
    state = final_state(tmp_path / "checkpoints" / "last.ckpt")
    assert state["epoch"] == 1 and state["adversarial_state"]["batches_seen"] == 4


class SaveAndStopAt(Callback):
    """Writes a checkpoint after the `at`-th training batch and ends the run there (mid-epoch), as a
    user's own callback or a crash handler might: no checkpoint callback of the project involved."""

    def __init__(self, at: int, path) -> None:
        self.at, self.path = at, path

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if pl_module.batches_seen == self.at:
            trainer.save_checkpoint(self.path)
            trainer.should_stop = True


def fit(cfg, *callbacks: Callback):
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.extend(callbacks)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return model, trainer


@pytest.mark.parametrize("exact", [True, False], ids=["core", "exact_resume_off"])
def test_resume_is_exact_without_any_project_callback(smoke_config, tmp_path, exact):
    """`callbacks=none`: exact resume is part of the run, not of the preemption callback."""
    common = (
        "callbacks=none", "model=gan", "data.num_workers=1", "trainer.limit_train_batches=4",
        "trainer.max_epochs=3", f"exact_resume={exact}",
    )  # fmt: skip
    straight, _ = fit(smoke_config(*common, output_dir=tmp_path / "straight"))
    saved = tmp_path / "first.ckpt"
    _, first = fit(smoke_config(*common, output_dir=tmp_path / "first"), SaveAndStopAt(6, saved))
    assert not any(type(c).__name__ == "Preemption" for c in first.callbacks)
    assert torch.load(saved, weights_only=False)["adversarial_state"]["batches_seen"] == 6  # epoch 1, 2 of 4
    resumed, _ = fit(smoke_config(*common, f"ckpt_path={saved}", output_dir=tmp_path / "resumed"))

    assert resumed.batches_seen == straight.batches_seen == 12
    pairs = zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True)
    same = [torch.equal(a, b) for a, b in pairs]
    assert all(same) if exact else not all(same)


def test_the_old_preemption_switch_still_decides_with_a_deprecation_notice(smoke_config, caplog):
    from gan_experiments.callbacks.exact_resume import ExactResume

    _, _, trainer = build(smoke_config("callbacks.preemption.exact_resume=false"))
    assert not any(isinstance(c, ExactResume) for c in trainer.callbacks)
    assert "callbacks.preemption.exact_resume is deprecated" in caplog.text
    assert "use exact_resume=false" in caplog.text
    _, _, trainer = build(smoke_config())
    assert sum(isinstance(c, ExactResume) for c in trainer.callbacks) == 1


class LearningRates(Callback):
    """The learning rate and betas of each optimizer at the first resumed training batch (after
    Lightning restored the optimizer states)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, tuple[float, float]]] = []

    def on_train_batch_start(self, trainer, pl_module, *args) -> None:
        if not self.seen:
            self.seen = [
                (o.param_groups[0]["lr"], tuple(o.param_groups[0]["betas"])) for o in trainer.optimizers
            ]


def test_an_optimizer_option_changed_on_resume_is_applied_and_said(smoke_config, tmp_path, caplog):
    """The restored optimizer state holds the checkpoint's lr and betas; the command line's win, each
    with one line, and the other player's optimizer keeps its own."""
    common = ("callbacks=none", "model=gan", "trainer.limit_train_batches=2")
    _, first = fit(smoke_config(*common, "trainer.max_epochs=1", output_dir=tmp_path / "first"))
    last = tmp_path / "last.ckpt"
    first.save_checkpoint(last)
    probe = LearningRates()
    changed = ("model.g_optimizer.lr=1e-4", "model.g_optimizer.betas=[0.0,0.9]")
    cfg = smoke_config(
        *common, *changed, "trainer.max_epochs=2", f"ckpt_path={last}", output_dir=tmp_path / "b"
    )
    with caplog.at_level("INFO", logger="gan_experiments.train"):
        fit(cfg, probe)
    d_lr = final_state(last)["optimizer_states"][1]["param_groups"][0]["lr"]
    assert probe.seen == [(1e-4, (0.0, 0.9)), (d_lr, (0.5, 0.999))]
    assert "resume: model.g_optimizer.lr 0.0002 → 0.0001 (from the command line)" in caplog.text
    assert "resume: model.g_optimizer.betas [0.5, 0.999] → [0.0, 0.9] (from the command line)" in caplog.text


def test_a_learning_rate_changed_on_resume_becomes_the_schedules_base():
    """Under linear_decay the restored scheduler keeps the checkpoint's base rate and would put it back
    at the next epoch's step: the new rate becomes the base, scaled by the schedule's current factor."""
    from types import SimpleNamespace

    from gan_experiments.callbacks.run_config import apply_resume_changes, resume_changes
    from gan_experiments.models.schedules import linear_decay

    def run_config(g_lr: float) -> dict:
        adam = {"_target_": "torch.optim.Adam", "_partial_": True, "betas": [0.5, 0.999]}
        schedule = {"_target_": "gan_experiments.models.schedules.linear_decay", "_partial_": True,
                    "n_epochs": 1, "n_epochs_decay": 3}  # fmt: skip
        return {"model": {"g_optimizer": {**adam, "lr": g_lr}, "d_optimizer": {**adam, "lr": 2e-4},
                          "lr_scheduler": schedule, "seed": 0}}  # fmt: skip

    def optimizer_and_schedule(lr: float):
        optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr, betas=(0.5, 0.999))
        return optimizer, linear_decay(optimizer, n_epochs=1, n_epochs_decay=3)

    saved = [optimizer_and_schedule(2e-4) for _ in range(2)]
    for optimizer, schedule in saved:
        for _ in range(2):  # two epochs: factor 1 - 2/4
            optimizer.step(), schedule.step()
    built = [optimizer_and_schedule(1e-4), optimizer_and_schedule(2e-4)]  # this run's g and d
    for (optimizer, schedule), (old_optimizer, old_schedule) in zip(built, saved, strict=True):
        optimizer.load_state_dict(old_optimizer.state_dict())  # what Lightning's restore does
        schedule.load_state_dict(old_schedule.state_dict())
    trainer = SimpleNamespace(
        optimizers=[o for o, _ in built],
        lr_scheduler_configs=[SimpleNamespace(scheduler=s) for _, s in built],
        is_global_zero=True,
    )
    apply_resume_changes(trainer, resume_changes(run_config(2e-4), run_config(1e-4)))
    (g, g_schedule), (d, _) = built
    assert g.param_groups[0]["lr"] == pytest.approx(0.5e-4) and g_schedule.base_lrs == [1e-4]
    assert d.param_groups[0]["lr"] == pytest.approx(1e-4)  # d unchanged: 2e-4 × 0.5
    g_schedule.step()
    assert g.param_groups[0]["lr"] == pytest.approx(0.25e-4)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=7", r"^model\.seed=7: the checkpoint continues the noise stream of model\.seed=12345"),
        ("model.g_optimizer._target_=torch.optim.AdamW",
         r"^model\.g_optimizer\._target_=torch\.optim\.AdamW: the checkpoint holds the state of "
         r"model\.g_optimizer\._target_=torch\.optim\.Adam, which a resume restores;"),
    ],
    ids=["seed", "optimizer-class"],
)  # fmt: skip
def test_an_override_a_resume_cannot_apply_is_refused_in_one_line(smoke_config, tmp_path, override, message):
    common = ("callbacks=none", "model=gan", "trainer.limit_train_batches=2")
    _, first = fit(smoke_config(*common, output_dir=tmp_path / "first"))
    last = tmp_path / "last.ckpt"
    first.save_checkpoint(last)
    with pytest.raises(ConfigError, match=message):
        train(smoke_config(*common, override, f"ckpt_path={last}", output_dir=tmp_path / "b"))
    assert not (tmp_path / "b" / "checkpoints").exists()
