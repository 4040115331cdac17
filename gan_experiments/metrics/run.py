"""The metrics of a trained model on its own data: one computation shared by the training callback
(`callbacks.metrics.GANMetrics`) and the `evaluate` command, so that a number in TensorBoard and the
same number in metrics.json mean exactly the same thing.

    run = metrics_for(model, datamodule, MetricSettings(num_samples=10_000), device)
    run.reset(); [run.update(model, batch) for batch in val_batches]; scores = run.compute(model)
    scores = evaluate_model(model, datamodule, settings)        # the same, in one call

- GAN, DCGAN, conv GAN, cGAN: `MNISTGANMetrics`, `num_samples` samples against the MNIST test split, and
  the floor (real training images against the same split), on the MNIST DataModule.
- GAN, DCGAN, conv GAN on `data=image_folder`: `FolderGANMetrics`, Inception FID/KID of `num_samples`
  samples against as many of the folder's training images, when the Inception weights are on disk.
- pix2pix: `PairedTranslationMetrics` over the validation batches (L1, PSNR, SSIM, Inception FID/KID).
- CycleGAN: `UnpairedTranslationMetrics` over the validation batches (cycle L1, Inception FID/KID).
- Both on the MNIST translation tasks (data=mnist_outlines / mnist_strokes) also get
  `DigitTranslationMetrics`: digit accuracy of the translations and the style statistic.

Models are always run through `forward` (the EMA generator when `model.ema_decay` is set), in the
mode the caller put them in (Lightning's validation and `load_model` both use eval mode).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError
from gan_experiments.metrics.digit_translation import DigitTranslationMetrics
from gan_experiments.metrics.distances import count_over_processes
from gan_experiments.metrics.folder import FolderGANMetrics
from gan_experiments.metrics.generative import MNISTGANMetrics, sampling
from gan_experiments.metrics.image_to_image import PairedTranslationMetrics, UnpairedTranslationMetrics
from gan_experiments.metrics.inception import InceptionFeatures, load_inception_features
from gan_experiments.metrics.modes import StackedMNISTMetrics

if TYPE_CHECKING:  # types only: the metrics choose by what models and data declare, not by class
    from gan_experiments.models.base import AdversarialModule


#: the evaluation splits: "val" for choosing among checkpoints and settings, "test" for reporting
Split = Literal["val", "test"]
SPLITS: tuple[Split, ...] = ("val", "test")


@dataclass(frozen=True)
class MetricSettings:
    """What the numbers depend on; FID and KID are comparable only at equal `num_samples`."""

    num_samples: int = 10_000  # noise models: generated samples (and real images for the floor / reference)
    batch_size: int = 500  # noise models: samples per generator/feature-network pass (Inception: ≤ 100)
    seed: int = 0  # sampling noise, the floor's training subset, KID subsets
    inception_weights: str | Path | None = None  # translation and image-folder models: InceptionV3 file
    #: the real images compared with: "val" selects (the training callback: best.ckpt, the quality bar,
    #: sweeps), "test" reports (evaluate, the quality benchmark), so no reported number is the minimum
    #: of the estimates a checkpoint was chosen by
    split: Split = "test"

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if not isinstance(self.num_samples, int) or self.num_samples < 2:
            raise ConfigError(f"num_samples must be an integer >= 2, got {self.num_samples!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")


#: which family of metrics a run has: the MNIST classifier's, Inception's on a folder, or a translation's
MetricKind = Literal["mnist", "folder", "translation", "modes"]


class RunMetrics:
    """One model family's metrics. `per_batch` models are fed the batches of the evaluation split
    (`update`); the others sample the model themselves in `compute`. `kind` says which family (what
    `evaluate` explains the numbers by)."""

    per_batch = False
    kind: MetricKind
    #: the split compared with (per-batch metrics: the split whose batches `score_with` feeds)
    split: Split = "test"

    def reset(self) -> None:
        """Forget what the previous evaluation was fed (cached reference statistics stay)."""

    def update(self, model: nn.Module, batch: Any) -> None:
        """One batch of the evaluation split, already on the model's device or not."""

    def compute(self, model: nn.Module) -> dict[str, float]:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> RunMetrics:
        return self


