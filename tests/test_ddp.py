"""DDP on CPU (trainer=ddp_sim: 2 spawned processes, gloo): sharded data with the epoch reaching our
sampler, per-rank noise, rank-0 logging and checkpoints; the sweep guard for argv-relaunching DDP."""

from __future__ import annotations

import json

import pytest
import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from lightning.pytorch import Callback
from synthetic_images import write_unpaired_dataset

from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.errors import ConfigError
from gan_experiments.train import build, refuse_relaunching_ranks_in_a_sweep, train

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
