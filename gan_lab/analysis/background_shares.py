"""Digit shares of a noise model's samples as generated and with their grey background set to black.

    python -m gan_lab.analysis.background_shares CHECKPOINT [--samples 5000]

The project's classifier was trained on MNIST, whose background is exactly -1; a generator that draws
digits on a grey, noisy background (gan × wgan_gp at 33 epochs) can be read as one class although its
grid shows every digit. Setting every pixel below 0 to -1 removes the background and keeps the strokes
(ink is > 0), so the shares of the cleaned samples say whether the digits are there.
Numbers of 2026-12-03 in docs/results/mnist_quality.md (the wgan_gp misses).
"""

from __future__ import annotations

import argparse

import torch

from gan_experiments.checkpoints import load_model
from gan_experiments.metrics.classifier import load_mnist_classifier


def shares_and_doubt(classifier: torch.nn.Module, images: torch.Tensor) -> tuple[list[float], float]:
    """Percent of the images read as each digit, and percent read with confidence < 0.9."""
    probabilities = classifier(images).softmax(dim=1)
    shares = torch.bincount(probabilities.argmax(dim=1), minlength=10) / len(images)
    doubt = (probabilities.max(dim=1).values < 0.9).float().mean()
    return [round(100 * float(share), 1) for share in shares], round(100 * float(doubt), 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gan_lab.analysis.background_shares", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    model, _ = load_model(args.checkpoint)
    classifier = load_mnist_classifier()
    with torch.no_grad():
        images = model(*model.sample_inputs(args.samples, torch.Generator().manual_seed(0)))
        background = float(images.flatten(1).median(dim=1).values.mean())
        print(f"median pixel per sample (the background; real MNIST: -1): {background:.2f}")
        cleaned = torch.where(images < 0, -1.0, images)
        for name, batch in (("as generated", images), ("pixels < 0 set to -1", cleaned)):
            shares, doubt = shares_and_doubt(classifier, batch)
            print(f"{name}: digit shares % {shares}, read with confidence < 0.9: {doubt} %")


if __name__ == "__main__":
    main()
