"""`python -m gan_experiments.generate ckpt_path=…|pretrained=<name> num=64 out=samples.png [label=3]
[interpolate=true steps=10 rows=8] [seed=0] [device=auto]`: a PNG grid of samples from a noise-to-image
checkpoint (GAN, DCGAN, conv GAN, cGAN), or a strip of latent interpolations; with `out_dir=…` the `num`
samples as single image files instead (for `score` or another tool's metrics). `pretrained=dcgan_mnist`
(see `gan_experiments.pretrained`) samples a generator shipped with the package instead of a checkpoint.

Sampling goes through the model's `forward`, i.e. the EMA generator when the run kept one, in eval
mode, with a seeded generator: the same command writes the same picture.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import torch
from lightning.pytorch import LightningModule
from omegaconf import DictConfig
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid, save_image

from gan_experiments.atomic import atomic_path, check_output_file, check_output_folder
from gan_experiments.checkpoints import load_model
from gan_experiments.cli import hydra_command
from gan_experiments.config import validate
from gan_experiments.devices import resolve_device
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.image_files import write_image_folder
from gan_experiments.models.gan import GAN
from gan_experiments.pretrained import available, load_pretrained
from gan_experiments.sampling import interpolation_grid, sample_grid

log = logging.getLogger("gan_experiments.generate")

#: samples drawn per forward pass for out_dir (10,000 MNIST samples in 20 passes)
SAMPLE_BATCH = 500


def check_label(model: GAN, label: object) -> int | None:
    if label is None:
        return None
    if not getattr(model, "requires_labels", False):
        raise ConfigError(f"label={label}: a {type(model).__name__} is unconditional; label needs a cGAN")
    classes = model.num_classes
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < classes:
        raise ConfigError(f"label must be an integer in [0, {classes}), got {label!r}")
    return label


def check_counts(cfg: DictConfig) -> None:
    for key, low in (("num", 1), ("steps", 2), ("rows", 1)):
        value = cfg[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")


def check_output(cfg: DictConfig) -> str | None:
    """`out_dir` (a new or empty folder) or `out` (a file in an image format PIL writes, by its
    extension), checked before the checkpoint is read; returns the PIL format of `out`."""
    if cfg.out_dir is not None:
        if cfg.interpolate:
            raise ConfigError("out_dir writes single samples; interpolate=true draws a strip into out=…")
        check_output_folder("out_dir", cfg.out_dir, new=True)
        return None
    out = check_output_file("out", cfg.out, example="samples.png")
    image_format = Image.registered_extensions().get(out.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise ConfigError(f"out={cfg.out}: not the name of an image file (e.g. out=samples.png or .jpg)")
    return image_format


def sample_batches(model: GAN, num: int, label: int | None, rng: torch.Generator) -> Iterator[Tensor]:
    """`num` samples in batches of at most SAMPLE_BATCH; a cGAN without `label` cycles through the
    classes (sample i has class i mod classes), so every class gets num // classes or one more."""
    for start in range(0, num, SAMPLE_BATCH):
        n = min(SAMPLE_BATCH, num - start)
        z = model.sample_noise(n, rng)
        if not getattr(model, "requires_labels", False):
            yield model(z)
            continue
        labels = (
            torch.full((n,), label, device=z.device)
            if label is not None
            else torch.arange(start, start + n, device=z.device) % model.num_classes
        )
        yield model(z, labels)


def write_samples(model: GAN, cfg: DictConfig, label: int | None, rng: torch.Generator) -> Path:
    """`num` samples as single PNGs in the new folder `out_dir` (for `score` or another tool)."""
    out_dir = Path(str(cfg.out_dir)).expanduser()
    with torch.no_grad():
        count = write_image_folder(sample_batches(model, cfg.num, label, rng), out_dir)
    log.info("%d samples from %s written to %s (%s)", count, source_of(cfg), out_dir, "000000.png …")
    return out_dir


def source_of(cfg: DictConfig) -> str:
    """What the samples come from, for messages: the checkpoint path or `pretrained=<name>`."""
    return f"pretrained={cfg.pretrained}" if cfg.pretrained else str(cfg.ckpt_path)


def load_generator(cfg: DictConfig, device: torch.device) -> LightningModule:
    """The model of `ckpt_path`, or the shipped generator `pretrained` names (exactly one of the two)."""
    if (cfg.ckpt_path is None) == (cfg.pretrained is None):
        raise ConfigError(
            "set ckpt_path=… (a training checkpoint) or pretrained=<name> (one of "
            f"{', '.join(available()) or 'none installed'}), exactly one of them"
        )
    if cfg.pretrained is not None:
        if cfg.trust_checkpoint:
            raise ConfigError("trust_checkpoint applies to ckpt_path; pretrained files are always checked")
        return load_pretrained(str(cfg.pretrained), device)
    return load_model(cfg.ckpt_path, device, trust=cfg.trust_checkpoint)[0]


def generate(cfg: DictConfig) -> Path:
    """Write the grid (or interpolation strip) to `out`, or with `out_dir` the single samples; returns
    the path written."""
    validate(cfg)
    check_counts(cfg)
    image_format = check_output(cfg)
    device = resolve_device(cfg.device)
    model = load_generator(cfg, device)
    if model.data_layout != "images":
        raise UserError(
            f"ckpt_path={cfg.ckpt_path}: a {type(model).__name__} checkpoint translates images; use "
            f"python -m gan_experiments.translate ckpt_path={cfg.ckpt_path} input_dir=… output_dir=…"
        )
    if not cfg.ema:
        model.discard_ema()
    label = check_label(model, cfg.label)
    rng = torch.Generator(device=device).manual_seed(int(cfg.seed))
    if cfg.out_dir is not None:
        return write_samples(model, cfg, label, rng)
    with torch.no_grad():
        if cfg.interpolate:
            images, columns = interpolation_grid(model, cfg.rows, cfg.steps, label, rng)
        else:
            images, columns = sample_grid(model, cfg.num, label, rng)
    grid = make_grid(images.float().cpu(), nrow=columns, normalize=True, value_range=(-1, 1), pad_value=1.0)
    out = Path(str(cfg.out)).expanduser()
    with atomic_path(out) as tmp:
        save_image(grid, tmp, format=image_format)
    what = f"{cfg.rows}×{cfg.steps} interpolation" if cfg.interpolate else f"{len(images)} samples"
    log.info("%s from %s written to %s", what, source_of(cfg), out)
    return out


main = hydra_command(generate, "generate", log)


if __name__ == "__main__":
    main()
