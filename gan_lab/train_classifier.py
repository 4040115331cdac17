"""Train the MNIST feature network that the GAN metrics use, and record its weights' sha256.

    python -m gan_lab.train_classifier --data-dir data \
        --out gan_experiments/metrics/weights/mnist_classifier.pt

A plain loop rather than Lightning: this is a small supervised model trained once, and a dozen lines of
loop are easier to audit than a Trainer configuration. The split is MNISTDataModule's (same seed, so the
held-out val images are the ones the GANs never train on either); test accuracy is measured once, at
the end, on the 10k test images.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.errors import UserError
from gan_experiments.metrics.classifier import WEIGHTS_PATH, MNISTClassifier, record_path, sha256_of


def random_affine(
    images: Tensor,
    generator: torch.Generator,
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
) -> Tensor:
    """Per-image small rotation/shift/zoom, so the network tolerates the slightly off-center, off-scale
    digits generators draw (torchvision's RandomAffine draws one transform per batch)."""
    n = images.shape[0]

    def uniform(low: float, high: float) -> Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-degrees, degrees) * math.pi / 180
    zoom = uniform(*scale)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    shift_x, shift_y = uniform(-2 * translate, 2 * translate), uniform(-2 * translate, 2 * translate)
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # background is -1: sample the image shifted to [0, 2] with zero padding, then shift back
    return F.grid_sample(images + 1, grid, align_corners=False, padding_mode="zeros") - 1


@torch.no_grad()
def accuracy(network: MNISTClassifier, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    network.eval()
    correct = sum(
        int((network(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum())
        for i in range(0, len(images), batch_size)
    )
    return correct / len(images)


def train(
    data_dir: str | Path,
    epochs: int = 4,
    batch_size: int = 128,
    lr: float = 2e-3,
    val_size: int = 5000,
    seed: int = 0,
    augment: bool = True,
) -> tuple[MNISTClassifier, dict[str, float]]:
    """AdamW with a cosine schedule; returns the network (eval mode) and its val/test accuracy."""
    torch.manual_seed(seed)
    data = MNISTDataModule(str(data_dir), image_size=28, val_size=val_size, download=False, seed=seed)
    data.prepare_data()
    data.setup()
    images, labels = data.splits["train"].tensors
    generator = torch.Generator().manual_seed(seed)
    network = MNISTClassifier()
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = len(images) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * steps_per_epoch)
    stats: dict[str, float] = {}
    for epoch in range(epochs):
        network.train()
        order = torch.randperm(len(images), generator=generator)
        started, total_loss = time.perf_counter(), 0.0
        for step in range(steps_per_epoch):
            idx = order[step * batch_size : (step + 1) * batch_size]
            batch = random_affine(images[idx], generator) if augment else images[idx]
            loss = F.cross_entropy(network(batch), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += float(loss.detach())
        if val_size:
            stats["val_accuracy"] = accuracy(network, *data.splits["val"].tensors)
        val = f", val accuracy {stats['val_accuracy']:.4f}" if val_size else ""
        seconds = time.perf_counter() - started
        print(
            f"epoch {epoch + 1}/{epochs}: loss {total_loss / steps_per_epoch:.4f}{val} ({seconds:.0f} s)",
            flush=True,
        )
    stats["test_accuracy"] = accuracy(network, *data.splits["test"].tensors)
    return network.eval(), stats


def save(network: MNISTClassifier, out: Path, record: dict) -> dict:
    """fp32 state_dict only (loadable with weights_only=True), then the JSON record with its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".part")
    torch.save(
        {k: v.detach().float() if v.is_floating_point() else v for k, v in network.state_dict().items()},
        partial,
    )
    partial.replace(out)
    record = {"sha256": sha256_of(out), "file_bytes": out.stat().st_size, **record}
    record_path(out).write_text(json.dumps(record, indent=2) + "\n")
    return record


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gan_lab.train_classifier", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--data-dir", default="data", help="folder holding MNIST/raw (IDX files, .gz or unpacked)"
    )
    parser.add_argument(
        "--out", type=Path, default=WEIGHTS_PATH, help="weights file; the JSON record goes beside it"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--min-accuracy", type=float, default=0.99, help="refuse to write weights below this")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        network, stats = train(
            args.data_dir, args.epochs, args.batch_size, args.lr, args.val_size, args.seed, args.augment
        )
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"test accuracy {stats['test_accuracy']:.4f}", flush=True)
    if stats["test_accuracy"] < args.min_accuracy:
        print(
            f"error: test accuracy below --min-accuracy={args.min_accuracy}; weights not written",
            file=sys.stderr,
        )
        return 1
    command = shlex.join(
        [
            "python",
            "-m",
            "gan_lab.train_classifier",
            *(sys.argv[1:] if argv is None else argv),
        ]
    )
    record = save(
        network,
        args.out,
        {
            **{k: round(v, 4) for k, v in stats.items()},
            "command": command,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "augment": args.augment,
            "train_images": 60000 - args.val_size,
            "num_parameters": sum(p.numel() for p in network.parameters()),
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "train_seconds": round(time.perf_counter() - started),
        },
    )
    print(f"wrote {args.out} ({record['file_bytes']} bytes, sha256 {record['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
