"""What an MNIST GAN learned, in numbers: FID/KID, an Inception-Score analogue, class coverage and (for
conditional models) label accuracy, all measured with the project's MNIST classifier.

    metrics = MNISTGANMetrics(num_samples=10_000, device="cuda")
    metrics.reference(datamodule.metric_split("test"))  # encoded once, cached
    metrics.floor(datamodule.metric_split("train"))      # FID of real vs real: the best reachable
    scores = metrics.evaluate(model)                     # every n epochs: only fakes are encoded

Numbers are per process (no cross-rank sync): every rank that calls `evaluate` draws the same seeded
samples, so call it on one rank (or all: they agree).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

from gan_experiments.metrics.classifier import MNISTClassifier, ResizeMode, load_mnist_classifier
from gan_experiments.metrics.distances import MIN_SAMPLES, FeatureDistances, ScoreFromLogits

Images = Tensor | TensorDataset
Batch = tuple[Tensor, Tensor | None]


class ClassCoverage(Metric):
    """How the samples spread over the digits the classifier sees: mode collapse made visible.

    compute() → {"coverage/k": share of samples predicted as k, "coverage_min", "coverage_max",
    "digits_under_5pct" (how many digits get < threshold of the samples), "coverage_kl":
    KL(predicted histogram ‖ uniform), 0 for a perfectly balanced generator, log 10 ≈ 2.30 for one digit}.
    """

    full_state_update = False
    counts: Tensor

    def __init__(self, num_classes: int = 10, threshold: float = 0.05, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes, self.threshold = num_classes, threshold
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: Tensor) -> None:
        self.counts += torch.bincount(logits.argmax(dim=1), minlength=self.num_classes)

    def compute(self) -> dict[str, Tensor]:
        shares = self.counts.double() / self.counts.sum().clamp(min=1)
        uniform = torch.full_like(shares, 1 / self.num_classes)
        return {
            **{f"coverage/{k}": share for k, share in enumerate(shares)},
            "coverage_min": shares.min(),
            "coverage_max": shares.max(),
            "digits_under_5pct": (shares < self.threshold).sum().double(),
            "coverage_kl": torch.special.xlogy(shares, shares / uniform).sum(),
        }


def as_images(images: Images) -> Tensor:
    """A tensor of images, or the first tensor of a TensorDataset (SpecifiedDataModule.metric_split)."""
    return images.tensors[0] if isinstance(images, TensorDataset) else images


def model_device(model: nn.Module) -> torch.device:
    device = getattr(model, "device", None)
    if isinstance(device, torch.device):
        return device
    return next(model.parameters()).device


@contextmanager
def sampling(model: nn.Module, eval_mode: bool = True) -> Iterator[None]:
    """Eval mode (or, with `eval_mode=False`, the pix2pix paper's test protocol: train mode, dropout on
    and batch statistics) and no grad while sampling; the caller's mode (train, mid-fit) is restored after."""
    was_training = model.training
    model.train(not eval_mode)
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def seeded_samples(model: nn.Module, num_samples: int, batch_size: int, seed: int) -> Iterator[Batch]:
    """`num_samples` images of a noise model in batches of `batch_size`, from `model.sample_inputs(n,
    rng)` and `model(*inputs)` with a generator seeded by `seed` (the same images every time), with the
    requested labels of conditional models (`requires_labels`), else None."""
    rng = torch.Generator(device=model_device(model)).manual_seed(seed)
    conditional = bool(getattr(model, "requires_labels", False))
    produced = 0
    while produced < num_samples:
        inputs = model.sample_inputs(min(batch_size, num_samples - produced), rng)
        images = model(*inputs)
        take = min(len(images), num_samples - produced)
        if take == 0:
            raise RuntimeError(f"{type(model).__name__}.sample_inputs produced no samples")
        yield images[:take], inputs[-1][:take] if conditional else None
        produced += take


