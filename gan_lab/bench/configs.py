"""What is measured: the models, the variants, each model's experiment and the sizes, composed as the
Hydra config of one measurement."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from gan_experiments import CONF_DIR  # (importing the package registers the ${cwd:} resolver)

MODELS = ("gan", "dcgan", "pix2pix", "cyclegan")
VARIANTS = ("reference", "trainer", "fast")
#: the experiment each model is measured in (real widths); translation models at batch 1 as published
EXPERIMENTS = {
    "gan": "gan_mnist",
    "dcgan": "dcgan_mnist",
    "pix2pix": "pix2pix_edges2shoes",
    "cyclegan": "cyclegan_horse2zebra",
}


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
