"""`python -m gan_experiments.bench`: ms/iter, images/s and peak memory of one training step.

For each model (gan, dcgan, pix2pix, cyclegan) three variants train the same networks with the same
losses and optimizers on the same batches:

- ``reference``: a plain PyTorch loop written here, shaped like the official code and course notebooks
  (D step then G step, or CycleGAN's G step then D step with image pools);
- ``trainer``: the project's LightningModule under the Trainer with the default settings (``perf=default``;
  TensorBoard logging every 50 steps, no progress bar, checkpoints or grids while timing);
- ``fast``: the same with ``perf=fast`` (device-resident MNIST, fused Adam, channels_last, compile).

Every (model, variant) runs in its own process, so peak memory, compile caches and thread pools do not
leak from one measurement into the next. Data is synthetic in the real on-disk formats (fake MNIST IDX
files, pix2pix/CycleGAN JPEG folders at the real image size), so nothing is downloaded. The first
``--warmup`` steps (cuDNN autotuning, compilation, CUDA graph capture) are not timed.

    python -m gan_experiments.bench                         # all models and variants, real sizes
    python -m gan_experiments.bench --models dcgan --steps 200 --json bench.json
    python -m gan_experiments.bench --tiny --device cpu     # seconds on a laptop (the test suite)
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig
from torch import Tensor, nn

from gan_experiments import CONF_DIR  # (importing the package registers the ${cwd:} resolver)
from gan_experiments.data.synthetic import write_fake_mnist, write_paired_dataset, write_unpaired_dataset
from gan_experiments.models.image_pool import ImagePool

MODELS = ("gan", "dcgan", "pix2pix", "cyclegan")
VARIANTS = ("reference", "trainer", "fast")
#: the experiment each model is measured in (real widths); translation models at batch 1 as published
EXPERIMENTS = {
    "gan": "gan_mnist",
    "dcgan": "dcgan_mnist",
    "pix2pix": "pix2pix_edges2shoes",
    "cyclegan": "cyclegan_horse2zebra",
}
RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class Measurement:
    model: str
    variant: str
    device: str
    batch_size: int
    image_size: int
    steps: int
    ms_per_iter: float
    images_per_s: float
    peak_memory_mib: float
    memory_kind: str  # "cuda allocated" or "process RSS"


# ---------------------------------------------------------------- synthetic data and configs


@dataclass(frozen=True)
class Sizes:
    """What one measurement needs: batches to time, image size, batch size (None: the experiment's)."""

    steps: int
    warmup: int
    tiny: bool
    batch_size: int | None
    #: extra Hydra overrides for every run (e.g. trainer.precision=bf16-mixed, model.generator.width=32);
    #: trainer.* ones change (b) and (c) only, since the reference loop runs no Trainer
    overrides: tuple[str, ...] = ()

    @property
    def batches(self) -> int:
        return self.steps + self.warmup

    @property
    def image_size(self) -> int:
        return 32 if self.tiny else 256

    def batch_size_of(self, model: str) -> int:
        if self.batch_size:
            return self.batch_size
        if self.tiny:
            return 4 if model in ("gan", "dcgan") else 1
        return 128 if model in ("gan", "dcgan") else 1


def write_data(root: Path, sizes: Sizes) -> None:
    """Enough synthetic images that no variant wraps around within the timed batches."""
    mnist_batch = sizes.batch_size_of("dcgan")
    write_fake_mnist(root / "mnist", n_train=mnist_batch * (sizes.batches + 1) + 64, n_test=64)
    n = sizes.batch_size_of("pix2pix") * (sizes.batches + 1)
    write_paired_dataset(root / "paired", n_train=n, n_val=1, size=sizes.image_size)
    write_unpaired_dataset(root / "unpaired", n_a=n, n_b=n, n_test_a=1, n_test_b=1, size=sizes.image_size)


def bench_config(
    model: str, variant: str, data_root: Path, sizes: Sizes, device: str, out: Path
) -> DictConfig:
    """The model's experiment config on the synthetic data, timed for `sizes.batches` batches."""
    overrides = [
        f"experiment={EXPERIMENTS[model]}",
        f"perf={'fast' if variant == 'fast' else 'default'}",
        "callbacks=none",
        f"trainer.accelerator={device}",
        "trainer.devices=1",
        "trainer.max_epochs=1",
        f"trainer.limit_train_batches={sizes.batches}",
        "trainer.limit_val_batches=0",
        "trainer.num_sanity_val_steps=0",
        "++trainer.enable_progress_bar=false",
        "++trainer.enable_model_summary=false",
        "++trainer.enable_checkpointing=false",
        f"data.batch_size={sizes.batch_size_of(model)}",
        f"paths.output_dir={out}",
        f"paths.log_dir={out}",
    ]
    if model in ("gan", "dcgan"):
        overrides += [f"data.data_dir={data_root / 'mnist'}", "data.val_size=64", "data.download=false"]
    else:
        layout = "paired" if model == "pix2pix" else "unpaired"
        overrides += [f"data={layout}_folder", f"data.root={data_root / layout}", "data.num_workers=2"]
        overrides += [f"data.image_size={sizes.image_size}"]
    if sizes.tiny:
        overrides += ["model.generator.width=8", "model.discriminator.width=8"]
        if model in ("gan", "dcgan"):
            overrides += ["data.image_size=32"]
    overrides += list(sizes.overrides)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    return cfg


# ---------------------------------------------------------------- timing


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process RSS"


class StepClock:
    """Wall time from the start of batch `warmup` to the end of the last batch, device synchronized."""

    def __init__(self, warmup: int, steps: int, device: torch.device) -> None:
        self.warmup, self.steps, self.device = warmup, steps, device
        self.started: float | None = None
        self.seconds: float | None = None

    def batch_start(self, index: int) -> None:
        if index == self.warmup:
            synchronize(self.device)
            reset_peak_memory(self.device)
            self.started = time.perf_counter()

    def batch_end(self, index: int) -> None:
        if index == self.warmup + self.steps - 1:
            synchronize(self.device)
            assert self.started is not None
            self.seconds = time.perf_counter() - self.started


class ClockCallback(pl.Callback):
    def __init__(self, clock: StepClock) -> None:
        self.clock = clock

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.clock.batch_start(batch_idx)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.clock.batch_end(batch_idx)


# ---------------------------------------------------------------- the plain PyTorch reference loops


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
        loss.d(discriminator(real), discriminator(fake.detach())).backward()
        d_opt.step()
        set_requires_grad([discriminator], False)
        g_opt.zero_grad(set_to_none=True)
        loss.g(discriminator(fake)).backward()
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
        d_real = loss.d_real(discriminator(torch.cat([real_a, real_b], 1)))
        d_fake = loss.d_fake(discriminator(torch.cat([real_a, fake_b.detach()], 1)))
        (model.d_loss_weight * (d_real + d_fake)).backward()
        d_opt.step()
        set_requires_grad([discriminator], False)
        g_opt.zero_grad(set_to_none=True)
        g_gan = loss.g(discriminator(torch.cat([real_a, fake_b], 1)))
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
        return d_weight * (loss.d_real(critic(real)) + loss.d_fake(critic(fake.detach())))

    def step(batch: dict[str, Tensor]) -> None:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        set_requires_grad([d_a, d_b], False)
        g_opt.zero_grad(set_to_none=True)
        identity = F.l1_loss(g_ab(real_b), real_b) * lambda_b * lambda_idt
        identity = identity + F.l1_loss(g_ba(real_a), real_a) * lambda_a * lambda_idt
        g_loss = lambda_gan * (loss.g(d_b(fake_b)) + loss.g(d_a(fake_a)))
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


def run_trainer(cfg: DictConfig, clock: StepClock) -> None:
    from gan_experiments.train import build

    datamodule, model, trainer = build(cfg)
    trainer.callbacks.append(ClockCallback(clock))
    trainer.fit(model, datamodule=datamodule)


def measure(model: str, variant: str, data_root: Path, sizes: Sizes, device_name: str) -> Measurement:
    device = torch.device(device_name)
    clock = StepClock(sizes.warmup, sizes.steps, device)
    with tempfile.TemporaryDirectory(prefix="gan-bench-") as out:
        cfg = bench_config(model, variant, data_root, sizes, device_name, Path(out))
        pl.seed_everything(0, verbose=False)
        if variant == "reference":
            run_reference(model, cfg, clock)
        else:
            run_trainer(cfg, clock)
    if clock.seconds is None:
        raise RuntimeError(f"{model}/{variant}: fewer than {sizes.batches} batches ran")
    ms = clock.seconds / sizes.steps * 1000
    batch_size = int(cfg.data.batch_size)
    memory, kind = peak_memory(device)
    return Measurement(
        model, variant, device_name, batch_size, int(cfg.data.image_size), sizes.steps, ms,
        batch_size / ms * 1000, memory, kind,
    )  # fmt: skip


# ---------------------------------------------------------------- the driver


def run_isolated(model: str, variant: str, data_root: Path, args: argparse.Namespace) -> Measurement | str:
    """One measurement in a fresh process; its result, or the one-line reason it failed."""
    command = [
        sys.executable, "-m", "gan_experiments.bench", "--worker", f"{model}:{variant}",
        "--data-root", str(data_root), "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--device", args.device,
    ]  # fmt: skip
    command += ["--tiny"] if args.tiny else []
    command += ["--batch-size", str(args.batch_size)] if args.batch_size else []
    for override in args.override:
        command += ["--override", override]
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return Measurement(**json.loads(line[len(RESULT_PREFIX) :]))
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"


def ratio(numerator: Measurement | None, denominator: Measurement | None) -> float:
    if numerator is None or denominator is None:
        return math.nan
    return numerator.ms_per_iter / denominator.ms_per_iter


def table(results: list[Measurement], failures: dict[str, str]) -> str:
    lines = [
        f"{'model':9} {'variant':10} {'batch':>5} {'size':>4} {'ms/iter':>9} {'images/s':>9} {'peak MiB':>9}",
    ]
    for r in results:
        lines.append(
            f"{r.model:9} {r.variant:10} {r.batch_size:5d} {r.image_size:4d} {r.ms_per_iter:9.2f} "
            f"{r.images_per_s:9.1f} {r.peak_memory_mib:9.0f}"
        )
    for key, reason in failures.items():
        lines.append(f"{key:20} failed: {reason}")
    if results:
        lines.append(f"peak memory: {results[0].memory_kind}")
    lines.append("")
    lines.append(f"{'model':9} {'b/a':>6} {'c/a':>6} {'a/c':>6}")
    for model in dict.fromkeys(r.model for r in results):
        by_variant = {r.variant: r for r in results if r.model == model}
        a, b, c = (by_variant.get(v) for v in VARIANTS)
        lines.append(f"{model:9} {ratio(b, a):6.2f} {ratio(c, a):6.2f} {ratio(a, c):6.2f}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gan_experiments.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {MODELS}")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {VARIANTS}"
    )
    parser.add_argument("--steps", type=int, default=50, help="timed training steps (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before (default 10)")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cuda or cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 MNIST, 1 image-to-image")
    parser.add_argument("--tiny", action="store_true", help="width 8, 32 px, batch 4/1: a quick CPU check")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a Hydra override for every run, repeatable (e.g. --override trainer.precision=bf16-mixed)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, allowed in (("models", MODELS), ("variants", VARIANTS)):
        chosen = [v for v in getattr(args, name).split(",") if v]
        unknown = [v for v in chosen if v not in allowed]
        if unknown or not chosen:
            given = getattr(args, name)
            parser.error(
                f"--{name}: expected a comma-separated subset of {', '.join(allowed)}, got {given!r}"
            )
        setattr(args, name, chosen)
    if args.steps < 1 or args.warmup < 1:
        parser.error(f"--steps and --warmup must be >= 1, got {args.steps} and {args.warmup}")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device: expected auto, cuda or cpu, got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to torch")
    return args


def main(argv: Sequence[str] | None = None) -> list[Measurement]:
    args = parse_args(argv)
    sizes = Sizes(args.steps, args.warmup, args.tiny, args.batch_size, tuple(args.override))
    if args.worker:
        model, variant = args.worker.split(":")
        result = measure(model, variant, args.data_root, sizes, args.device)
        print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
        return [result]
    results: list[Measurement] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gan-bench-data-") as data_root:
        write_data(Path(data_root), sizes)
        for model in args.models:
            for variant in args.variants:
                outcome = run_isolated(model, variant, Path(data_root), args)
                if isinstance(outcome, Measurement):
                    results.append(outcome)
                    print(f"{model}/{variant}: {outcome.ms_per_iter:.2f} ms/iter", flush=True)
                else:
                    failures[f"{model}/{variant}"] = outcome
                    print(f"{model}/{variant}: failed: {outcome}", flush=True)
    print()
    extra = f", overrides: {' '.join(args.override)}" if args.override else ", fp32"
    print(f"device {args.device}, {args.steps} timed steps after {args.warmup} warmup steps{extra}")
    print(table(results, failures))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results] + [{"failed": failures}], indent=2))
    if failures:
        sys.exit(1)
    return results


if __name__ == "__main__":
    main()
