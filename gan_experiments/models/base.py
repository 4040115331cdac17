"""The one manual-optimization shape every GAN in the project trains with.

A training step generates once, then updates the two players in the model's order (D then G for the
classic GANs and pix2pix, G then D for CycleGAN), each update inside `toggled_optimizer` so the other
player's parameters get no gradient, through `manual_backward` and the LightningOptimizer's `step`
(that is what makes AMP scaling, DDP and logging work). Subclasses only say how to generate and what
each player's loss is.

`d_steps` follows the seed algorithm ("for k steps: update D; then update G"): every batch updates D,
every `d_steps`-th batch also updates G, so each D step sees a fresh minibatch. The module keeps its own
batch counter because `trainer.global_step` counts optimizer steps (two or more per batch).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torch.utils._pytree import tree_map

from gan_experiments.compat import upgrade_state_dict
from gan_experiments.data.spec import BatchLayout, DataSpec
from gan_experiments.errors import ConfigError, NonFiniteLossError, UserError
from gan_experiments.losses import AdversarialLoss, LossAndLogs
from gan_experiments.models.performance import Performance, apply_to_networks, has_dropout
from gan_experiments.networks.norm import refuse_batch_norm

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
#: a network's constructor with its options bound (a `_partial_: true` config node); the model calls it
#: with the facts of the data (image shape, classes, channels), so no config carries them
NetworkFactory = Callable[..., nn.Module]
SchedulerFactory = Callable[[Optimizer], LRScheduler]


def detach(tree: Any) -> Any:
    """Detach every tensor of a (nested) structure of fakes, for the discriminator's update."""
    return tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, tree)


