"""Preemption: SIGTERM saves checkpoints/last.ckpt at the next batch boundary and ends the run cleanly;
resuming from it continues with exactly the batches the interrupted run had not trained on."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

from gan_experiments.callbacks.preemption import Preemption
from gan_experiments.train import build

ROOT = Path(__file__).resolve().parents[1]


def start_cli(*args: str, root: Path) -> subprocess.Popen:
    env = {**os.environ, "GAN_EXPERIMENTS_ROOT": str(root), "HYDRA_FULL_ERROR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gan_experiments.train", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"training ended before {path.name} appeared:\n{process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.05)


def test_sigterm_saves_stops_cleanly_and_the_run_resumes_from_the_saved_batch(tmp_path, fake_mnist_dir):
    common = [
        "debug=smoke", "model=gan", f"data.data_dir={fake_mnist_dir}", "data.val_size=32",
        "data.download=false", "data.batch_size=2", "trainer.limit_train_batches=1.0",  # 64 batches/epoch
        "callbacks.sample_grid.every_n_batches=1", "~callbacks.metrics", "~callbacks.best_checkpoint",
    ]  # fmt: skip
    first, resumed = tmp_path / "first", tmp_path / "resumed"
    process = start_cli(*common, "trainer.max_epochs=100", f"hydra.run.dir={first}", root=tmp_path)
    wait_for(first / "samples" / "samples_step0000003.png", process)  # training, handlers installed
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert "Traceback" not in err
    checkpoint_path = first / "checkpoints" / "last.ckpt"
    lines = [line for line in (out + err).splitlines() if "SIGTERM: saved" in line]
    assert len(lines) == 1 and f"resume with ckpt_path={checkpoint_path}" in lines[0]
    assert "SIGTERM: saved" in (first / "train.log").read_text()
    saved = torch.load(checkpoint_path, weights_only=False)
    batches, epoch = saved["adversarial_state"]["batches_seen"], saved["epoch"]
    assert batches >= 3 and f"after batch {batches} (epoch {epoch}," in lines[0]

    epochs = batches // 64 + 1  # to the end of the epoch the next batch belongs to
    process = start_cli(
        *common, f"trainer.max_epochs={epochs}", f"ckpt_path={checkpoint_path}",
        f"hydra.run.dir={resumed}", root=tmp_path,
    )  # fmt: skip
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-3000:]
    final = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=False)
    assert final["adversarial_state"]["batches_seen"] == epochs * 64  # not one batch more or less
    steps = sorted(int(p.stem.removeprefix("samples_step")) for p in (resumed / "samples").glob("*.png"))
    assert steps[0] == batches + 1  # the first resumed batch continues the saved counter


class SignalAt(Callback):
    """Sends `signum` to this process (and its DataLoader workers, as SLURM does to every process of a
    job step) at the start of the `at`-th training batch."""

    def __init__(self, at: int, signum: int = signal.SIGTERM, workers: bool = False) -> None:
        self.at, self.signum, self.workers, self.count = at, signum, workers, 0

    def on_train_batch_start(self, *args) -> None:
        self.count += 1
        if self.count == self.at:
            children = multiprocessing.active_children() if self.workers else []
            assert children or not self.workers, "no DataLoader worker to signal"
            for child in children:
                os.kill(child.pid, self.signum)
            deadline = time.monotonic() + 0.5  # a worker killed by it would fail this step by now
            while children and time.monotonic() < deadline and all(c.is_alive() for c in children):
                time.sleep(0.01)
            os.kill(os.getpid(), self.signum)


def fit(cfg, *callbacks: Callback):
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.extend(callbacks)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return model


@pytest.mark.parametrize("exact", [True, False], ids=["exact_resume", "lightning_alone"])
def test_mid_epoch_resume_with_dataloader_workers_matches_an_uninterrupted_run(smoke_config, tmp_path, exact):
    common = (
        "model=gan",
        "data.num_workers=1",  # the iterator is made before set_epoch (Lightning #21938)
        "trainer.limit_train_batches=4",
        "trainer.max_epochs=3",
        f"exact_resume={exact}",
        "~callbacks.metrics",
        "~callbacks.best_checkpoint",
    )
    straight = fit(smoke_config(*common, output_dir=tmp_path / "straight"))
    with pytest.raises(SystemExit) as stopped:
        fit(smoke_config(*common, output_dir=tmp_path / "first"), SignalAt(6, signal.SIGUSR1))
    assert stopped.value.code == 128 + signal.SIGUSR1
    saved = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert torch.load(saved, weights_only=False)["adversarial_state"]["batches_seen"] == 6  # epoch 1, 2 of 4
    resumed = fit(smoke_config(*common, f"ckpt_path={saved}", output_dir=tmp_path / "resumed"))

    assert resumed.batches_seen == straight.batches_seen == 12
    pairs = zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True)
    same = [torch.equal(a, b) for a, b in pairs]
    # Lightning alone would train epoch 1's remaining 2 batches on epoch 0's first 2 (wrong epoch, and
    # restarted from the epoch's first batch)
    assert all(same) if exact else not all(same)


def test_a_signal_in_an_epoch_s_last_batch_stops_after_the_epoch_end(smoke_config, tmp_path):
    cfg = smoke_config(
        "model=gan",
        "trainer.limit_train_batches=3",
        "trainer.max_epochs=3",
        "~callbacks.metrics",
        "~callbacks.best_checkpoint",
    )
    with pytest.raises(SystemExit):
        fit(cfg, SignalAt(3))
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["adversarial_state"]["batches_seen"] == 3
    assert saved["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"] == 1  # epoch 0 finished
    assert (tmp_path / "samples" / "samples_step0000003.png").exists()  # its end-of-epoch grid was made


def test_dataloader_workers_survive_the_requeue_signal(smoke_config, tmp_path):
    cfg = smoke_config(
        "model=gan", "data.num_workers=1", "trainer.limit_train_batches=4", "~callbacks.metrics",
        "~callbacks.best_checkpoint",
    )  # fmt: skip
    with pytest.raises(SystemExit) as stopped:  # not "DataLoader worker (pid …) is killed by signal"
        fit(cfg, SignalAt(2, signal.SIGUSR2, workers=True))
    assert stopped.value.code == 128 + signal.SIGUSR2
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["adversarial_state"]["batches_seen"] == 2
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL  # handlers restored after the run


def test_under_slurm_lightning_requeues_after_our_save(smoke_config, tmp_path, monkeypatch):
    for name in ("NTASKS", "NTASKS_PER_NODE", "JOB_NAME", "JOB_ID", "PROCID", "LOCALID", "NODEID"):
        value = {"NTASKS": "1", "NTASKS_PER_NODE": "1", "JOB_NAME": "train", "JOB_ID": "4242"}.get(name, "0")
        monkeypatch.setenv(f"SLURM_{name}", value)  # what Lightning's SLURMEnvironment detects
    requeued = []
    monkeypatch.setattr(
        "lightning.pytorch.trainer.connectors.signal_connector.call", lambda cmd: requeued.append(cmd) or 0
    )
    cfg = smoke_config(
        "model=gan", "data.num_workers=1", "trainer.limit_train_batches=4", "~callbacks.metrics",
        "~callbacks.best_checkpoint",
    )  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        fit(cfg, SignalAt(2, signal.SIGUSR1, workers=True))
    assert stopped.value.code == 128 + signal.SIGUSR1
    assert requeued == [["scontrol", "requeue", "4242"]]
    for path in (tmp_path / "checkpoints" / "last.ckpt", tmp_path / "hpc_ckpt_1.ckpt"):
        assert torch.load(path, weights_only=False)["adversarial_state"]["batches_seen"] == 2, path


def test_unknown_signal_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown signal 'SIGFOO'"):
        Preemption(str(tmp_path), signals=["SIGTERM", "SIGFOO"])
