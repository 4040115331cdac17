"""What the GANs learned, in numbers: feature networks and metric wiring, torchmetrics underneath.

- `generative.MNISTGANMetrics`: FID/KID/IS-analogue/class coverage/label accuracy of MNIST generators,
  measured with the shipped MNIST classifier (`classifier.load_mnist_classifier`).
- `image_to_image.PairedTranslationMetrics` (pix2pix) and `UnpairedTranslationMetrics` (CycleGAN).
- `inception.load_inception_features`: InceptionV3 features when the weights are available offline.

docs/metrics.md says what each number means.
"""

from gan_experiments.metrics.classifier import MNISTClassifier, fit_to_classifier, load_mnist_classifier
from gan_experiments.metrics.distances import FeatureDistances, FeatureInput
from gan_experiments.metrics.generative import ClassCoverage, MNISTGANMetrics
from gan_experiments.metrics.image_to_image import PairedTranslationMetrics, UnpairedTranslationMetrics
from gan_experiments.metrics.inception import InceptionFeatures, load_inception_features

__all__ = [
    "ClassCoverage",
    "FeatureDistances",
    "FeatureInput",
    "InceptionFeatures",
    "MNISTClassifier",
    "MNISTGANMetrics",
    "PairedTranslationMetrics",
    "UnpairedTranslationMetrics",
    "fit_to_classifier",
    "load_inception_features",
    "load_mnist_classifier",
]
