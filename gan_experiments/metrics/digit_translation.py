"""Did a translation keep its digit, and does it look like the target style? The scores of the MNIST
translation tasks (`data=mnist_outlines`, `data=mnist_strokes`; `gan_experiments.data.mnist_translation`),
where every image comes with the digit it shows.

- `digit_accuracy_<side>`: share of translations *into* domain `<side>` that the project's MNIST
  classifier reads as the digit of their source image (a translation that keeps the style but loses
  the digit scores 0); `digit_accuracy` is the mean over the directions measured.
- `core_ink_<side>`: mean `core_ink` of the real images of a domain, `core_ink_fake_<side>` the same of
  the translations into it: the statistic that separates the styles (outline ≈ 0.1, thin ≈ 1.9,
  bold ≈ 10.8).
- `target_side_<side>`: share of translations into `<side>` whose core ink lies on that domain's side
  of the midpoint between the two real means: 1.0 when every output has left the source style.
  `target_side_real_<side>`: the same share for the real images of `<side>`, what a perfect translator
  reaches, since the styles overlap (bold MNIST test digits: 0.90, thin: 0.96; a bold "1" has little
  core ink).
- `in_target_range_<side>`: share of them inside the 5–95 % range of the real images of `<side>`
  (real images score 0.90): it also catches outputs that overshoot, such as grey blobs.

All accumulators are torchmetrics metrics, so under DDP each rank feeds its shard and compute syncs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torchmetrics import CatMetric
from torchmetrics.classification import MulticlassAccuracy

from gan_experiments.data.mnist_translation import core_ink
from gan_experiments.metrics.classifier import MNISTClassifier, load_mnist_classifier
from gan_experiments.metrics.distances import count_over_processes

SIDES = ("a", "b")


class DigitTranslationMetrics:
    """update_real(side, images) for real images of a domain; update_translation(side, outputs,
    source_labels) for translations into it; compute() → the keys of the module docstring."""

    def __init__(self, classifier: MNISTClassifier | None = None) -> None:
        self.classifier = classifier if classifier is not None else load_mnist_classifier()
        self.classifier.eval().requires_grad_(False)
        self.accuracy = {side: MulticlassAccuracy(10, average="micro") for side in SIDES}
        self.real_ink = {side: CatMetric() for side in SIDES}
        self.fake_ink = {side: CatMetric() for side in SIDES}
        self.device = torch.device("cpu")

    def _metrics(self) -> list:
        return [*self.accuracy.values(), *self.real_ink.values(), *self.fake_ink.values()]

    @staticmethod
    def _fed(metric) -> bool:
        return count_over_processes(metric.update_count, metric.device, sync=True) > 0

    def update_real(self, side: str, images: Tensor) -> None:
        self.real_ink[side].update(core_ink(images.detach().to(self.device)))

    def update_translation(self, side: str, outputs: Tensor, source_labels: Tensor) -> None:
        outputs = outputs.detach().to(self.device, torch.float32)
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            predicted = self.classifier(outputs).argmax(dim=1)
        self.accuracy[side].update(predicted, source_labels.to(self.device))
        self.fake_ink[side].update(core_ink(outputs))

    def compute(self) -> dict[str, float]:
        scores: dict[str, float] = {}
        fed = [side for side in SIDES if self._fed(self.real_ink[side])]
        real_ink = {side: self.real_ink[side].compute().float() for side in fed}
        real_means = {side: float(ink.mean()) for side, ink in real_ink.items()}
        scores.update({f"core_ink_{side}": mean for side, mean in real_means.items()})
        accuracies = []
        for side, other in (("a", "b"), ("b", "a")):
            if not self._fed(self.accuracy[side]):
                continue
            accuracy = float(self.accuracy[side].compute())
            accuracies.append(accuracy)
            fake = self.fake_ink[side].compute()
            scores[f"digit_accuracy_{side}"] = accuracy
            scores[f"core_ink_fake_{side}"] = float(fake.mean())
            if side in real_means and other in real_means:
                on_side = self.side_rule(real_means[side], real_means[other])
                scores[f"target_side_{side}"] = float(on_side(fake).float().mean())
                scores[f"target_side_real_{side}"] = float(on_side(real_ink[side]).float().mean())
            if side in real_ink:
                low, high = torch.quantile(real_ink[side], torch.tensor([0.05, 0.95], device=fake.device))
                scores[f"in_target_range_{side}"] = float(((fake >= low) & (fake <= high)).float().mean())
        if accuracies:
            scores["digit_accuracy"] = sum(accuracies) / len(accuracies)
        return scores

    @staticmethod
    def side_rule(target_mean: float, other_mean: float) -> Callable[[Tensor], Tensor]:
        """Which images are on the target domain's side of the midpoint between the domains' mean core ink."""
        midpoint = (target_mean + other_mean) / 2
        if target_mean > other_mean:
            return lambda ink: ink > midpoint
        return lambda ink: ink < midpoint

    def reset(self) -> None:
        for metric in self._metrics():
            metric.reset()

    def to(self, device: str | torch.device) -> DigitTranslationMetrics:
        self.device = torch.device(device)
        self.classifier.to(self.device)
        for metric in self._metrics():
            metric.to(self.device)
        return self