class MNISTGANMetrics:
    """Scores a generator against cached MNIST reference statistics; see the module docstring.

    Models are sampled through `model.sample_inputs(n, rng)` and `model(*inputs)` with a generator seeded
    by `seed`, so two evaluations of the same weights give the same numbers. Models with
    `requires_labels = True` (cGAN) pass the requested labels as the last input; those give
    "label_accuracy". `resize_mode` tells how 32 px images were made from MNIST's 28 px ("pad": crop them
    back; "resize": resize).
    """

    def __init__(
        self,
        num_samples: int = 10_000,
        batch_size: int = 500,
        device: str | torch.device = "cpu",
        seed: int = 0,
        resize_mode: ResizeMode = "pad",
        classifier: MNISTClassifier | None = None,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
    ) -> None:
        if num_samples < MIN_SAMPLES or batch_size < 1:
            raise ValueError(
                f"num_samples must be >= {MIN_SAMPLES} and batch_size >= 1, got {num_samples}, {batch_size}"
            )
        self.num_samples, self.batch_size, self.seed = int(num_samples), int(batch_size), int(seed)
        self.classifier = (
            classifier if classifier is not None else load_mnist_classifier(resize_mode=resize_mode)
        )
        self.classifier.eval().requires_grad_(False)
        num_classes = self.classifier.num_classes
        local = {"sync_on_compute": False}
        self.distances = FeatureDistances(
            self.classifier.num_features,
            keep_real=True,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            seed=seed,
            **local,
        )
        self.inception_score = ScoreFromLogits(num_classes, splits=is_splits, seed=seed, **local)
        self.coverage = ClassCoverage(num_classes, **local)
        self.label_accuracy = MulticlassAccuracy(num_classes, average="micro", **local)
        self.floor_scores: dict[str, float] = {}
        self.device = torch.device("cpu")
        self.to(device)

    def to(self, device: str | torch.device) -> MNISTGANMetrics:
        self.device = torch.device(device)
        self.classifier.to(self.device)
        for metric in (self.distances, self.inception_score, self.coverage, self.label_accuracy):
            metric.to(self.device)
        return self

    @property
    def num_reference(self) -> int:
        return self.distances.num_real

    # ---------------------------------------------------------------- encoding
    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Classifier features and logits in fp32 (autocast off: half-precision features skew the FID)."""
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            return self.classifier.features_and_logits(images.to(self.device, torch.float32))

    def batches(self, images: Tensor, labels: Tensor | None = None) -> Iterator[Batch]:
        for i in range(0, len(images), self.batch_size):
            yield images[i : i + self.batch_size], None if labels is None else labels[i : i + self.batch_size]

    def reference(self, test_images: Images) -> None:
        """Encode the real reference set (the MNIST test split) once; later evaluations reuse it."""
        images = as_images(test_images)
        if len(images) < MIN_SAMPLES:
            raise ValueError(f"the reference needs at least {MIN_SAMPLES} images, got {len(images)}")
        self.distances.reset_real()
        self.floor_scores = {}
        for batch, _ in self.batches(images):
            self.distances.update(self.encode(batch)[0], real=True)

    # ---------------------------------------------------------------- scoring
    def score(self, batches: Iterable[Batch]) -> dict[str, float]:
        """All metrics of a stream of (images, requested labels or None) against the reference."""
        if self.num_reference == 0:
            raise RuntimeError("MNISTGANMetrics: call reference(test_images) before scoring samples")
        self.reset()
        conditional = False
        for images, labels in batches:
            features, logits = self.encode(images)
            self.distances.update(features, real=False)
            self.inception_score.update(logits)
            self.coverage.update(logits)
            if labels is not None:
                conditional = True
                self.label_accuracy.update(logits.argmax(dim=1), labels.to(self.device))
        scores = {**self.distances.compute(), **self.inception_score.compute()}
        scores.update({name: float(value) for name, value in self.coverage.compute().items()})
        if conditional:
            scores["label_accuracy"] = float(self.label_accuracy.compute())
        self.reset()
        return {**scores, **self.floor_scores}

    def score_images(self, images: Images, labels: Tensor | None = None) -> dict[str, float]:
        """Score a fixed set of images (e.g. samples saved to disk) as if a model had produced them."""
        return self.score(self.batches(as_images(images), labels))

    def samples(self, model: nn.Module) -> Iterator[Batch]:
        """`num_samples` images from the model in batches, seeded; labels for conditional models."""
        return seeded_samples(model, self.num_samples, self.batch_size, self.seed)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Sample the model (eval mode, no grad, its mode restored after) and score the samples.

        Keys: fid, kid_mean, kid_std, is_mean, is_std, coverage/0…9, coverage_min, coverage_max,
        digits_under_5pct, coverage_kl, label_accuracy (conditional models), and fid_floor,
        kid_floor_mean, kid_floor_std, is_real_mean once `floor` has run.
        """
        with sampling(model):
            return self.score(self.samples(model))

    def floor(self, train_images: Images, test_images: Images | None = None) -> dict[str, float]:
        """The same scores for real training images against the reference: what a perfect generator gets.

        Uses a seeded random `num_samples` of the training images, because FID and KID depend on the
        sample count. Returns {"fid_floor", "kid_floor_mean", "kid_floor_std", "is_real_mean" (the IS of
        real digits, the target for is_mean)}, which later `evaluate` results carry as well.
        """
        if test_images is not None:
            self.reference(test_images)
        images = as_images(train_images)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
        self.floor_scores = {}
        real = self.score_images(images[order[: self.num_samples]])
        self.floor_scores = {
            "fid_floor": real["fid"],
            "kid_floor_mean": real["kid_mean"],
            "kid_floor_std": real["kid_std"],
            "is_real_mean": real["is_mean"],
        }
        return dict(self.floor_scores)

    def reset(self) -> None:
        """Forget generated samples; the reference stays cached."""
        for metric in (self.distances, self.inception_score, self.coverage, self.label_accuracy):
            metric.reset()
