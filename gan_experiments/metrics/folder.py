"""What a noise model learned on a folder of images (`data=image_folder`): Inception FID/KID of its
samples against the folder's own training images.

There is no classifier for arbitrary images, so the feature network is InceptionV3 (torch-fidelity's
weights, used only when they are on disk; `metrics.inception` says where to put them). FID depends on
both image counts, so every result carries `num_real` and `num_fake`: the real side is a seeded
`num_samples` of the training images, or all of them when the folder holds fewer.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from gan_experiments.metrics.distances import MIN_SAMPLES, FeatureDistances
from gan_experiments.metrics.generative import sampling, seeded_samples
from gan_experiments.metrics.inception import InceptionFeatures


class FolderGANMetrics:
    """FID/KID of `num_samples` seeded samples against a real reference encoded once (`reference`)."""

    def __init__(
        self,
        features: InceptionFeatures | nn.Module,
        num_samples: int = 10_000,
        batch_size: int = 100,
        seed: int = 0,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        device: str | torch.device = "cpu",
    ) -> None:
        if num_samples < MIN_SAMPLES or batch_size < 1:
            raise ValueError(
                f"num_samples must be >= {MIN_SAMPLES} and batch_size >= 1, got {num_samples}, {batch_size}"
            )
        self.features = features.eval().requires_grad_(False)
        self.num_samples, self.batch_size, self.seed = int(num_samples), int(batch_size), int(seed)
        self.distances = FeatureDistances(
            int(features.num_features),
            keep_real=True,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            seed=seed,
            sync_on_compute=False,
        )
        self.device = torch.device("cpu")
        self.to(device)

    def to(self, device: str | torch.device) -> FolderGANMetrics:
        self.device = torch.device(device)
        self.features.to(self.device)
        self.distances.to(self.device)
        return self

    def encode(self, images: Tensor) -> Tensor:
        """Features in fp32 (autocast off: half-precision features skew the FID)."""
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            return self.features(images.to(self.device, torch.float32))

    def reference(self, real_batches: Iterable[Tensor]) -> None:
        """Encode the real images once; later evaluations only encode samples."""
        self.distances.reset_real()
        for images in real_batches:
            self.distances.update(self.encode(images), real=True)
        if self.distances.num_real < MIN_SAMPLES:
            raise ValueError(
                f"the reference needs at least {MIN_SAMPLES} images, got {self.distances.num_real}"
            )

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Sample the model (eval mode, no grad, its mode restored after) and score the samples:
        {"fid", "kid_mean", "kid_std", "num_real", "num_fake"}."""
        if self.distances.num_real == 0:
            raise RuntimeError("FolderGANMetrics: call reference(real_batches) before scoring samples")
        self.distances.reset()
        with sampling(model):
            for images, _ in seeded_samples(model, self.num_samples, self.batch_size, self.seed):
                self.distances.update(self.encode(images), real=False)
        scores = self.distances.compute()
        scores.update(num_real=float(self.distances.num_real), num_fake=float(self.distances.num_fake))
        self.distances.reset()
        return scores
