"""DDP on CPU (trainer=ddp_sim: 2 spawned processes, gloo): sharded data with the epoch reaching our
sampler, per-rank noise, rank-0 logging and checkpoints; validation counting every item once; a NaN on
one rank stopping all of them; the sweep guard for argv-relaunching DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import make_config
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from lightning.pytorch import Callback
from synthetic_images import write_paired_dataset, write_unpaired_dataset
from tensorboard_events import load_events

from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.errors import ConfigError
from gan_experiments.evaluate import evaluate
from gan_experiments.train import build, refuse_relaunching_ranks_in_a_sweep, train

ROOT = Path(__file__).resolve().parents[1]
DDP = ["trainer=ddp_sim", "trainer.devices=2", "~callbacks.metrics", "~callbacks.best_checkpoint"]


class RankProbe(Callback):
    """Runs in each spawned rank: what sampler, epoch, indices and noise seed this rank trains with."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.epochs: list[dict] = []
        self.noise_state_at_start: list[int] = []

    def on_train_start(self, trainer, pl_module) -> None:
        self.noise_state_at_start = pl_module.noise_rng.get_state().tolist()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        sampler = trainer.train_dataloader.sampler
        inner = sampler.dataset._sampler if isinstance(sampler, DistributedSamplerWrapper) else sampler
        self.epochs.append(
            {
                "epoch": trainer.current_epoch,
                "wrapper": type(sampler).__name__,
                "inner_epoch": inner.epoch,
                "indices": [int(i) for i in sampler],
            }
        )

    def on_train_end(self, trainer, pl_module) -> None:
        record = {
            "rank": trainer.global_rank,
            "noise_seed": pl_module.noise_rng.initial_seed(),
            "noise_state_at_start": self.noise_state_at_start,
        }
        with open(f"{self.path}.rank{trainer.global_rank}.json", "w") as f:
            json.dump({**record, "epochs": self.epochs}, f)


