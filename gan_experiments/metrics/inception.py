"""InceptionV3 pool features for FID/KID of translated photos, used only when the weights are on disk.

torch-fidelity downloads its weights on first use; offline that download fails (or hangs on a slow
route), so we never let it try: the weights come from a configured file or from the torch hub cache
where torch-fidelity's own download would have put them. Without either, one warning per process says
where to put the file and the Inception metrics are left out.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_NAME}"

_warned = False


def hub_weights_path() -> Path:
    """Where torch-fidelity's download lands: <torch.hub.get_dir()>/checkpoints/<name>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME


def warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, UserWarning, stacklevel=3)


def find_weights(configured: str | Path | None = None) -> Path | None:
    """The configured file if given, else the hub cache copy; None when the file is not there."""
    path = Path(configured).expanduser() if configured else hub_weights_path()
    return path if path.is_file() else None


def to_inception_input(images: Tensor) -> Tensor:
    """[-1, 1] float (N, 1|3, H, W) → uint8 RGB, the input torch-fidelity's network expects (it resizes)."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class InceptionFeatures(nn.Module):
    """torchmetrics' frozen InceptionV3 (torch-fidelity weights) → 2048-d pool features of [-1, 1] images."""

    num_features = 2048

    def __init__(self, weights_path: str | Path) -> None:
        from torchmetrics.image.fid import NoTrainInceptionV3

        super().__init__()
        self.network = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(self.num_features)],
            feature_extractor_weights_path=str(weights_path),
        )

    def train(self, mode: bool = True) -> InceptionFeatures:
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        return self.network(to_inception_input(images)).float()


def load_inception_features(configured: str | Path | None = None) -> InceptionFeatures | None:
    """The Inception feature network, or None (after one warning per process) when it is not on disk."""
    if not _TORCH_FIDELITY_AVAILABLE:
        warn_once("Inception FID/KID skipped: torch-fidelity is not installed (pip install torch-fidelity)")
        return None
    path = find_weights(configured)
    where = Path(configured).expanduser() if configured else hub_weights_path()
    if path is None:
        warn_once(
            f"Inception FID/KID skipped: no InceptionV3 weights at {where}; download {WEIGHTS_URL} "
            "to that path (or set the metrics' inception_weights option to a local copy)"
        )
        return None
    try:
        return InceptionFeatures(path)
    except Exception as error:  # a truncated download raises anything from EOFError to RuntimeError
        warn_once(f"Inception FID/KID skipped: {path} is not a readable InceptionV3 weights file ({error})")
        return None
