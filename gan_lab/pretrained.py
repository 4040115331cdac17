"""Pack a trained MNIST generator into the core package's shipped weights, scored.

    python -m gan_lab.pretrained --ckpt logs/…/checkpoints/best.ckpt --name dcgan_mnist \\
        --trained-by "python -m gan_experiments.train experiment=dcgan_mnist" --data-dir data

writes `gan_experiments/weights/<name>.pt` and `<name>.json` (the format `generate pretrained=<name>`
reads, see `gan_experiments.pretrained`), atomically. It scores the packed weights on real MNIST, so
`--data-dir` must hold it. A lab tool: maintainers run it when a preset's result is re-measured; the
core only loads what it wrote.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from gan_experiments.atomic import atomic_path, write_text_atomically
from gan_experiments.callbacks.run_config import CHECKPOINT_KEY, DATA_SPEC_KEY
from gan_experiments.checkpoints import model_from_checkpoint, read_checkpoint, run_config
from gan_experiments.cli import run_command
from gan_experiments.errors import ConfigError
from gan_experiments.metrics.classifier import sha256_of
from gan_experiments.models.gan import GAN
from gan_experiments.pretrained import GENERATOR_KEY, WEIGHTS_DIR, load_packed

log = logging.getLogger("gan_lab.pretrained")


def packed_state(model: GAN) -> dict[str, torch.Tensor]:
    """The sampling generator's weights and buffers, floats in fp16 (half the bytes)."""
    return {
        key: value.detach().cpu().half() if value.is_floating_point() else value.detach().cpu()
        for key, value in model.sampler.state_dict().items()
    }


def pack(
    ckpt_path: Path,
    name: str,
    trained_by: str,
    data_dir: Path,
    folder: Path | None = None,
    num_samples: int = 10_000,
) -> dict[str, Any]:
    """Write `<name>.pt` and `<name>.json` (see the module docstring); returns the record."""
    from gan_experiments.data.mnist import MNISTDataModule
    from gan_experiments.metrics.run import MetricSettings, evaluate_model

    folder = folder or WEIGHTS_DIR
    checkpoint = read_checkpoint(ckpt_path)
    run = run_config(checkpoint)
    if not issubclass(get_class(run.model._target_), GAN) or not issubclass(
        get_class(run.data._target_), MNISTDataModule
    ):
        raise ConfigError(
            f"--ckpt {ckpt_path}: a {run.model._target_} on {run.data._target_}; only noise-to-image GANs "
            "trained on MNIST are packed (their metrics need MNIST)"
        )
    original = model_from_checkpoint(checkpoint)
    config = OmegaConf.to_container(run, resolve=True)
    data = instantiate(run.data, data_dir=str(data_dir), download=False)
    data.prepare_data()
    data.setup("validate")
    settings = MetricSettings(num_samples=num_samples)
    out = folder / f"{name}.pt"
    # the new .pt replaces the old only after it is scored and its record written: a failure leaves the
    # shipped pair as it was
    with atomic_path(out) as tmp:
        torch.save(
            {
                CHECKPOINT_KEY: config,
                DATA_SPEC_KEY: original.data_spec.to_dict(),
                GENERATOR_KEY: packed_state(original),
            },
            tmp,
        )
        scores = {
            "packed_fp16": evaluate_model(load_packed(tmp), data, settings),
            "original_fp32": evaluate_model(original, data, settings),
        }
        record = {
            "name": name,
            "sha256": sha256_of(tmp),
            "file_bytes": tmp.stat().st_size,
            "model": config["model"]["_target_"],
            "generator": config["model"]["generator"]["_target_"],
            "metrics": {key: round(value, 4) for key, value in scores["packed_fp16"].items()},
            "metrics_fp32": {key: round(value, 4) for key, value in scores["original_fp32"].items()},
            "metrics_protocol": f"as python -m gan_experiments.evaluate: {num_samples} samples, seed 0, "
            "against the MNIST test set, the project's classifier",
            "trained_by": trained_by,
            "source": {
                "checkpoint": Path(ckpt_path).name,
                "epoch": checkpoint.get("epoch"),
                "batches_seen": checkpoint.get("adversarial_state", {}).get("batches_seen"),
            },
            "packed_by": shlex.join(["python", "-m", "gan_lab.pretrained", *sys.argv[1:]]),
            "torch_version": torch.__version__,
        }
        write_text_atomically(
            folder / f"{name}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        )
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gan_lab.pretrained",
        description="pack a trained MNIST generator into the package",
    )
    parser.add_argument(
        "--ckpt", type=Path, required=True, help="the training checkpoint (best.ckpt, last.ckpt)"
    )
    parser.add_argument(
        "--name", required=True, help="the name `generate pretrained=` takes, e.g. dcgan_mnist"
    )
    parser.add_argument("--trained-by", required=True, help="the command that trained the checkpoint")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="real MNIST, for the metrics")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder of the packed files")
    args = parser.parse_args(argv)
    record = run_command(lambda a: pack(a.ckpt, a.name, a.trained_by, a.data_dir, a.out), args, log)
    metrics = record["metrics"]
    print(
        f"{args.out / args.name}.pt: {record['file_bytes'] / 1e6:.1f} MB, FID {metrics['fid']:.2f} "
        f"(fp32 {record['metrics_fp32']['fid']:.2f}), "
        f"digits {metrics['coverage_min']:.1%}–{metrics['coverage_max']:.1%}"
    )


if __name__ == "__main__":
    main()