class NoiseModelMetrics(RunMetrics):
    """MNIST generators: the reference (the images of `settings.split`: MNIST's 5,000 held-out training
    images for "val", the 10,000 test images for "test") and the floor (real training images vs that
    reference) are computed once, here; `compute` then encodes only the model's samples."""

    kind = "mnist"

    def __init__(
        self, datamodule: SpecifiedDataModule, settings: MetricSettings, device: torch.device
    ) -> None:
        self.metrics = MNISTGANMetrics(
            num_samples=settings.num_samples,
            batch_size=settings.batch_size,
            device=device,
            seed=settings.seed,
            resize_mode=datamodule.spec.resize_mode or "pad",
        )
        reference = datamodule.metric_split(settings.split)
        if len(reference) < 2:
            raise ConfigError(
                f"the metrics compare samples with the {settings.split} split, which holds "
                f"{len(reference)} images; set data.val_size (MNIST: 5000 held out of the training images)"
            )
        self.metrics.floor(datamodule.metric_split("train"), reference)

    def compute(self, model: nn.Module) -> dict[str, float]:
        return self.metrics.evaluate(model)

    def to(self, device: str | torch.device) -> NoiseModelMetrics:
        if torch.device(device) != self.metrics.device:
            self.metrics.to(device)
        return self


class FolderNoiseModelMetrics(RunMetrics):
    """Noise models on an image folder: the real reference (a seeded `num_samples` of the training
    images, all when fewer) is encoded once, here; `compute` then encodes only the model's samples."""

    kind = "folder"

    #: Inception runs at 299 px: smaller batches than the MNIST classifier's keep the memory modest
    max_batch_size = 100

    def __init__(
        self,
        datamodule: SpecifiedDataModule,
        settings: MetricSettings,
        features: InceptionFeatures,
        device: torch.device,
    ) -> None:
        batch_size = min(settings.batch_size, self.max_batch_size)
        self.metrics = FolderGANMetrics(
            features,
            num_samples=settings.num_samples,
            batch_size=batch_size,
            seed=settings.seed,
            device=device,
        )
        self.metrics.reference(datamodule.reference_loader(settings.num_samples, batch_size))

    def compute(self, model: nn.Module) -> dict[str, float]:
        return self.metrics.evaluate(model)

    def to(self, device: str | torch.device) -> FolderNoiseModelMetrics:
        if torch.device(device) != self.metrics.device:
            self.metrics.to(device)
        return self


class ModeMetrics(RunMetrics):
    """Noise models on Stacked MNIST: modes and KL of `num_samples` samples (metrics/modes.py), next to
    the floor of as many real triples of the test split, encoded once, here."""

    kind = "modes"

    def __init__(
        self, datamodule: SpecifiedDataModule, settings: MetricSettings, device: torch.device
    ) -> None:
        self.metrics = StackedMNISTMetrics(
            num_samples=settings.num_samples,
            batch_size=settings.batch_size,
            device=device,
            seed=settings.seed,
            resize_mode=datamodule.spec.resize_mode or "pad",
        )
        try:
            self.metrics.floor(datamodule.reference_loader(settings.num_samples, settings.batch_size))
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def compute(self, model: nn.Module) -> dict[str, float]:
        return self.metrics.evaluate(model)

    def to(self, device: str | torch.device) -> ModeMetrics:
        self.metrics.to(device)
        return self


def fresh_rows(paths: Iterable[str], seen: set[str], repeats: Iterable[Any] | None = None) -> list[int]:
    """Indices of images not fed before in this evaluation, so that each image counts once. Unpaired
    validation sets repeat the smaller domain (item i is A[i % |A|], B[i % |B|]) and flag those rows
    (`A_repeat`, `B_repeat`): under DDP the first and the repeated item may sit on different ranks,
    where `seen` (this rank's paths) cannot tell. `seen` still catches any other repeat within a rank."""
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()  # one transfer, not one per row
    flags = [bool(flag) for flag in repeats] if repeats is not None else None
    rows = []
    for i, path in enumerate(paths):
        if path not in seen and not (flags is not None and flags[i]):
            seen.add(path)
            rows.append(i)
    return rows


