"""Metrics for translation models, as accumulators the models feed with tensors in [-1, 1].

pix2pix has ground truth, so it gets pixel metrics (L1, PSNR, SSIM) against the target; CycleGAN has
none, so it gets the cycle-consistency error it trains on. Both add FID/KID of the translations against
real images of the target domain when the InceptionV3 weights are on disk (see `inception`); without
them those keys are absent. Each epoch: `update` per batch, `compute()` once, `reset()`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torchmetrics import MeanAbsoluteError
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from gan_experiments.metrics.distances import (
    MIN_COMPARABLE_IMAGES,
    MIN_SAMPLES,
    FeatureDistances,
    count_over_processes,
)
from gan_experiments.metrics.inception import InceptionFeatures, load_inception_features

DATA_RANGE = (-1.0, 1.0)


class DomainDistance:
    """Inception FID/KID of generated against real images of one domain; inert without the network."""

    def __init__(
        self, inception: InceptionFeatures | None, kid_subsets: int, kid_subset_size: int, seed: int
    ) -> None:
        self.inception = inception
        self.distances = (
            FeatureDistances(
                inception.num_features,
                keep_real=False,
                kid_subsets=kid_subsets,
                kid_subset_size=kid_subset_size,
                seed=seed,
            )
            if inception is not None
            else None
        )

    def update(self, images: Tensor, real: bool) -> None:
        if self.distances is not None:
            device = self.distances.fid.device
            with torch.autocast(device.type, enabled=False):
                self.distances.update(self.inception(images.detach().to(device)), real=real)

    def compute(self, suffix: str = "") -> dict[str, float]:
        """{"fid<suffix>", "kid<suffix>_mean", "kid<suffix>_std"} and the counts both rest on:
        "fid<suffix>_images" (generated images), "fid<suffix>_real_images" and "fid<suffix>_comparable"
        (False when either count is below MIN_COMPARABLE_IMAGES, the count `score` refuses); {} without
        weights or enough samples. Counts are over all DDP ranks, each image once."""
        if self.distances is None:
            return {}
        num_real, num_fake = counts = self.distances.counts()
        if min(counts) < MIN_SAMPLES:
            return {}
        scores = self.distances.compute(counts)
        return {
            "fid" + suffix: scores["fid"],
            f"kid{suffix}_mean": scores["kid_mean"],
            f"kid{suffix}_std": scores["kid_std"],
            f"fid{suffix}_images": num_fake,
            f"fid{suffix}_real_images": num_real,
            f"fid{suffix}_comparable": min(counts) >= MIN_COMPARABLE_IMAGES,
        }

    def reset(self) -> None:
        if self.distances is not None:
            self.distances.reset()

    def to(self, device: str | torch.device) -> DomainDistance:
        if self.distances is not None:
            self.inception.to(device)
            self.distances.to(device)
        return self


class PairedTranslationMetrics:
    """pix2pix on the validation split: update(fake_b, real_b) per batch.

    compute() → {"l1": mean |fake − target| per pixel, "psnr": mean per-image PSNR in dB (inf for exact
    copies), "ssim": mean SSIM (1 for exact copies), and "fid", "kid_mean", "kid_std" with Inception
    weights, next to "fid_images", "fid_real_images" and "fid_comparable" (DomainDistance.compute)}.
    The data range is [-1, 1] (width 2); values outside it are clamped as the images would be when saved.
    """

    def __init__(
        self,
        inception_weights: str | Path | None = None,
        use_inception: bool = True,
        inception: InceptionFeatures | None = None,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ) -> None:
        if inception is None and use_inception:
            inception = load_inception_features(inception_weights)
        self.l1 = MeanAbsoluteError()
        self.psnr = PeakSignalNoiseRatio(data_range=DATA_RANGE, dim=(1, 2, 3))
        self.ssim = StructuralSimilarityIndexMeasure(data_range=DATA_RANGE)
        self.domain = DomainDistance(inception, kid_subsets, kid_subset_size, seed)

    def update(self, fake: Tensor, target: Tensor) -> None:
        fake, target = fake.detach().float(), target.detach().float()
        self.l1.update(fake, target)
        self.psnr.update(fake, target)
        self.ssim.update(fake, target)
        self.domain.update(target, real=True)
        self.domain.update(fake, real=False)

    def compute(self) -> dict[str, float]:
        if count_over_processes(self.l1.update_count, self.l1.device, sync=True) == 0:
            return {}
        scores = {
            "l1": float(self.l1.compute()),
            "psnr": float(self.psnr.compute()),
            "ssim": float(self.ssim.compute()),
        }
        return {**scores, **self.domain.compute()}

    def reset(self) -> None:
        for metric in (self.l1, self.psnr, self.ssim, self.domain):
            metric.reset()

    def to(self, device: str | torch.device) -> PairedTranslationMetrics:
        for metric in (self.l1, self.psnr, self.ssim, self.domain):
            metric.to(device)
        return self


class UnpairedTranslationMetrics:
    """CycleGAN: update_a(real_a, fake_b, reconstructed_a) for batches from A, update_b(...) for B.

    compute() → {"cycle_l1_a": mean |G_BA(G_AB(a)) − a|, "cycle_l1_b": mean |G_AB(G_BA(b)) − b|,
    "cycle_l1": their mean, and with Inception weights "fid_b"/"kid_b_mean"/"kid_b_std" (translations
    A→B against real B) and "fid_a"/"kid_a_*" (B→A against real A), each with its counts and flag
    ("fid_b_images", "fid_b_real_images", "fid_b_comparable", …)}. A direction never fed is absent.
    """

    def __init__(
        self,
        inception_weights: str | Path | None = None,
        use_inception: bool = True,
        inception: InceptionFeatures | None = None,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ) -> None:
        if inception is None and use_inception:
            inception = load_inception_features(inception_weights)
        self.cycle_a, self.cycle_b = MeanAbsoluteError(), MeanAbsoluteError()
        self.domain_a = DomainDistance(inception, kid_subsets, kid_subset_size, seed)
        self.domain_b = DomainDistance(inception, kid_subsets, kid_subset_size, seed)

    def update_a(self, real_a: Tensor, fake_b: Tensor, reconstructed_a: Tensor) -> None:
        self.cycle_a.update(reconstructed_a.detach().float(), real_a.detach().float())
        self.domain_a.update(real_a, real=True)
        self.domain_b.update(fake_b, real=False)

    def update_b(self, real_b: Tensor, fake_a: Tensor, reconstructed_b: Tensor) -> None:
        self.cycle_b.update(reconstructed_b.detach().float(), real_b.detach().float())
        self.domain_b.update(real_b, real=True)
        self.domain_a.update(fake_a, real=False)

    def compute(self) -> dict[str, float]:
        scores = {
            f"cycle_l1_{side}": float(metric.compute())
            for side, metric in (("a", self.cycle_a), ("b", self.cycle_b))
            if count_over_processes(metric.update_count, metric.device, sync=True)
        }
        if len(scores) == 2:
            scores["cycle_l1"] = (scores["cycle_l1_a"] + scores["cycle_l1_b"]) / 2
        return {**scores, **self.domain_a.compute("_a"), **self.domain_b.compute("_b")}

    def reset(self) -> None:
        for metric in (self.cycle_a, self.cycle_b, self.domain_a, self.domain_b):
            metric.reset()

    def to(self, device: str | torch.device) -> UnpairedTranslationMetrics:
        for metric in (self.cycle_a, self.cycle_b, self.domain_a, self.domain_b):
            metric.to(device)
        return self
