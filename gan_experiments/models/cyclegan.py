"""CycleGAN (Zhu et al. 2017): two generators A→B and B→A, a discriminator per domain, adversarial +
cycle-consistency (+ identity) losses; generators step first with the discriminators frozen, then
the discriminators on fakes drawn from a history pool.

Naming: `discriminator_a` judges domain-A images (real A vs G_BA(B)); `discriminator_b` judges
domain B. (The official code calls them D_B and D_A respectively.)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec
from gan_experiments.errors import ConfigError
from gan_experiments.losses import AdversarialLoss, LossAndLogs
from gan_experiments.models.base import NetworkFactory, OptimizerFactory, SchedulerFactory
from gan_experiments.models.image_pool import ImagePool
from gan_experiments.models.translation import TranslationModule


class CycleFakes(NamedTuple):
    fake_b: Tensor  # G_AB(A)
    rec_a: Tensor  # G_BA(G_AB(A))
    fake_a: Tensor  # G_BA(B)
    rec_b: Tensor  # G_AB(G_BA(B))


class CycleGAN(TranslationModule):
    generator_first = True
    data_layout = "unpaired"

    def generators(self) -> list[nn.Module]:
        return [self.generator_ab, self.generator_ba]

    def __init__(
        self,
        generator: NetworkFactory,
        discriminator: NetworkFactory,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        data_spec: DataSpec,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        lambda_gan: float = 1.0,
        d_loss_weight: float = 0.5,
        pool_size: int = 50,
        d_steps: int = 1,
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_spec, loss, g_optimizer, d_optimizer, d_steps, grad_clip_norm, lr_scheduler, seed
        )
        in_channels, out_channels = self.in_channels, self.out_channels
        if lambda_identity > 0 and in_channels != out_channels:
            raise ConfigError(
                f"model.lambda_identity={lambda_identity} needs the same channel count in both domains "
                f"(A has {in_channels}, B has {out_channels}); set model.lambda_identity=0"
            )
        self.generator_ab = self.build_generator(generator, in_channels, out_channels)
        self.generator_ba = self.build_generator(generator, out_channels, in_channels)
        self.discriminator_a = discriminator(in_channels=in_channels)
        self.discriminator_b = discriminator(in_channels=out_channels)
        self.lambda_a, self.lambda_b, self.lambda_identity = lambda_a, lambda_b, lambda_identity
        self.lambda_gan, self.d_loss_weight = lambda_gan, d_loss_weight
        self.pool_a, self.pool_b = ImagePool(pool_size, seed), ImagePool(pool_size, seed + 1)
        self.check_critics()
        self.check_image_sizes()

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.generator_ab.parameters(), self.generator_ba.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())

    def trained_networks(self) -> list[nn.Module]:
        return [self.generator_ab, self.generator_ba, self.discriminator_a, self.discriminator_b]

    def discriminator_networks(self) -> list[nn.Module]:
        return [self.discriminator_a, self.discriminator_b]

    def forward(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        return self.generator_ab(x) if direction == "AtoB" else self.generator_ba(x)

    def generate(self, batch: dict[str, Any], rng: torch.Generator) -> CycleFakes:
        fake_b = self.generator_ab(batch["A"])
        fake_a = self.generator_ba(batch["B"])
        return CycleFakes(fake_b, self.generator_ba(fake_b), fake_a, self.generator_ab(fake_a))

    def generator_loss(self, batch: dict[str, Any], fakes: CycleFakes) -> LossAndLogs:
        real_a, real_b = batch["A"], batch["B"]
        gan_ab = self.loss.generator_objective(self.discriminator_b, fakes.fake_b, real_b)
        gan_ba = self.loss.generator_objective(self.discriminator_a, fakes.fake_a, real_a)
        cycle_a = F.l1_loss(fakes.rec_a, real_a) * self.lambda_a
        cycle_b = F.l1_loss(fakes.rec_b, real_b) * self.lambda_b
        loss = self.lambda_gan * (gan_ab + gan_ba) + cycle_a + cycle_b
        logs = {
            "loss/g_gan_ab": gan_ab,
            "loss/g_gan_ba": gan_ba,
            "loss/g_cycle_a": cycle_a,
            "loss/g_cycle_b": cycle_b,
        }
        if self.lambda_identity > 0:
            # G_AB should leave images that already are B alone (keeps colour composition)
            identity_b = F.l1_loss(self.generator_ab(real_b), real_b) * self.lambda_b * self.lambda_identity
            identity_a = F.l1_loss(self.generator_ba(real_a), real_a) * self.lambda_a * self.lambda_identity
            loss = loss + identity_a + identity_b
            logs |= {"loss/g_identity_a": identity_a, "loss/g_identity_b": identity_b}
        return loss, logs

    def discriminator_loss(self, batch: dict[str, Any], fakes: CycleFakes) -> LossAndLogs:
        objective = self.loss.discriminator_objective
        loss_a, logs_a = objective(
            self.discriminator_a, batch["A"], self.pool_a.query(fakes.fake_a), self.d_loss_weight,
            domain="a", generator=self.noise_rng, step=self.batches_seen,
        )  # fmt: skip
        loss_b, logs_b = objective(
            self.discriminator_b, batch["B"], self.pool_b.query(fakes.fake_b), self.d_loss_weight,
            domain="b", generator=self.noise_rng, step=self.batches_seen,
        )  # fmt: skip
        return loss_a + loss_b, {**logs_a, **logs_b}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        fakes = self.generate(batch, self.noise_rng)
        logs = {
            "val/cycle_l1_a": F.l1_loss(fakes.rec_a, batch["A"]),
            "val/cycle_l1_b": F.l1_loss(fakes.rec_b, batch["B"]),
        }
        self.log_validation(logs, batch["A"].shape[0])

    def grid_column_images(self, inputs: dict[str, Tensor]) -> list[Tensor]:
        fakes = self.generate(inputs, self.noise_rng)
        return [inputs["A"], fakes.fake_b, fakes.rec_a, inputs["B"], fakes.fake_a, fakes.rec_b]

    # the pools are training state: without them a resumed D sees a different history
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        pools = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}
        checkpoint["image_pools"] = pools  # this rank's (rank 0's in the file), as before DDP resume
        per_rank = self._pools_of_all_ranks(pools)
        if per_rank is not None:
            checkpoint["image_pools_per_rank"] = per_rank

    def _pools_of_all_ranks(self, pools: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Under DDP every rank has its own pools (its own fakes); all of them go in the checkpoint, or a
        resumed rank would continue rank 0's history. Gathered to rank 0 only, which writes the file
        (every rank builds the checkpoint, so the gather is collective)."""
        if self._trainer is None or self._trainer.world_size == 1 or not dist.is_initialized():
            return None
        gathered: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
        dist.gather_object(pools, gathered, dst=0)
        return gathered

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        per_rank, rank = checkpoint.get("image_pools_per_rank"), self.global_rank
        if per_rank is None:  # saved by one process: every rank continues its pools
            pools = checkpoint.get("image_pools")
        else:  # a rank the checkpoint has no pools for (more ranks than when saved) starts empty ones
            pools = per_rank[rank] if rank < len(per_rank) else None
        if pools is not None:
            self.pool_a.load_state_dict(pools["a"])
            self.pool_b.load_state_dict(pools["b"])