def _select(images: Tensor, rows: list[int], device: torch.device) -> Tensor:
    if len(rows) == len(images):
        return images.to(device)
    return images[torch.tensor(rows, device=images.device)].to(device)


def model_device(model: nn.Module) -> torch.device:
    device = getattr(model, "device", None)
    return device if isinstance(device, torch.device) else next(model.parameters()).device


class TranslationMetrics(RunMetrics):
    """What pix2pix's and CycleGAN's metrics share: fed the validation batches, each image counted once
    per domain (`seen`), the digit read-back of the MNIST tasks beside the image metrics, and how many
    images of each source domain the numbers rest on (`count_keys`, summed over DDP ranks)."""

    kind = "translation"

    per_batch = True

    def __init__(
        self, metrics: Any, digits: DigitTranslationMetrics | None, count_keys: dict[str, str]
    ) -> None:
        self.metrics = metrics
        self.digits = digits
        #: per source domain, the key its image count is reported under
        self.count_keys = count_keys
        #: per source domain, the paths of the images already fed in this evaluation
        self.seen: dict[str, set[str]] = {domain: set() for domain in count_keys}
        self.device = torch.device("cpu")

    def reset(self) -> None:
        self.metrics.reset()
        if self.digits is not None:
            self.digits.reset()
        for paths in self.seen.values():
            paths.clear()

    def compute(self, model: nn.Module) -> dict[str, float]:
        scores = self.metrics.compute()
        if self.digits is not None:
            scores.update(self.digits.compute())
        if scores:
            for domain, key in self.count_keys.items():
                count = count_over_processes(len(self.seen[domain]), self.device, sync=True)
                if count:
                    scores[key] = count
        self.reset()
        return scores

    def to(self, device: str | torch.device) -> TranslationMetrics:
        self.device = torch.device(device)
        self.metrics.to(device)
        if self.digits is not None:
            self.digits.to(device)
        return self


class PairedMetrics(TranslationMetrics):
    """pix2pix: G(A) against the target B of every validation pair."""

    def __init__(self, settings: MetricSettings, digits: DigitTranslationMetrics | None = None) -> None:
        metrics = PairedTranslationMetrics(inception_weights=settings.inception_weights, seed=settings.seed)
        super().__init__(metrics, digits, {"A": "images"})

    def update(self, model: nn.Module, batch: dict[str, Any]) -> None:
        rows = fresh_rows(batch["A_path"], self.seen["A"])
        if rows:
            device = model_device(model)
            real_a, real_b = _select(batch["A"], rows, device), _select(batch["B"], rows, device)
            fake_b = model(real_a)
            self.metrics.update(fake_b, real_b)
            if self.digits is not None:
                self.digits.update_real("a", real_a)
                self.digits.update_real("b", real_b)
                self.digits.update_translation("b", fake_b, _select(batch["A_label"], rows, device))


class UnpairedMetrics(TranslationMetrics):
    """CycleGAN: both cycles of every validation image of each domain, each image once."""

    def __init__(self, settings: MetricSettings, digits: DigitTranslationMetrics | None = None) -> None:
        metrics = UnpairedTranslationMetrics(inception_weights=settings.inception_weights, seed=settings.seed)
        super().__init__(metrics, digits, {"A": "images_a", "B": "images_b"})

    def update(self, model: nn.Module, batch: dict[str, Any]) -> None:
        device = model_device(model)
        for source, target, direction, back in (("A", "b", "AtoB", "BtoA"), ("B", "a", "BtoA", "AtoB")):
            rows = fresh_rows(batch[f"{source}_path"], self.seen[source], batch.get(f"{source}_repeat"))
            if not rows:
                continue
            real = _select(batch[source], rows, device)
            fake = model(real, direction=direction)
            update = self.metrics.update_a if source == "A" else self.metrics.update_b
            update(real, fake, model(fake, direction=back))
            if self.digits is not None:
                self.digits.update_real(source.lower(), real)
                self.digits.update_translation(target, fake, _select(batch[f"{source}_label"], rows, device))