def test_ddp_sim_shards_each_epoch_and_writes_from_rank_zero(smoke_config, tmp_path):
    cfg = smoke_config(*DDP, "model=gan", "trainer.max_epochs=2")
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.append(RankProbe(str(tmp_path / "probe")))
    trainer.fit(model, datamodule=datamodule)

    ranks = [json.loads((tmp_path / f"probe.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["noise_seed"] for r in ranks] == [cfg.seed, cfg.seed + 1000]  # noise stream per rank
    datamodule.setup("fit")  # the ranks set up their own copies
    train_size = len(datamodule.splits["train"])
    for epoch in (0, 1):
        shards = [r["epochs"][epoch] for r in ranks]
        assert all(s["wrapper"] == "DistributedSamplerWrapper" and s["inner_epoch"] == epoch for s in shards)
        assert not set(shards[0]["indices"]) & set(shards[1]["indices"])  # disjoint shards …
        assert sorted(shards[0]["indices"] + shards[1]["indices"]) == list(range(train_size))  # … of all
    assert ranks[0]["epochs"][0]["indices"] != ranks[0]["epochs"][1]["indices"]  # reshuffled per epoch

    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["adversarial_state"]["batches_seen"] == 4  # 2 epochs × limit_train_batches=2
    saved_noise = checkpoint["adversarial_state"]["noise_rng_per_rank"]
    assert len(saved_noise) == 2 and not torch.equal(*saved_noise)  # each rank's own stream
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 1  # rank 0 only
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == [
        "samples_step0000000.png",
        "samples_step0000002.png",  # rank 0's counter: 2 batches per epoch on each rank
        "samples_step0000004.png",
    ]

    # resumed, every rank continues its own noise stream (not rank 0's)
    resumed_dir = tmp_path / "resumed"
    cfg = smoke_config(*DDP, "model=gan", "trainer.max_epochs=3", output_dir=resumed_dir)
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.append(RankProbe(str(resumed_dir / "probe")))
    trainer.fit(model, datamodule=datamodule, ckpt_path=tmp_path / "checkpoints" / "last.ckpt")
    for rank in (0, 1):
        probe = json.loads((resumed_dir / f"probe.rank{rank}.json").read_text())
        assert probe["noise_state_at_start"] == saved_noise[rank].tolist()
        assert probe["epochs"][0]["epoch"] == probe["epochs"][0]["inner_epoch"] == 2


def test_ddp_sim_trains_cyclegan(smoke_config, tmp_path_factory, tmp_path):
    root = write_unpaired_dataset(tmp_path_factory.mktemp("h2z") / "h2z", n_a=8, n_b=8, size=36)
    data = ["data=unpaired_folder", f"data.root={root}", "data.download=false", "data.batch_size=2"]
    train(smoke_config(*DDP, "model=cyclegan", *data))
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["adversarial_state"]["batches_seen"] == 2
    assert len(checkpoint["image_pools"]["a"]["images"]) == 4  # rank 0's pool: 2 batches × 2 images
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
    per_rank = checkpoint["image_pools_per_rank"]  # every rank's own history of fakes
    assert len(per_rank) == 2 and all(len(pools["b"]["images"]) == 4 for pools in per_rank)
    rank0_pool = torch.cat(checkpoint["image_pools"]["a"]["images"])
    assert torch.equal(torch.cat(per_rank[0]["a"]["images"]), rank0_pool)
    assert not torch.equal(torch.cat(per_rank[0]["a"]["images"]), torch.cat(per_rank[1]["a"]["images"]))

    # resumed, each rank continues its own pools
    resumed_dir = tmp_path / "resumed"
    cfg = smoke_config(*DDP, "model=cyclegan", *data, "trainer.max_epochs=2", output_dir=resumed_dir)
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.append(PoolProbe(str(resumed_dir / "pools")))
    trainer.fit(model, datamodule=datamodule, ckpt_path=tmp_path / "checkpoints" / "last.ckpt")
    for rank in (0, 1):
        at_start = torch.load(resumed_dir / f"pools.rank{rank}.pt")
        assert torch.equal(torch.cat(at_start), torch.cat(per_rank[rank]["a"]["images"]))


class PoolProbe(Callback):
    """Runs in each spawned rank: CycleGAN's domain-A pool as the resumed training starts."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_start(self, trainer, pl_module) -> None:
        torch.save(list(pl_module.pool_a.images), f"{self.path}.rank{trainer.global_rank}.pt")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_ddp_validation_counts_every_item_once(smoke_config, tmp_path, monkeypatch, model):
    """5 validation items on 2 ranks: Lightning's DistributedSampler would pad them to 6 (3 per rank), and
    `val/*` and `metrics/*` would count one twice. Each rank gets its own items instead (3 and 2), so the
    numbers are those of `evaluate` on the same checkpoint in one process. CycleGAN's 3 test B images
    fill items 3 and 4 again, on either rank: still counted once. (Validation reads the folder evaluate
    reports on, `data.val_split`, so that the two are comparable.)"""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no Inception weights, in every rank
    if model == "pix2pix":
        root = write_paired_dataset(tmp_path / "pairs", n_train=8, n_val=5, size=40)
        data, counts, same = ["data=paired_folder", "data.val_split=val"], {"images": 5}, ("l1", "val/l1")
    else:
        root = write_unpaired_dataset(tmp_path / "h2z", n_a=8, n_b=8, n_test_a=5, n_test_b=3, size=36)
        data = ["data=unpaired_folder", "data.batch_size=2", "data.val_split=test"]
        counts = {"images_a": 5, "images_b": 3}
        same = ("cycle_l1_a", "val/cycle_l1_a")
    data += [f"model={model}", f"data.root={root}", "data.download=false", "trainer.limit_val_batches=3"]
    train(smoke_config(*DDP[:2], "~callbacks.best_checkpoint", *data))
    last = tmp_path / "checkpoints" / "last.ckpt"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Inception FID/KID skipped")
        report = evaluate(make_config([f"ckpt_path={last}"], tmp_path, "eval"))
    events = load_events(tmp_path)
    for key, count in counts.items():
        assert [e.value for e in events.Scalars(f"metrics/{key}")] == [count] == [report["metrics"][key]]
    metric, val = same
    in_one_process = report["metrics"][metric]
    assert [e.value for e in events.Scalars(f"metrics/{metric}")] == pytest.approx([in_one_process], rel=1e-5)
    assert [e.value for e in events.Scalars(val)] == pytest.approx([in_one_process], rel=1e-5)


def test_validation_shards_repeat_nothing_unless_a_rank_would_get_no_item(tmp_path):
    """Rank 1 of 2 validates items 1 and 3 of 5, in order; with 1 item for 2 ranks Lightning's padded
    sampler stays (every rank needs a first batch), with a warning; one process: no sampler."""
    datamodule = MNISTDataModule(data_dir=str(tmp_path))
    assert datamodule.evaluation_sampler(range(5)) is None  # no trainer
    datamodule.trainer = SimpleNamespace(
        distributed_sampler_kwargs={"num_replicas": 2, "rank": 1},
        _accelerator_connector=SimpleNamespace(use_distributed_sampler=True),
    )
    assert list(datamodule.evaluation_sampler(range(5))) == [1, 3]
    with pytest.warns(UserWarning, match="1 validation items for 2 ranks; every rank needs one"):
        assert datamodule.evaluation_sampler(range(1)) is None
    datamodule.trainer._accelerator_connector.use_distributed_sampler = False
    assert datamodule.evaluation_sampler(range(5)) is None


#: per case: how the ranks start, and the line that must end the command. "popen": rank 0 is this
#: process, Lightning starts rank 1 by re-running the command line (trainer=ddp, here on CPU with gloo),
#: the guard read every batch; "window": ranks spawned by this process (ddp_sim), the guard read every 2
#: batches, after the NaN has gone through one backward (its gradients reach every rank, so both ranks'
#: losses turn NaN). The guard's agreement is the same code in both; every batch under ddp_sim would
#: only repeat it.
NAN_CASES = {
    "popen": (
        ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
         "+trainer.strategy.process_group_backend=gloo", *DDP[2:]],
        "training stopped: loss/d is nan on rank 1 of 2 at batch 0 (epoch 0); ",
    ),
    "window": (
        [*DDP, "perf.finite_check_every_n=2"],
        "training stopped: loss/d, loss/g became NaN/Inf on ranks 0, 1 of 2 between batch 0 and 1 ",
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", NAN_CASES)
def test_a_nan_loss_on_one_rank_stops_every_rank_with_one_line(fake_mnist_dir, tmp_path, case):
    """D's loss is NaN on rank 1 only (tests/toy_extensions/faults.py). Every rank must stop before its
    backward: else rank 0 waits in the gradient all-reduce (NCCL: until the collective timeout; gloo here
    notices the dead peer and fails with a traceback). The command ends with the guard's one line, naming
    the ranks, within seconds (popen: each rank prints it; spawn: the launching process, once)."""
    overrides, line = NAN_CASES[case]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
        "HYDRA_FULL_ERROR": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gan_experiments.train", "debug=smoke", *overrides, "model=gan",
         f"data.data_dir={fake_mnist_dir}", "data.val_size=32", "data.download=false",
         "loss._target_=toy_extensions.faults.NaNOnRankOne", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in (result.stderr + result.stdout).splitlines() if "ERROR" in line]
    assert 1 <= len(errors) <= (2 if case == "popen" else 1), result.stderr[-3000:]  # popen: a race
    assert all(line in error for error in errors), errors
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()


def test_distributed_wrapper_forwards_the_epoch_to_our_sampler():
    """Lightning ≥ 2.6 forwards set_epoch through its wrapper (#21456); older versions did not, and
    translation datasets would then draw the same crops and flips every epoch."""
    shards = []
    for rank in (0, 1):
        wrapper = DistributedSamplerWrapper(
            EpochShuffleSampler(10, seed=3, with_epoch=True), num_replicas=2, rank=rank
        )
        wrapper.set_epoch(4)
        shards.append(list(wrapper))
    assert all(epoch == 4 for shard in shards for epoch, _ in shard)
    assert sorted(index for shard in shards for _, index in shard) == list(range(10))


@pytest.mark.parametrize("strategy_start, refused", [("popen", True), ("spawn", False)])
def test_sweeps_refuse_ddp_that_relaunches_the_command_line(smoke_config, strategy_start, refused):
    cfg = smoke_config(
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"trainer.strategy.start_method={strategy_start}",
        "hydra.mode=MULTIRUN",
    )
    _, _, trainer = build(cfg)
    if refused:
        with pytest.raises(ConfigError, match="cannot start DDP ranks by re-running its command line"):
            refuse_relaunching_ranks_in_a_sweep(trainer)
    else:
        refuse_relaunching_ranks_in_a_sweep(trainer)
