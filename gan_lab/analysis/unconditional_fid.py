"""Where an unconditional generator's FID goes: its digit shares and its in-between samples.

    python -m gan_lab.analysis.unconditional_fid dcgan_mnist gan_mnist cgan_mnist --data-dir data

For each shipped generator (`pretrained=<name>`), with the project's classifier and 10,000 samples:
- FID of its samples (seed 0, as `evaluate`), and its digit shares;
- real training images drawn with those shares against the test set (what the shares alone cost);
- 12,000 further samples (seed 7): the FID of their first 10,000 (the baseline of the next two), the
  same samples resampled to 10 % per digit by the classifier's reading (with replacement), the share
  read with confidence < 0.9, and the FID of the 10,000 most confident.
Numbers of 2026-12-03 in docs/results/mnist_full_length.md ("Where the unconditional FID goes").
"""

from __future__ import annotations

import argparse

import torch

from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.metrics.generative import MNISTGANMetrics
from gan_experiments.pretrained import load_pretrained


def resample(
    images: torch.Tensor, labels: torch.Tensor, shares: list[float], rng: torch.Generator
) -> torch.Tensor:
    """10,000 images drawn (with replacement) so that class k has shares[k] of them."""
    counts = (torch.tensor(shares) * 10_000).round().long()
    counts[-1] += 10_000 - counts.sum()
    picks = []
    for k, count in enumerate(counts.tolist()):
        members = (labels == k).nonzero().flatten()
        picks.append(members[torch.randint(len(members), (count,), generator=rng)])
    return images[torch.cat(picks)]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gan_lab.analysis.unconditional_fid", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="+")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    data = MNISTDataModule(data_dir=args.data_dir, image_size=32, download=False)
    data.prepare_data()
    data.setup("fit")
    data.setup("test")
    metrics = MNISTGANMetrics(num_samples=10_000)
    print("floor", round(metrics.floor(data.splits["train"], data.splits["test"])["fid_floor"], 2))
    train_images, train_labels = data.splits["train"].tensors[:2]

    def read(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            chunks = [images[i : i + 1000] for i in range(0, len(images), 1000)]
            return torch.cat([metrics.encode(chunk)[1].softmax(1) for chunk in chunks])

    real_confidence = read(data.splits["test"].tensors[0]).max(1).values
    print(f"real test: confidence < 0.9 {(real_confidence < 0.9).float().mean():.3f}")
    for name in args.names:
        model = load_pretrained(name)
        scores = metrics.evaluate(model)
        shares = [scores[f"coverage/{k}"] for k in range(10)]
        rng = torch.Generator().manual_seed(1)
        real_with_shares = metrics.score_images(resample(train_images, train_labels, shares, rng))["fid"]
        with torch.no_grad():
            draws = torch.Generator().manual_seed(7)
            samples = torch.cat([model(*model.sample_inputs(500, draws)) for _ in range(24)])
        probabilities = read(samples)
        confidence, reading = probabilities.max(1)
        baseline = metrics.score_images(samples[:10_000])["fid"]
        balanced = metrics.score_images(resample(samples, reading, [0.1] * 10, rng))["fid"]
        confident = metrics.score_images(samples[confidence.argsort(descending=True)[:10_000]])["fid"]
        print(
            f"{name}: FID {scores['fid']:.2f}, shares {min(shares):.3f}-{max(shares):.3f}; real images with "
            f"these shares {real_with_shares:.2f}; 10,000 of the seed-7 samples {baseline:.2f}, "
            f"resampled to 10 % per digit {balanced:.2f}; confidence "
            f"< 0.9 {(confidence < 0.9).float().mean():.3f}; "
            f"the 10,000 most confident of 12,000 {confident:.2f}"
        )


if __name__ == "__main__":
    main()
