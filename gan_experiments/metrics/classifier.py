"""The MNIST feature network: a small LeNet-style classifier standing in for InceptionV3.

Inception features of 28×28 digits upsampled to 299 px measure mostly resampling artefacts; a network
trained on MNIST itself sees strokes, and its logits tell which digit a sample is (for the Inception
Score analogue, class coverage and cGAN label accuracy). The weights ship with the package and are
checked against the sha256 recorded next to them, so every FID in this project uses the same network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.errors import UserError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "mnist_classifier.pt"
NATIVE_SIZE = 28
ResizeMode = Literal["pad", "resize"]


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record_path(weights_path: str | Path) -> Path:
    """The JSON record (sha256, accuracy, command) that sits next to a weights file."""
    return Path(weights_path).with_suffix(".json")


def fit_to_classifier(images: Tensor, resize_mode: ResizeMode = "pad") -> Tensor:
    """Any image batch a model here produces → float (N, 1, 28, 28) in [-1, 1], as the network was trained.

    32 px images from `data.resize_mode=pad` are center-cropped by 2 px, exactly undoing MNIST's padding;
    every other size is resized. RGB is averaged to gray; uint8 [0, 255] is rescaled.
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images shaped (N, 1|3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1
    images = images.float()
    if images.shape[1] == 3:
        images = images.mean(dim=1, keepdim=True)
    height, width = images.shape[-2:]
    if (height, width) == (NATIVE_SIZE, NATIVE_SIZE):
        return images
    margin = (height - NATIVE_SIZE) // 2
    if resize_mode == "pad" and height == width and height > NATIVE_SIZE and (height - NATIVE_SIZE) % 2 == 0:
        return images[..., margin : margin + NATIVE_SIZE, margin : margin + NATIVE_SIZE]
    resized = F.interpolate(images, size=(NATIVE_SIZE, NATIVE_SIZE), mode="bilinear", antialias=True)
    return resized.clamp(-1, 1)


class MNISTClassifier(nn.Module):
    """Two conv blocks and a 128-d hidden layer (~0.45 M parameters, 1.8 MB in fp32).

    `features` is the penultimate (post-ReLU) layer used for FID/KID; `forward` returns logits. Both
    accept any shape `fit_to_classifier` understands.
    """

    num_classes = 10
    num_features = 128

    def __init__(self, dropout: float = 0.3, resize_mode: ResizeMode = "pad") -> None:
        super().__init__()
        self.resize_mode: ResizeMode = resize_mode
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, self.num_features),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.num_features, self.num_classes)

    def features(self, images: Tensor) -> Tensor:
        return self.body(fit_to_classifier(images, self.resize_mode))

    def features_and_logits(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """One pass for both outputs: the metrics need features (FID/KID) and logits (IS, coverage)."""
        features = self.features(images)
        return features, self.head(self.dropout(features))

    def forward(self, images: Tensor) -> Tensor:
        return self.features_and_logits(images)[1]


def read_record(weights_path: str | Path = WEIGHTS_PATH) -> dict:
    path = record_path(weights_path)
    if not path.is_file():
        raise UserError(f"{path}: missing record of the classifier weights (expected sha256 inside)")
    return json.loads(path.read_text())


def load_mnist_classifier(
    device: str | torch.device = "cpu",
    weights_path: str | Path = WEIGHTS_PATH,
    resize_mode: ResizeMode = "pad",
) -> MNISTClassifier:
    """The shipped classifier, frozen and in eval mode; refuses a file whose sha256 differs from its record.

    The check matters because FIDs are only comparable when computed with the very same network.
    """
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise UserError(
            f"{weights_path}: MNIST classifier weights not found (reinstall the package or retrain)"
        )
    expected = read_record(weights_path)["sha256"]
    actual = sha256_of(weights_path)
    if actual != expected:
        raise UserError(
            f"{weights_path}: sha256 {actual[:12]}… differs from the recorded {expected[:12]}…; "
            "the file is corrupted or was replaced "
            "(python -m gan_lab.train_classifier retrains it)"
        )
    network = MNISTClassifier(resize_mode=resize_mode)
    network.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    network.requires_grad_(False)
    return network.to(device).eval()
