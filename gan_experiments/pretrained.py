"""MNIST generators shipped in the package: `generate pretrained=<name>` samples one with no training
and no download.

Each is a packed checkpoint in `gan_experiments/weights/<name>.pt` — the run config the checkpoint
stored and the generator's weights only (the EMA copy when the run kept one), floats stored as fp16 —
next to `<name>.json`: its sha256 (checked before loading, like the metric classifier's), the metrics
of the packed weights as `evaluate` measures them (and of the fp32 original, to show what fp16 storage
costs), the command that trained it and which checkpoint of that run it is.

    python -m gan_experiments.pretrained --ckpt logs/…/checkpoints/best.ckpt --name dcgan_mnist \\
        --trained-by "python -m gan_experiments.train experiment=dcgan_mnist" --data-dir data

packs one (scores it on real MNIST, so `--data-dir` must hold it), atomically.
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
from gan_experiments.checkpoints import (
    check_run_config,
    model_config_and_spec,
    model_from_checkpoint,
    read_checkpoint,
    run_config,
)
from gan_experiments.cli import run_command
from gan_experiments.compat import current_name, upgrade_checkpoint
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.instantiation import build_model
from gan_experiments.metrics.classifier import sha256_of
from gan_experiments.models.gan import GAN

log = logging.getLogger("gan_experiments.pretrained")

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: the key of the generator's weights in a packed file
GENERATOR_KEY = "generator"


def available(folder: Path | None = None) -> list[str]:
    """Names of the packed generators (a `.pt` with its `.json` record)."""
    folder = folder or WEIGHTS_DIR
    return sorted(path.stem for path in folder.glob("*.pt") if path.with_suffix(".json").is_file())


def read_record(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The JSON record of a packed generator (sha256, metrics, commands); unknown names list the known."""
    folder = folder or WEIGHTS_DIR
    path = folder / f"{name}.json"
    if not path.is_file():
        names = ", ".join(available(folder)) or "none are installed"
        raise ConfigError(f"pretrained={name}: no such pretrained generator (available: {names})")
    return json.loads(path.read_text())


def load_pretrained(name: str, device: str | torch.device = "cpu", folder: Path | None = None) -> GAN:
    """The packed generator as a GAN module in eval mode (fp32), after its sha256 matches the record."""
    folder = folder or WEIGHTS_DIR
    name = current_name("pretrained", name)
    record = read_record(name, folder)
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise UserError(f"{path}: weights of pretrained={name} missing (reinstall the package)")
    actual = sha256_of(path)
    if actual != record["sha256"]:
        raise UserError(
            f"{path}: sha256 {actual[:12]}… differs from the recorded {record['sha256'][:12]}…; the file is "
            "corrupted or was replaced (reinstall the package)"
        )
    return load_packed(path).to(device)


def load_packed(path: Path) -> GAN:
    """A packed file as a GAN module in eval mode, fp32; its run config checked like a checkpoint's."""
    packed = upgrade_checkpoint(torch.load(path, map_location="cpu", weights_only=True), CHECKPOINT_KEY)
    check_run_config(packed[CHECKPOINT_KEY], path)
    model = build_model(*model_config_and_spec(packed))
    model.discard_ema()  # the packed weights are the EMA's: they go into the generator
    weights = packed[GENERATOR_KEY]
    model.generator.load_state_dict(
        {key: value.float() if value.is_floating_point() else value for key, value in weights.items()}
    )
    return model.eval()


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
            "packed_by": shlex.join(["python", "-m", "gan_experiments.pretrained", *sys.argv[1:]]),
            "torch_version": torch.__version__,
        }
        write_text_atomically(
            folder / f"{name}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        )
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gan_experiments.pretrained",
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
