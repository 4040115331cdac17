"""MNIST as a LightningDataModule on torchvision's reader, held in memory as one tensor.

Images are scaled to [-1, 1] (Tanh generators) and optionally padded or resized to 32 px (for
power-of-two networks). The 60k training images are split into train/val with a seeded permutation;
the 10k test images are the reference set for metrics.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Literal

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from torchvision import tv_tensors
from torchvision.datasets import MNIST
from torchvision.transforms import v2

from gan_experiments.data.device_batches import DeviceBatches
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.errors import DatasetError

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
NATIVE_SIZE = 28


def raw_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def unpack_gzipped(data_dir: str | Path) -> None:
    """Accept the files as distributed (.gz) as well as unpacked, as torchvision reads only the latter."""
    folder = raw_dir(data_dir)
    for name in RAW_FILES:
        packed, unpacked = folder / f"{name}.gz", folder / name
        if packed.exists() and not unpacked.exists():
            partial = unpacked.with_suffix(".part")
            with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.rename(unpacked)


def missing_files(data_dir: str | Path) -> list[str]:
    return [name for name in RAW_FILES if not (raw_dir(data_dir) / name).exists()]


def to_model_range(
    images: Tensor, image_size: int, resize_mode: Literal["pad", "resize"], channels: int = 1
) -> Tensor:
    """uint8 (N, 28, 28) → float (N, C, S, S) in [-1, 1]; padding fills with the background value."""
    pipeline = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    out = pipeline(tv_tensors.Image(images.unsqueeze(1))).as_subclass(Tensor)
    if image_size != NATIVE_SIZE and resize_mode == "pad":
        if image_size < NATIVE_SIZE or (image_size - NATIVE_SIZE) % 2:
            raise ValueError(
                f"data.image_size={image_size}: padding needs an even size >= 28; use resize_mode=resize"
            )
        out = v2.functional.pad(out, [(image_size - NATIVE_SIZE) // 2], fill=-1.0)
    elif image_size != NATIVE_SIZE:
        out = v2.functional.resize(out, [image_size, image_size], antialias=True).clamp_(-1, 1)
    return out.expand(-1, channels, -1, -1).contiguous() if channels != 1 else out


class MNISTDataModule(LightningDataModule):
    num_classes = 10

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 128,
        image_size: int = 28,
        resize_mode: Literal["pad", "resize"] = "pad",
        channels: int = 1,
        val_size: int = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        download: bool = True,
        on_device: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if resize_mode not in ("pad", "resize"):
            raise ValueError(f"data.resize_mode must be 'pad' or 'resize', got {resize_mode!r}")
        if channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 or 3 for MNIST, got {channels}")
        self.data_dir = Path(data_dir)
        self.batch_size = batch_size
        self.image_size = image_size
        self.resize_mode = resize_mode
        self.channels = channels
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.download = download
        self.on_device = on_device
        self.seed = seed
        self.splits: dict[str, TensorDataset] = {}

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def prepare_data(self) -> None:
        """Runs on one process: unpack .gz files, else download once, else say exactly what is missing."""
        unpack_gzipped(self.data_dir)
        if not missing_files(self.data_dir):
            return
        reason = "data.download=false"
        if self.download:
            try:
                MNIST(str(self.data_dir), train=True, download=True)
                unpack_gzipped(self.data_dir)
                if not missing_files(self.data_dir):
                    return
                reason = "the download did not produce them"
            except (
                OSError,
                RuntimeError,
            ) as error:  # URLError is an OSError; torchvision raises RuntimeError
                reason = f"download failed: {str(error).splitlines()[0]}"
        raise DatasetError(
            f"MNIST files missing in {raw_dir(self.data_dir)}: {', '.join(missing_files(self.data_dir))} "
            f"({reason}); put {', '.join(RAW_FILES)} (or their .gz) there"
        )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        train = MNIST(str(self.data_dir), train=True, download=False)
        test = MNIST(str(self.data_dir), train=False, download=False)
        if not 0 <= self.val_size < len(train):
            raise ValueError(f"data.val_size must be in [0, {len(train)}), got {self.val_size}")
        images = to_model_range(train.data, self.image_size, self.resize_mode, self.channels)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed))
        val_idx, train_idx = order[: self.val_size], order[self.val_size :]
        self.splits = {
            "train": TensorDataset(images[train_idx], train.targets[train_idx]),
            "val": TensorDataset(images[val_idx], train.targets[val_idx]),
            "test": TensorDataset(
                to_model_range(test.data, self.image_size, self.resize_mode, self.channels), test.targets
            ),
        }
        rank_zero_info(f"MNIST: {len(train_idx)} train, {self.val_size} val, {len(test)} test images")

    def _loader(self, split: str, train: bool = False) -> DataLoader:
        dataset = self.splits[split]
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffleSampler(len(dataset), self.seed) if train else None,
            drop_last=train,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader | DeviceBatches:
        if self.on_device:
            return DeviceBatches(self.splits["train"].tensors, self.batch_size, self.seed, self._placement)
        return self._loader("train", train=True)

    def _placement(self) -> tuple[torch.device, int, int]:
        trainer = self.trainer
        if trainer is None:
            return torch.device("cpu"), 0, 1
        return trainer.strategy.root_device, trainer.global_rank, trainer.world_size

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
