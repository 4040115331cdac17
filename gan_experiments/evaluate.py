"""`python -m gan_experiments.evaluate ckpt_path=… [num_samples=…] [data.data_dir=…] [device=auto]`: the
metrics of one checkpoint on its own data, as a table and as metrics.json next to the checkpoint.

The checkpoint alone is enough: it holds the run's model and data config (callbacks.run_config), and
the numbers come from the same code as the training callback's `metrics/*` (metrics.run), so a
checkpoint evaluated here and the epoch's TensorBoard scalars agree at equal settings.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from gan_experiments.atomic import check_output_file, write_text_atomically
from gan_experiments.checkpoints import checkpoint_file, model_from_checkpoint, read_checkpoint, run_config
from gan_experiments.cli import command_line, hydra_command
from gan_experiments.config import validate
from gan_experiments.devices import resolve_device
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.instantiation import instantiate_checked
from gan_experiments.metrics.distances import MIN_COMPARABLE_IMAGES
from gan_experiments.metrics.headline import image_counts
from gan_experiments.metrics.run import MetricKind, MetricSettings, Split, metrics_for, score_with

log = logging.getLogger("gan_experiments.evaluate")

#: one line per key for the printed table (docs/evaluation.md has the long form)
MNIST_MEANINGS = {
    "fid": "Fréchet distance, MNIST-classifier features of samples vs the split (→ fid_floor)",
    "kid_mean": "kernel distance of the same features, mean over subsets (→ kid_floor_mean)",
    "kid_std": "its standard deviation over subsets",
    "is_mean": "Inception Score analogue: 1 = one digit or unreadable … 10 (→ is_real_mean)",
    "is_std": "its standard deviation over splits",
    "coverage_min": "share of the rarest digit (0.1 when balanced)",
    "coverage_max": "share of the most common digit (0.1 when balanced)",
    "digits_under_5pct": "digits with < 5 % of the samples (0; 9 = collapse)",
    "coverage_kl": "KL(digit histogram ‖ uniform): 0 balanced … 2.30 one digit",
    "label_accuracy": "cGAN: samples read as the requested digit",
    "fid_floor": "FID of real training images vs the split: the best reachable",
    "kid_floor_mean": "KID of real training images (the floor)",
    "kid_floor_std": "its standard deviation",
    "is_real_mean": "Inception Score analogue of real training images",
}
TRANSLATION_MEANINGS = {
    "l1": "mean |G(A) − B| per pixel on [-1, 1] (0 is perfect)",
    "psnr": "peak signal-to-noise ratio of G(A) vs B, dB (higher is better)",
    "ssim": "structural similarity of G(A) vs B (1 is perfect)",
    "cycle_l1_a": "mean |G_BA(G_AB(a)) − a| (0 is perfect)",
    "cycle_l1_b": "mean |G_AB(G_BA(b)) − b| (0 is perfect)",
    "cycle_l1": "mean of both cycle errors",
    "fid": "Inception FID of translations vs targets",
    "fid_a": "Inception FID of B→A translations vs real A",
    "fid_b": "Inception FID of A→B translations vs real B",
    "images": "validation pairs the numbers rest on, each counted once",
    "images_a": "domain-A validation images (cycle_l1_a, translations into B), each counted once",
    "images_b": "domain-B validation images (cycle_l1_b, translations into A), each counted once",
    "digit_accuracy": "MNIST tasks: translations read as their source digit (mean of directions)",
    "digit_accuracy_a": "MNIST tasks: translations into A read as their source digit",
    "digit_accuracy_b": "MNIST tasks: translations into B read as their source digit",
    "core_ink_a": "style statistic of real A (outline ≈ 0.1, thin ≈ 1.9, bold ≈ 10.8)",
    "core_ink_b": "style statistic of real B",
    "core_ink_fake_a": "style statistic of the translations into A (→ core_ink_a)",
    "core_ink_fake_b": "style statistic of the translations into B (→ core_ink_b)",
    "target_side_a": "translations into A on A's side of the style midpoint",
    "target_side_b": "translations into B on B's side of the style midpoint",
    "in_target_range_a": "translations into A within real A's 5–95 % style range (real: 0.90)",
    "in_target_range_b": "translations into B within real B's 5–95 % style range (real: 0.90)",
}


FOLDER_MEANINGS = {
    "fid": "Inception FID of num_fake samples vs num_real training images of the folder (lower is better)",
    "kid_mean": "Inception KID, mean over subsets",
    "kid_std": "its standard deviation over subsets",
    "num_real": "real images in the reference (a seeded subset of the training images)",
    "num_fake": "generated samples",
}


MODE_MEANINGS = {
    "modes": "Stacked MNIST modes (digit triples) among the samples, of 1,000 (→ modes_floor)",
    "kl": "KL(mode histogram ‖ uniform), nats: 0 balanced … 6.91 one mode (→ kl_floor)",
    "mode_samples": "samples the two numbers were counted over (the papers: 26,000)",
    "modes_floor": "modes among as many real triples of the test split",
    "kl_floor": "KL of those real triples: the sampling floor at this count",
}


#: the counts and the flag next to each translation FID/KID ("fid", "fid_a", "fid_b" + these; the longer
#: ending first)
COUNT_MEANINGS = {
    "_real_images": "real images its FID/KID used",
    "_images": "translated images its FID/KID used",
    "_comparable": f"both counts reach {MIN_COMPARABLE_IMAGES} (score's minimum); else not comparable",
}


def meaning(name: str, kind: MetricKind) -> str:
    if name.startswith("coverage/"):
        return f"share of samples read as the digit {name.split('/')[1]}"
    if kind == "translation" and name.startswith("fid"):
        for ending, text in COUNT_MEANINGS.items():
            if name.endswith(ending):
                return f"{name[: -len(ending)]}: {text}"
    if name.startswith("kid") and kind == "translation":
        return "Inception KID (mean / std over subsets)"
    tables = {
        "mnist": MNIST_MEANINGS,
        "folder": FOLDER_MEANINGS,
        "translation": TRANSLATION_MEANINGS,
        "modes": MODE_MEANINGS,
    }
    table = tables[kind]
    return table.get(name, "")


def data_overrides(cfg: DictConfig, run: DictConfig) -> dict[str, Any]:
    """The `data.*` keys given on the command line (non-null), each checked against the run's data config."""
    overrides = {key: value for key, value in (cfg.get("data") or {}).items() if value is not None}
    for key in overrides:
        if key not in run.data:
            raise ConfigError(
                f"data.{key}: the run's data config ({run.data._target_.rsplit('.', 1)[-1]}) has no such key"
            )
    return overrides


