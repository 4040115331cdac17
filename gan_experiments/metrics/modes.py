"""Mode coverage on Stacked MNIST, as VEEGAN and PacGAN measure it: each of an image's three channels is
read by the project's MNIST classifier, the three digits name one of 1,000 modes, and a generator's
samples are scored by

- `modes`: how many of the 1,000 modes occur at least once;
- `kl`: KL(generated ‖ uniform) = Σ p ln(1000 p) over the modes, in nats (PacGAN's "reverse KL").

Both depend on the sample count: 26,000 in the papers, where 26,000 real triples score 1,000 modes and
KL ≈ 0.02 (the sampling floor: about (K - 1) / 2N for K modes and N samples). Every result carries its
count (`mode_samples`) and the floor measured on as many real triples from the test split
(`modes_floor`, `kl_floor`), read by the same classifier.

    metrics = StackedMNISTMetrics(num_samples=26_000)
    metrics.floor(datamodule.reference_loader(26_000, 500))  # real triples, once
    scores = metrics.evaluate(model)                         # modes, kl, mode_samples, the floor
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from gan_experiments.metrics.classifier import MNISTClassifier, ResizeMode, load_mnist_classifier
from gan_experiments.metrics.generative import sampling, seeded_samples

#: modes of Stacked MNIST: 10 digits in each of 3 channels
MODES = 1000
#: the papers' sample count
PAPER_SAMPLES = 26_000


class ModeCounts:
    """A histogram over the modes; its coverage and KL from the uniform distribution."""

    def __init__(self, modes: int = MODES) -> None:
        self.modes = modes
        self.counts = torch.zeros(modes, dtype=torch.int64)

    def update(self, ids: Tensor) -> None:
        self.counts += torch.bincount(ids.detach().cpu().long(), minlength=self.modes)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def covered(self) -> int:
        return int((self.counts > 0).sum())

    def kl_from_uniform(self) -> float:
        """KL(p ‖ uniform) in nats; 0 when every mode has the same count, ln(modes) for one mode."""
        p = self.counts[self.counts > 0].double() / max(1, self.total)
        return float((p * torch.log(p * self.modes)).sum())


def read_modes(classifier: MNISTClassifier, images: Tensor) -> Tensor:
    """(N, 3, H, W) stacked digits → (N,) mode ids 100·d₀ + 10·d₁ + d₂, each channel read on its own."""
    n, channels = images.shape[:2]
    digits = classifier(images.reshape(n * channels, 1, *images.shape[-2:])).argmax(dim=1).view(n, channels)
    weights = torch.tensor([10 ** (channels - 1 - c) for c in range(channels)], device=digits.device)
    return (digits * weights).sum(dim=1)


class StackedMNISTMetrics:
    """Modes and KL of `num_samples` seeded samples of a noise model, next to the floor of as many real
    triples."""

    def __init__(
        self,
        num_samples: int = PAPER_SAMPLES,
        batch_size: int = 500,
        device: str | torch.device = "cpu",
        seed: int = 0,
        resize_mode: ResizeMode = "pad",
        classifier: MNISTClassifier | None = None,
    ) -> None:
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples and batch_size must be >= 1, got {num_samples}, {batch_size}")
        self.num_samples, self.batch_size, self.seed = int(num_samples), int(batch_size), int(seed)
        self.device = torch.device(device)
        self.classifier = (
            classifier if classifier is not None else load_mnist_classifier(resize_mode=resize_mode)
        ).to(self.device)
        self.classifier.eval()
        self.floor_scores: dict[str, float] = {}

    def to(self, device: str | torch.device) -> StackedMNISTMetrics:
        self.device = torch.device(device)
        self.classifier.to(self.device)
        return self

    @torch.no_grad()
    def count(self, batches: Iterable[Any]) -> ModeCounts:
        """The mode histogram of the first `num_samples` images of `batches` (tensors or (images, …))."""
        counts = ModeCounts()
        for batch in batches:
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            images = images[: self.num_samples - counts.total].to(self.device).float()
            counts.update(read_modes(self.classifier, images))
            if counts.total >= self.num_samples:
                break
        return counts

    def floor(self, real_batches: Iterable[Any]) -> dict[str, float]:
        """Modes and KL of real triples (as many as the samples): what a perfect generator would score."""
        counts = self.count(real_batches)
        if counts.total < self.num_samples:
            raise ValueError(
                f"the reference holds {counts.total} triples, fewer than num_samples={self.num_samples}"
            )
        self.floor_scores = {"modes_floor": float(counts.covered()), "kl_floor": counts.kl_from_uniform()}
        return dict(self.floor_scores)

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        with sampling(model):
            counts = self.count(
                images for images, _ in seeded_samples(model, self.num_samples, self.batch_size, self.seed)
            )
        return {
            "modes": float(counts.covered()),
            "kl": counts.kl_from_uniform(),
            "mode_samples": float(counts.total),
            **self.floor_scores,
        }
