"""FID and KID between two feature sets, computed by torchmetrics from features we extract ourselves.

torchmetrics runs its `feature` module inside `update`; we hand it an identity module instead and
compute features once per batch upstream, because the same pass also feeds the Inception Score, class
coverage and label accuracy (one classifier pass instead of four). The statistics, the matrix square
root and the MMD estimator all remain torchmetrics' own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

MIN_SAMPLES = 2
#: fewer images than this on either side and FID/KID are mostly sampling noise, biased upward (published
#: FIDs use 10,000–50,000 images): `score` refuses such folders (its `min_images` default) and the
#: translation metrics flag such numbers as not comparable (`fid_comparable`); the one definition of both
MIN_COMPARABLE_IMAGES = 1000


def count_over_processes(count: int, device: torch.device, sync: bool) -> int:
    """A sample count summed over DDP ranks when the metrics sync: every rank must take the same
    compute-or-skip decision, or the ones that compute wait forever in all_gather."""
    if not (sync and torch.distributed.is_available() and torch.distributed.is_initialized()):
        return count
    total = torch.tensor(count, device=device)
    torch.distributed.all_reduce(total)
    return int(total)


class FeatureInput(nn.Module):
    """The 'feature network' of a torchmetrics image metric when its inputs already are features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: Tensor) -> Tensor:
        if features.dim() != 2 or features.shape[1] != self.num_features:
            raise ValueError(
                f"expected features shaped (N, {self.num_features}), got {tuple(features.shape)}"
            )
        return features.float()


def quiet_construct(factory, *args, **kwargs):
    """KID and IS warn at construction that they keep all features in memory: 10k×128 floats is 5 MB."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
        return factory(*args, **kwargs)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """KID subsets and IS splits are drawn with the global CPU RNG; fork it so results repeat and the
    training's RNG stream is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


class FeatureDistances:
    """FID and KID of a real feature set against a fake one.

    keep_real=True caches the real statistics across `reset()` (torchmetrics' reset_real_features=False):
    the reference set is encoded once and each evaluation only adds fakes. The KID subset size shrinks to
    the smaller set when there are fewer than `kid_subset_size` samples.
    """

    def __init__(
        self,
        num_features: int,
        keep_real: bool = True,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        seed: int = 0,
        sync_on_compute: bool = True,
    ) -> None:
        common = {"reset_real_features": not keep_real, "sync_on_compute": sync_on_compute}
        self.fid = FrechetInceptionDistance(feature=FeatureInput(num_features), **common)
        self.kid = quiet_construct(
            KernelInceptionDistance,
            feature=FeatureInput(num_features),
            subsets=kid_subsets,
            subset_size=kid_subset_size,
            **common,
        )
        self.kid_subset_size = kid_subset_size
        self.seed = seed
        self.sync = sync_on_compute

    @property
    def num_real(self) -> int:
        return int(self.fid.real_features_num_samples)

    @property
    def num_fake(self) -> int:
        return int(self.fid.fake_features_num_samples)

    def counts(self) -> tuple[int, int]:
        """(real, fake) sample counts over all processes the metrics sync across."""
        return (
            count_over_processes(self.num_real, self.fid.device, self.sync),
            count_over_processes(self.num_fake, self.fid.device, self.sync),
        )

    def update(self, features: Tensor, real: bool) -> None:
        self.fid.update(features, real=real)
        self.kid.update(features, real=real)

    def compute(self, counts: tuple[int, int] | None = None) -> dict[str, float]:
        """{"fid", "kid_mean", "kid_std"}; needs at least two samples on each side. `counts`: what
        `counts()` returned just before, when the caller has them (saves two collectives under DDP)."""
        num_real, num_fake = counts if counts is not None else self.counts()
        if min(num_real, num_fake) < MIN_SAMPLES:
            raise ValueError(
                f"FID/KID need at least {MIN_SAMPLES} real and {MIN_SAMPLES} generated samples, "
                f"got {num_real} and {num_fake}"
            )
        self.kid.subset_size = min(self.kid_subset_size, num_real, num_fake)
        with seeded(self.seed):
            kid_mean, kid_std = self.kid.compute()
        return {"fid": float(self.fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std)}

    def reset(self) -> None:
        """Forget the fakes (and the reals too unless keep_real)."""
        self.fid.reset()
        self.kid.reset()

    def reset_real(self) -> None:
        """Forget everything, the cached reference included."""
        for metric in (self.fid, self.kid):
            keep, metric.reset_real_features = metric.reset_real_features, True
            metric.reset()
            metric.reset_real_features = keep

    def to(self, device: str | torch.device) -> FeatureDistances:
        self.fid.to(device)
        self.kid.to(device)
        return self


class ScoreFromLogits:
    """torchmetrics' Inception Score over class logits; splits shrink to the sample count."""

    def __init__(
        self, num_classes: int, splits: int = 10, seed: int = 0, sync_on_compute: bool = True
    ) -> None:
        self.metric = quiet_construct(
            InceptionScore, feature=FeatureInput(num_classes), splits=splits, sync_on_compute=sync_on_compute
        )
        self.splits, self.seed, self.count = splits, seed, 0

    def update(self, logits: Tensor) -> None:
        self.metric.update(logits)
        self.count += logits.shape[0]

    def compute(self) -> dict[str, float]:
        """{"is_mean", "is_std"}: exp(E KL(p(y|x) ‖ p(y))), 1 (one digit) … 10 (confident, all digits)."""
        self.metric.splits = max(1, min(self.splits, self.count))
        with seeded(self.seed):
            mean, std = self.metric.compute()
        return {"is_mean": float(mean), "is_std": float(std)}

    def reset(self) -> None:
        self.metric.reset()
        self.count = 0

    def to(self, device: str | torch.device) -> ScoreFromLogits:
        self.metric.to(device)
        return self