def prepare_data(run: DictConfig, overrides: dict[str, Any], split: Split) -> LightningDataModule:
    """The run's data (with the command line's `data.*` keys), set up for the split the metrics read."""
    datamodule = instantiate_checked(run.data, **overrides)
    datamodule.prepare_data()
    datamodule.setup("test" if split == "test" else "validate")
    return datamodule


def settings_of(cfg: DictConfig) -> MetricSettings:
    try:
        return MetricSettings(cfg.num_samples, cfg.batch_size, cfg.seed, cfg.inception_weights, cfg.split)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def distance_of(name: str) -> str | None:
    """The FID a translation's KID key belongs with (`kid_b_mean` → `fid_b`), the FID itself for an FID."""
    if name in ("fid", "fid_a", "fid_b"):
        return name
    if name.startswith("kid") and name.endswith(("_mean", "_std")):
        return "fid" + name[len("kid") :].rsplit("_", 1)[0]
    return None


def not_comparable(scores: dict[str, Any]) -> list[str]:
    """The translation FIDs whose counts fall below MIN_COMPARABLE_IMAGES (flagged `fid…_comparable`)."""
    return [name for name in ("fid", "fid_a", "fid_b") if scores.get(f"{name}_comparable") is False]


def shown_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def print_table(report: dict[str, Any], kind: MetricKind) -> None:
    model = report["model"].rsplit(".", 1)[-1]
    title = f"{model}  {report['checkpoint']}  (epoch {report['epoch']}, batch {report['batches_seen']})"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    scores = report["metrics"]
    flagged = not_comparable(scores)
    for name, value in scores.items():
        text = meaning(name, kind)
        distance = distance_of(name) if kind == "translation" else None
        if distance in flagged:
            counts = f"{image_counts(distance, scores, flag=False)}, < {MIN_COMPARABLE_IMAGES}"
            table.add_row(name, f"{shown_value(value)} (!)", f"NOT COMPARABLE ({counts}): {text}")
        else:
            table.add_row(name, shown_value(value), text)
    Console().print(table)