def metrics_for(
    model: AdversarialModule,
    datamodule: LightningDataModule | None,
    settings: MetricSettings,
    device: str | torch.device = "cpu",
) -> RunMetrics | None:
    """The metrics of this kind of model on this data, or None (after one warning) when there is no
    way to measure it. Chosen from what both declare, not from their classes: the model's `data_layout`
    (models/base.py) and the data's `spec` (data/spec.py). Noise models are scored with the MNIST
    classifier on MNIST, with InceptionV3 on an image folder (when its weights are on disk), and not at
    all on other data; translations of the MNIST proxy tasks are also read back as digits.

    Built with the global RNG forked: constructing the feature networks initializes weights, which
    must not shift the training's random stream (exact resume).
    """
    with torch.random.fork_rng(devices=[]):
        run = _metrics_for(model, datamodule, settings, torch.device(device))
    if run is not None:
        run.split = settings.split
    return run


def _metrics_for(
    model: AdversarialModule,
    datamodule: LightningDataModule | None,
    settings: MetricSettings,
    device: torch.device,
) -> RunMetrics | None:
    spec: DataSpec | None = getattr(datamodule, "spec", None)
    layout = getattr(model, "data_layout", None)
    digits = DigitTranslationMetrics() if spec is not None and spec.digit_labels else None
    if layout == "paired":
        return PairedMetrics(settings, digits).to(device)
    if layout == "unpaired":
        return UnpairedMetrics(settings, digits).to(device)
    if layout == "images":
        scored_by = spec.sample_metrics if spec is not None else None
        if scored_by == "mnist_classifier":
            return NoiseModelMetrics(datamodule, settings, device)
        if scored_by == "stacked_mnist":
            return ModeMetrics(datamodule, settings, device)
        if scored_by == "inception":
            # without the weights on disk, load_inception_features has said (once) where to put them
            features = load_inception_features(settings.inception_weights)
            return FolderNoiseModelMetrics(datamodule, settings, features, device) if features else None
        data = type(datamodule).__name__ if datamodule is not None else "no DataModule"
        warnings.warn(
            f"sample-quality metrics skipped: {type(model).__name__} samples are scored with the "
            f"MNIST classifier on data=mnist or with InceptionV3 on data=image_folder, but the data "
            f"is {data}",
            UserWarning,
            stacklevel=3,
        )
        return None
    warnings.warn(
        f"sample-quality metrics skipped: no metrics are defined for {type(model).__name__}",
        UserWarning,
        stacklevel=3,
    )
    return None


def evaluation_batches(datamodule: LightningDataModule, split: Split = "test") -> Iterable[Any]:
    """The batches translation metrics run over: the validation split for "val" (what the training
    callback is fed), the test split for "test" (docs/data.md says which folders each dataset uses)."""
    return datamodule.val_dataloader() if split == "val" else datamodule.test_dataloader()


def evaluate_model(
    model: nn.Module,
    datamodule: LightningDataModule,
    settings: MetricSettings,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """All metrics of `model` on its data in one call ({} when none apply, after a warning). The data
    module must be prepared (`prepare_data`, `setup`)."""
    device = torch.device(device) if device is not None else model_device(model)
    run = metrics_for(model, datamodule, settings, device)
    return {} if run is None else score_with(run, model, datamodule)


def score_with(
    run: RunMetrics, model: nn.Module, datamodule: LightningDataModule, eval_mode: bool = True
) -> dict[str, float]:
    """The metrics of `run` (from `metrics_for`) for `model` on its prepared data; translation models in
    eval mode, or with `eval_mode=False` in the pix2pix paper's test protocol (what `translate
    eval_mode=false` writes; dropout draws from the global RNG, which the caller seeds)."""
    run.reset()
    if run.per_batch:
        with sampling(model, eval_mode):
            for batch in evaluation_batches(datamodule, run.split):
                run.update(model, batch)
    return run.compute(model)
