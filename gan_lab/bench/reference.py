"""The plain PyTorch reference loops (variant ``reference``), shaped like the official pix2pix/CycleGAN
code and the course notebooks: no Lightning."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import cycle, islice
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from gan_experiments.models.image_pool import ImagePool
from gan_lab.bench.timing import StepClock


def set_requires_grad(networks: Sequence[nn.Module], flag: bool) -> None:
    for network in networks:
        network.requires_grad_(flag)


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, dict):
        return {k: v.to(device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}
    return [t.to(device, non_blocking=True) for t in batch]


def noise_gan_step(
    model: Any, g_opt: torch.optim.Optimizer, d_opt: torch.optim.Optimizer
) -> Callable[[Any], None]:
    """The course notebook's loop: z → G(z); D on real and detached fake; G through D; then the EMA of
    G's weights when the experiment keeps one (the default DCGAN does), through the module's own hook."""
    generator, discriminator, loss = model.generator, model.discriminator, model.loss

    def step(batch: Any) -> None:
        real = batch[0]
        fake = generator(model.sample_noise(real.shape[0], model.noise_rng))  # randn or rand·2−1
        d_opt.zero_grad(set_to_none=True)
        loss.discriminator_objective(discriminator, real, fake.detach())[0].backward()
        d_opt.step()
        set_requires_grad([discriminator], False)
        g_opt.zero_grad(set_to_none=True)
        loss.generator_objective(discriminator, fake, real).backward()
        g_opt.step()
        set_requires_grad([discriminator], True)
        model.after_generator_step()

    return step


def pix2pix_step(
    model: Any, g_opt: torch.optim.Optimizer, d_opt: torch.optim.Optimizer
) -> Callable[[Any], None]:
    """pix2pix_model.optimize_parameters: forward, D on (A, B) pairs, then G with GAN + λ·L1."""
    generator, discriminator, loss = model.generator, model.discriminator, model.loss

    def step(batch: dict[str, Tensor]) -> None:
        real_a, real_b = batch["A"], batch["B"]
        fake_b = generator(real_a)
        set_requires_grad([discriminator], True)
        d_opt.zero_grad(set_to_none=True)
        pair_critic = lambda b: discriminator(torch.cat([real_a, b], 1))  # noqa: E731 (D sees (A, B) pairs)
        loss.discriminator_objective(pair_critic, real_b, fake_b.detach(), model.d_loss_weight)[0].backward()
        d_opt.step()
        set_requires_grad([discriminator], False)
        g_opt.zero_grad(set_to_none=True)
        g_gan = loss.generator_objective(pair_critic, fake_b, real_b)
        (model.lambda_gan * g_gan + model.lambda_l1 * F.l1_loss(fake_b, real_b)).backward()
        g_opt.step()

    return step


def cyclegan_step(
    model: Any, g_opt: torch.optim.Optimizer, d_opt: torch.optim.Optimizer
) -> Callable[[Any], None]:
    """cycle_gan_model.optimize_parameters: forward, G (GAN + cycle + identity) with Ds frozen, then both
    Ds on pooled fakes."""
    g_ab, g_ba, d_a, d_b, loss = (
        model.generator_ab,
        model.generator_ba,
        model.discriminator_a,
        model.discriminator_b,
        model.loss,
    )
    lambda_a, lambda_b, lambda_idt = model.lambda_a, model.lambda_b, model.lambda_identity
    lambda_gan, d_weight = model.lambda_gan, model.d_loss_weight
    pool_a, pool_b = ImagePool(50, seed=0), ImagePool(50, seed=1)

    def d_loss(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return loss.discriminator_objective(critic, real, fake.detach(), d_weight)[0]

    def step(batch: dict[str, Tensor]) -> None:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        set_requires_grad([d_a, d_b], False)
        g_opt.zero_grad(set_to_none=True)
        identity = F.l1_loss(g_ab(real_b), real_b) * lambda_b * lambda_idt
        identity = identity + F.l1_loss(g_ba(real_a), real_a) * lambda_a * lambda_idt
        gan_ab, gan_ba = (
            loss.generator_objective(d_b, fake_b, real_b),
            loss.generator_objective(d_a, fake_a, real_a),
        )
        g_loss = lambda_gan * (gan_ab + gan_ba)
        g_loss = g_loss + F.l1_loss(rec_a, real_a) * lambda_a + F.l1_loss(rec_b, real_b) * lambda_b
        (g_loss + identity).backward()
        g_opt.step()
        set_requires_grad([d_a, d_b], True)
        d_opt.zero_grad(set_to_none=True)
        d_loss(d_a, real_a, pool_a.query(fake_a)).backward()
        d_loss(d_b, real_b, pool_b.query(fake_b)).backward()
        d_opt.step()

    return step


REFERENCE_STEPS = {
    "gan": noise_gan_step,
    "dcgan": noise_gan_step,
    "pix2pix": pix2pix_step,
    "cyclegan": cyclegan_step,
}


def run_reference(model_name: str, cfg: DictConfig, clock: StepClock) -> None:
    from gan_experiments.train import build

    datamodule, model, _ = build(cfg)
    model.to(clock.device).train()
    optimizers = [
        model.g_optimizer_factory(model.generator_parameters()),
        model.d_optimizer_factory(model.discriminator_parameters()),
    ]
    step = REFERENCE_STEPS[model_name](model, *optimizers)
    datamodule.prepare_data()
    datamodule.setup("fit")
    batches: Iterator[Any] = islice(cycle(datamodule.train_dataloader()), clock.warmup + clock.steps)
    for index, batch in enumerate(batches):
        batch = to_device(batch, clock.device)
        clock.batch_start(index)
        step(batch)
        clock.batch_end(index)