def json_safe(value: float) -> float | str:
    """PSNR of exact copies is inf: JSON has no inf, so non-finite values are written as strings."""
    return value if math.isfinite(value) else str(value)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild model and data from the checkpoint, compute the metrics, print them, write metrics.json."""
    validate(cfg)
    settings = settings_of(cfg)
    path = checkpoint_file(cfg.ckpt_path)
    # the results file is checked before any work: a bad path costs nothing, not every metric computed
    output = check_output_file("output", cfg.output or path.parent / "metrics.json", example="metrics.json")
    device = resolve_device(cfg.device)
    checkpoint = read_checkpoint(path, trust=cfg.trust_checkpoint)
    model, run = model_from_checkpoint(checkpoint, device), run_config(checkpoint)
    if not cfg.ema:
        model.discard_ema()
    overrides = data_overrides(cfg, run)
    datamodule = prepare_data(run, overrides, settings.split)
    start = time.perf_counter()
    metrics = metrics_for(model, datamodule, settings, device)
    if not cfg.eval_mode and (metrics is None or not metrics.per_batch):
        raise ConfigError(
            "eval_mode=false is the pix2pix paper's test protocol for translation models; "
            f"a {type(model).__name__} is always sampled in eval mode"
        )
    torch.manual_seed(settings.seed)  # dropout noise under eval_mode=false, as translate seeds it
    scores = score_with(metrics, model, datamodule, cfg.eval_mode) if metrics is not None else {}
    seconds = time.perf_counter() - start
    if metrics is None or not scores:
        raise UserError(
            f"ckpt_path={cfg.ckpt_path}: no metrics for a {type(model).__name__} on "
            f"{type(datamodule).__name__} (see the warning above)"
        )
    report = {
        "checkpoint": str(path.resolve()),
        "model": run.model._target_,
        "epoch": checkpoint.get("epoch"),
        "batches_seen": checkpoint.get("adversarial_state", {}).get("batches_seen"),
        "metrics": scores,
        "settings": {
            "num_samples": settings.num_samples,
            "batch_size": settings.batch_size,
            "seed": settings.seed,
            "split": settings.split,
            "eval_mode": bool(cfg.eval_mode),
            "ema": bool(cfg.ema and getattr(model, "generator_ema", None) is not None),
            "inception_weights": cfg.inception_weights,
            "device": str(device),
            "data": {"_target_": run.data._target_, **{k: str(v) for k, v in overrides.items()}},
        },
        "command": command_line("gan_experiments.evaluate"),
        "seconds": round(seconds, 2),
    }
    safe = {**report, "metrics": {name: json_safe(value) for name, value in scores.items()}}
    write_text_atomically(output, json.dumps(safe, indent=2) + "\n")
    print_table(report, metrics.kind)
    for name in not_comparable(scores):
        log.warning(
            "%s and its KID rest on %s, fewer than %d on a side: mostly sampling noise, biased upward, not "
            "comparable with FIDs at other counts (published FIDs use 10,000-50,000; score refuses this)",
            name,
            image_counts(name, scores, flag=False),
            MIN_COMPARABLE_IMAGES,
        )
    log.info("metrics of %s written to %s (%.1f s)", path, output, seconds)
    return report


main = hydra_command(evaluate, "eval", log)


if __name__ == "__main__":
    main()