class AdversarialModule(LightningModule):
    """Base LightningModule: two optimizers ("g" and "d"), shared step, counters, RNG and NaN guard."""

    #: the model needs class labels from the data (checked before training starts)
    requires_labels: bool = False
    #: CycleGAN updates the generators first, the others the discriminator first
    generator_first: bool = False
    #: the data layout the model trains on: "images" (noise → image), "paired" or "unpaired" (A → B);
    #: checked against the data's spec before training, and what decides which metrics apply
    data_layout: BatchLayout = "images"
    #: a progress grid's fixed inputs: noise drawn once ("noise"), or the first validation examples
    #: ("examples"), which the caller takes from the data module and passes to `grid_inputs`
    grid_source: Literal["noise", "examples"] = "noise"
    #: TensorBoard tag and PNG name prefix of the progress grids
    grid_tag: str = "samples"

    def __init__(
        self,
        data_spec: DataSpec,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        d_steps: int = 1,
        grad_clip_norm: float | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(loss, AdversarialLoss):
            raise TypeError(
                f"loss must be a gan_experiments.losses.AdversarialLoss, got {type(loss).__name__}"
            )
        if not isinstance(data_spec, DataSpec):
            raise TypeError(
                f"data_spec must be a gan_experiments.data.spec.DataSpec, got {type(data_spec).__name__}"
            )
        #: the facts of the data the networks were built for (train passes the data module's spec; a
        #: checkpoint keeps it, so every command rebuilds the same networks)
        self.data_spec = data_spec
        self.automatic_optimization = False
        self.loss = loss
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.d_steps = int(d_steps)
        self.grad_clip_norm = grad_clip_norm
        self.seed = int(seed)
        self.batches_seen = 0
        self.performance = Performance()  # set by train.py from the `perf` config group
        self._noise_rng: torch.Generator | None = None
        self._restored_rng_state: Tensor | None = None
        self._unchecked_losses: dict[str, Tensor] = {}
        self._has_dropout: bool | None = None
        self.check_optimizer_options()
        #: per validation scalar: (sum of value × batch size, items) of this rank's batches this epoch
        self._validation_sums: dict[str, tuple[Tensor, int]] = {}

    # ---------------------------------------------------------------- what subclasses provide
    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.discriminator.parameters()

    def trained_networks(self) -> list[nn.Module]:
        """The networks the optimizers train (what `perf` compiles and converts to channels_last)."""
        return [self.generator, self.discriminator]

    def discriminator_networks(self) -> list[nn.Module]:
        """The critics (what a gradient penalty constrains)."""
        return [self.discriminator]

    def check_critics(self) -> None:
        """Subclasses call this once their networks exist: a per-sample gradient penalty and
        BatchNorm in a critic are refused together (networks.norm.refuse_batch_norm)."""
        penalties = self.loss.per_sample_penalties()
        if penalties:
            options = ", ".join(f"loss.regularizers.{name}" for name in penalties)
            refuse_batch_norm(options, self.discriminator_networks())

    def prepare_batch(self, batch: Any) -> Any:
        """Turn the DataLoader's batch into what `generate` and the losses read."""
        return batch

    def generate(self, batch: Any, rng: torch.Generator) -> Any:
        """The fakes of this step (a tensor or a structure of tensors), computed once per step."""
        raise NotImplementedError

    def after_discriminator_step(self) -> None:
        """Hook after each discriminator update, outside the toggled optimizer (the original WGAN's
        weight clipping goes here)."""

    def after_generator_step(self) -> None:
        """Hook after each generator update, outside the toggled optimizer (EMA of the weights)."""

    def discard_ema(self) -> None:
        """Sample with the last trained weights from now on: the EMA copy, where the model keeps one,
        is deleted (`evaluate`/`generate`/`export` with `ema=false`). Models without one: nothing."""

    def discriminator_loss(self, batch: Any, fakes: Any) -> LossAndLogs:
        """Loss of the discriminator(s) on detached fakes, and named values to log."""
        raise NotImplementedError

    def generator_loss(self, batch: Any, fakes: Any) -> LossAndLogs:
        """Loss of the generator(s) with gradients flowing through the fakes."""
        raise NotImplementedError

    # ---------------------------------------------------------------- what callbacks and commands call
    # Besides these: `forward` generates (noise models: `forward(*sample_inputs(n, rng))`; translation
    # models: `forward(images[, direction])`), and `discard_ema` above.
    def grid_inputs(self, num: int, rng: torch.Generator, examples: Sequence[Any] | None) -> Any:
        """The fixed inputs of the progress grids (callbacks.sample_grid, the quality benchmark's grid):
        `num` noise vectors drawn from `rng`, or, for `grid_source = "examples"`, built from `examples`
        (the data module's first validation items). Computed once per run, so consecutive grids
        show the same inputs."""
        raise NotImplementedError

    def grid_images(self, inputs: Any) -> tuple[Tensor, int]:
        """(images in [-1, 1], images per grid row) of one progress grid, for `grid_inputs`' inputs; the
        caller has put the model in eval mode and disabled gradients."""
        raise NotImplementedError

    # ---------------------------------------------------------------- optimizers and schedules
    def check_optimizer_options(self) -> None:
        """Lightning builds the optimizers and schedulers inside `fit` (`configure_optimizers`); a bad
        option there (a negative weight decay, a key the optimizer does not take) would end in a
        traceback after the data is loaded. They are built once here, on a throwaway parameter, so it
        is refused now, in one line naming the option."""
        probe = [nn.Parameter(torch.zeros(1))]
        self._built("model.d_optimizer", self.d_optimizer_factory, probe)
        optimizer = self._built("model.g_optimizer", self.g_optimizer_factory, probe)
        if self.lr_scheduler_factory is not None:
            self._built("model.lr_scheduler", self.lr_scheduler_factory, optimizer)

    @staticmethod
    def _built(key: str, factory: Callable[..., Any], argument: Any) -> Any:
        try:
            return factory(argument)
        except UserError:
            raise
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{key}: {error}") from None

    def configure_optimizers(self) -> Any:
        g_factory, d_factory = self.g_optimizer_factory, self.d_optimizer_factory
        optimizers = [
            g_factory(self.generator_parameters(), **self.performance.optimizer_options(g_factory)),
            d_factory(self.discriminator_parameters(), **self.performance.optimizer_options(d_factory)),
        ]
        if self.lr_scheduler_factory is None:
            return optimizers
        return optimizers, [self.lr_scheduler_factory(opt) for opt in optimizers]

    def on_fit_start(self) -> None:
        apply_to_networks(self.trained_networks(), self.performance, self.device)

    def on_train_epoch_end(self) -> None:
        # manual optimization never steps schedulers; ours are per epoch
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    # ---------------------------------------------------------------- the shared step
    def training_step(self, batch: Any, batch_idx: int) -> None:
        if self.performance.uses_cuda_graphs(self.device):
            torch.compiler.cudagraph_mark_step_begin()  # a new step: last step's graph outputs may be reused
        with self.seeded_stochastic_layers():
            self._training_step(batch)

    def _training_step(self, batch: Any) -> None:
        batch = self.prepare_batch(batch)
        update_g = self.batches_seen % self.d_steps == 0
        with torch.set_grad_enabled(update_g):  # D-only steps need no graph through G
            fakes = self.generate(batch, self.noise_rng)
        logs: dict[str, Tensor] = {}
        for player in ("g", "d") if self.generator_first else ("d", "g"):
            if player == "g" and not update_g:
                continue
            logs.update(self._update(player, batch, fakes))
        self.log_training_scalars(logs, self.batch_size_of(batch))
        self.batches_seen += 1
        if self.batches_seen % self.performance.finite_check_every_n == 0:
            self._raise_if_any_was_not_finite()

    @contextmanager
    def seeded_stochastic_layers(self) -> Iterator[None]:
        """Dropout draws its masks from torch's global RNG, which no checkpoint restores and which data
        loading also draws from. For networks with dropout, that RNG is seeded for each step from
        (seed, rank, batch counter) and put back as it was afterwards, so the masks of a resumed run
        are those of an uninterrupted one. Networks without dropout leave the global RNG alone."""
        if self._has_dropout is None:
            self._has_dropout = any(has_dropout(network) for network in self.trained_networks())
        if not self._has_dropout:
            yield
            return
        seed = (self.seed * 1_000_003 + self.global_rank * 7_919 + self.batches_seen) % 2**63
        cuda = self.device.type == "cuda"
        with torch.random.fork_rng(devices=[self.device] if cuda else []):
            torch.default_generator.manual_seed(seed)
            if cuda:
                index = self.device.index if self.device.index is not None else torch.cuda.current_device()
                torch.cuda.default_generators[index].manual_seed(seed)
            yield

    def log_training_scalars(self, logs: dict[str, Tensor], batch_size: int) -> None:
        """Every `log_every_n_steps` batches, one host sync, straight to the loggers at our batch
        counter, only what this batch computed; the progress bar shows these last logged values.

        `self.log` would re-send a stale `loss/g` on batches where G did not step (Lightning keeps the
        last value of every key), which draws flat fake segments whenever d_steps > 1.
        """
        if self.batches_seen % max(1, self.trainer.log_every_n_steps):
            return
        names = list(logs)
        values = dict(zip(names, torch.stack([logs[k].float() for k in names]).tolist(), strict=True))
        for name, opt in zip(("g", "d"), self.optimizers(), strict=True):
            values[f"lr/{name}"] = opt.param_groups[0]["lr"]
        progress = {k: values[k] for k in ("loss/d", "loss/g") if k in values}
        self.log_dict(
            progress, prog_bar=True, logger=False, on_step=True, on_epoch=False, batch_size=batch_size
        )
        for logger in self.loggers:
            logger.log_metrics(values, step=self.batches_seen)

    def _update(self, player: str, batch: Any, fakes: Any) -> dict[str, Tensor]:
        g_opt, d_opt = self.optimizers()
        opt = g_opt if player == "g" else d_opt
        with self.toggled_optimizer(opt):
            if player == "g":
                loss, logs = self.generator_loss(batch, fakes)
            else:
                loss, logs = self.discriminator_loss(batch, detach(fakes))
            self._stop_if_not_finite(f"loss/{player}", loss)
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            opt.step()  # clips in on_before_optimizer_step
        if player == "g":
            self.after_generator_step()
        else:
            self.after_discriminator_step()
        return {f"loss/{player}": loss.detach(), **{k: v.detach() for k, v in logs.items()}}

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        """Clip here, not between backward and `opt.step()`: under 16-mixed the gradients are still
        multiplied by the GradScaler's scale until Lightning unscales them inside `opt.step()`, just
        before this hook (Lightning #18089); clipping earlier would clip scale× too hard."""
        if self.grad_clip_norm:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.grad_clip_norm, gradient_clip_algorithm="norm"
            )

    # ---------------------------------------------------------------- validation scalars
    def log_validation(self, values: dict[str, Tensor], batch_size: int) -> None:
        """One validation batch's scalars (its means over `batch_size` items); `on_validation_epoch_end`
        logs each as the mean over every validation item of every rank, each item counted once
        (`SpecifiedDataModule.evaluation_sampler`).

        Not `self.log(..., on_epoch=True, sync_dist=True)`: Lightning averages a mean's weighted sum and
        its item count over the ranks separately, and keeps the count an integer, so ranks with unequal
        item counts (5 items on 2 ranks: 3 and 2) divide by a truncated count (2 for 2.5: ×1.25)."""
        for name, value in values.items():
            total, count = self._validation_sums.get(name, (0.0, 0))
            self._validation_sums[name] = (total + value.detach().float() * batch_size, count + batch_size)

    def on_validation_epoch_end(self) -> None:
        """The means of what `log_validation` collected: one exchange of names (a rank may have logged
        none) and one sum over the ranks per validation epoch under DDP, none in one process. A subclass
        that overrides this hook calls `super().on_validation_epoch_end()`."""
        sums, self._validation_sums = self._validation_sums, {}
        names = sorted(sums)
        distributed = (
            self._trainer is not None and self.trainer.world_size > 1 and torch.distributed.is_initialized()
        )
        if distributed:
            per_rank: list[list[str] | None] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(per_rank, names)
            names = sorted({name for rank_names in per_rank for name in rank_names or []})
        if not names:
            return
        totals = torch.zeros(2, len(names), device=self.device)  # weighted sums; item counts
        for i, name in enumerate(names):
            if name in sums:
                totals[0, i], totals[1, i] = sums[name]
        if distributed:
            totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        means = totals[0] / totals[1]
        # sync_dist: the means already agree across ranks; it keeps Lightning's epoch-level contract
        self.log_dict(
            dict(zip(names, means, strict=True)), on_step=False, on_epoch=True, sync_dist=True, batch_size=1
        )

    def batch_size_of(self, batch: Any) -> int:
        leaves = [t for t in torch.utils._pytree.tree_leaves(batch) if isinstance(t, Tensor)]
        return int(leaves[0].shape[0]) if leaves else 1

    # ---------------------------------------------------------------- NaN guard
    # Under DDP every rank must take the same decision: a rank that stopped alone would leave the others
    # waiting in the next collective (the gradient all-reduce) until the timeout. So the check's values
    # are gathered from all ranks (one tiny collective per check, none in one process), every rank
    # raises the same one-line error, and the message names the ranks whose loss was not finite.
    def _stop_if_not_finite(self, name: str, loss: Tensor) -> None:
        """Every batch (the default): raise before backward, so no optimizer step sees the bad value.
        Every n batches (perf.finite_check_every_n): remember a device-side flag and read all flags
        with one sync at the end of the window."""
        if self.performance.finite_check_every_n > 1:
            bad = ~torch.isfinite(loss.detach())
            previous = self._unchecked_losses.get(name)
            self._unchecked_losses[name] = bad if previous is None else previous | bad
            return
        per_rank = self._from_every_rank(loss.detach().float().reshape(1))[:, 0].tolist()
        bad_ranks = [rank for rank, value in enumerate(per_rank) if not math.isfinite(value)]
        if bad_ranks:
            value, where = per_rank[bad_ranks[0]], self._on_ranks(bad_ranks)
            raise NonFiniteLossError(
                f"training stopped: {name} is {value}{where} at batch {self.batches_seen} "
                f"(epoch {self.current_epoch}); nothing was updated with it and no checkpoint was written"
            )

    def _raise_if_any_was_not_finite(self) -> None:
        if not self._unchecked_losses:
            return
        names = list(self._unchecked_losses)
        flags = self._from_every_rank(torch.stack([self._unchecked_losses[n] for n in names]).float())
        self._unchecked_losses.clear()
        flags = flags.tolist()
        bad = [n for i, n in enumerate(names) if any(rank[i] for rank in flags)]
        if bad:
            bad_ranks = [rank for rank, row in enumerate(flags) if any(row)]
            every = self.performance.finite_check_every_n
            first = (self.batches_seen - 1) // every * every
            raise NonFiniteLossError(
                f"training stopped: {', '.join(bad)} became NaN/Inf{self._on_ranks(bad_ranks)} between batch "
                f"{first} and {self.batches_seen - 1} (epoch {self.current_epoch}; "
                f"perf.finite_check_every_n={every}); no checkpoint with non-finite weights is written"
            )

    def _from_every_rank(self, values: Tensor) -> Tensor:
        """`values` of every rank, stacked (world size, …); this rank's alone, unsynced, in one process.
        One all_reduce of a row per rank (each fills its own, NaN and Inf survive the zeros of the
        others): no barrier, no autograd, what every backend supports."""
        if self._trainer is None or self.trainer.world_size == 1 or not torch.distributed.is_initialized():
            return values.unsqueeze(0)
        rows = torch.zeros(self.trainer.world_size, *values.shape, dtype=values.dtype, device=values.device)
        rows[self.global_rank] = values
        torch.distributed.all_reduce(rows)
        return rows

    def _on_ranks(self, ranks: list[int]) -> str:
        if self._trainer is None or self.trainer.world_size == 1:
            return ""
        which = ", ".join(str(rank) for rank in ranks)
        return f" on rank{'s' if len(ranks) > 1 else ''} {which} of {self.trainer.world_size}"

    # ---------------------------------------------------------------- RNG and counters in checkpoints
    @property
    def noise_rng(self) -> torch.Generator:
        """The training noise stream: per rank, seeded, saved in checkpoints so resume is exact."""
        if self._noise_rng is None or self._noise_rng.device != self.device:
            rng = torch.Generator(device=self.device)
            rng.manual_seed(self.seed + 1000 * self.global_rank)
            if self._restored_rng_state is not None:
                try:
                    rng.set_state(self._restored_rng_state)
                except RuntimeError:  # checkpoint from another device type
                    warnings.warn(
                        "noise RNG state in the checkpoint is for another device; reseeded", stacklevel=2
                    )
                self._restored_rng_state = None
            self._noise_rng = rng
        return self._noise_rng

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._raise_if_any_was_not_finite()
        for key, value in checkpoint["state_dict"].items():
            if torch.is_floating_point(value) and not value.isfinite().all():
                raise NonFiniteLossError(f"refusing to write a checkpoint: {key} holds NaN/Inf values")
        checkpoint["adversarial_state"] = {
            "batches_seen": self.batches_seen,
            "noise_rng": self._noise_rng.get_state() if self._noise_rng is not None else None,
            "noise_rng_per_rank": self._noise_rng_states_of_all_ranks(),
        }

    def _noise_rng_states_of_all_ranks(self) -> list[Tensor] | None:
        """Rank 0 writes the checkpoint, but every rank has its own noise stream: under DDP all of them
        go in (every rank builds the checkpoint, so the gather is collective). Without them every rank
        would continue rank 0's stream after a resume and draw the same noise."""
        if self._noise_rng is None or self._trainer is None or self._trainer.world_size == 1:
            return None
        states = self.all_gather(self._noise_rng.get_state().to(self.device))
        return [state.cpu().clone() for state in states]  # own storage each: set_state needs it

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning calls this before it loads the weights (resume): a file of an older version gets
        # today's keys first (compat.py), as evaluate/generate give it
        if isinstance(checkpoint.get("state_dict"), dict):
            checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"])
        state = checkpoint.get("adversarial_state", {})
        self.batches_seen = int(state.get("batches_seen", 0))
        per_rank, rank = state.get("noise_rng_per_rank") or [], self.global_rank
        # a rank the checkpoint has no stream for (more ranks than when saved) starts its own seeded one
        self._restored_rng_state = per_rank[rank] if rank < len(per_rank) else None
        if not per_rank and rank == 0:
            self._restored_rng_state = state.get("noise_rng")
        self._noise_rng = None
