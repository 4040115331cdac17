"""MNIST as a LightningDataModule on torchvision's reader, held in memory as one tensor.

Images are scaled to [-1, 1] (Tanh generators) and optionally padded or resized to 32 px (for
power-of-two networks). The 60k training images are split into train/val with a seeded permutation;
the 10k test images are the reference set for metrics.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import shutil
from pathlib import Path
from typing import Literal

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from torchvision import tv_tensors
from torchvision.datasets import MNIST
from torchvision.transforms import v2

from gan_experiments.data.device_batches import DeviceBatches
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError, DatasetError

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
NATIVE_SIZE = 28
#: MD5 sums of the four uncompressed files as published with MNIST (and checked by e.g. QMNIST's loader)
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
#: the copy shipped in the package (mnist_files/README.md), used when the download fails
PACKAGED_DIR = Path(__file__).resolve().parent / "mnist_files"


def raw_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def unpack_gzipped(data_dir: str | Path) -> None:
    """Accept the files as distributed (.gz) as well as unpacked, as torchvision reads only the latter.
    A damaged archive leaves nothing behind (the unpacked file appears only when complete)."""
    folder = raw_dir(data_dir)
    for name in RAW_FILES:
        packed, unpacked = folder / f"{name}.gz", folder / name
        if packed.exists() and not unpacked.exists():
            partial = unpacked.with_suffix(".part")
            try:
                with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError) as error:  # BadGzipFile is an OSError; a cut archive raises EOFError
                partial.unlink(missing_ok=True)
                raise DatasetError(
                    f"MNIST archive {packed} is damaged ({type(error).__name__}: {error}); delete it and "
                    f"the download runs again (or put the complete file there)"
                ) from None
            partial.rename(unpacked)


#: IDX magic numbers: unsigned bytes (0x08) with 3 dimensions (images) or 1 (labels)
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}


def check_raw_file(path: Path) -> None:
    """An IDX file is complete when its size is the header's length plus the product of its dimensions;
    a cut copy or another file under the name fails here with one line instead of deep in torchvision."""
    dims = 3 if "images" in path.name else 1
    header_size = 4 + 4 * dims
    size = path.stat().st_size
    with open(path, "rb") as file:
        header = file.read(header_size)
    magic = int.from_bytes(header[:4], "big") if len(header) >= 4 else None
    again = "delete it and the download runs again (or put the complete file there)"
    if magic != IDX_MAGIC[dims] or len(header) < header_size:
        raise DatasetError(
            f"MNIST file {path} is not an IDX {'image' if dims == 3 else 'label'} file (it should start with "
            f"0x{IDX_MAGIC[dims]:08x}); {again}"
        )
    shape = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    expected = header_size + math.prod(shape)
    if size != expected:
        problem = "cut short, e.g. an interrupted copy" if size < expected else "trailing bytes"
        raise DatasetError(
            f"MNIST file {path} is {size} bytes, expected {expected} for its {' × '.join(map(str, shape))} "
            f"entries ({problem}); {again}"
        )


def check_raw_files(data_dir: str | Path) -> None:
    missing = missing_files(data_dir)
    if missing:
        raise DatasetError(
            f"MNIST files missing in {raw_dir(data_dir)}: {', '.join(missing)}; put {', '.join(RAW_FILES)} "
            f"(or their .gz) there"
        )
    for name in RAW_FILES:
        check_raw_file(raw_dir(data_dir) / name)


def install_packaged_copy(data_dir: str | Path) -> bool:
    """Unpack the package's own MNIST files into `data_dir` for the names that are missing, each checked
    against its published MD5 before it takes its place (a mismatch leaves nothing behind). False when
    the package carries no copy."""
    folder = raw_dir(data_dir)
    missing = missing_files(data_dir)
    if not all((PACKAGED_DIR / f"{name}.gz").is_file() for name in missing):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for name in missing:
        packed, partial = PACKAGED_DIR / f"{name}.gz", folder / f"{name}.part"
        digest = hashlib.md5(usedforsecurity=False)
        with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != PUBLISHED_MD5[name]:
            partial.unlink()
            raise DatasetError(
                f"the MNIST copy in the package, {packed}, unpacks to MD5 {digest.hexdigest()}, not the "
                f"published {PUBLISHED_MD5[name]}; reinstall gan_experiments or put the files in {folder}"
            )
        partial.rename(folder / name)
    return True


def missing_files(data_dir: str | Path) -> list[str]:
    return [name for name in RAW_FILES if not (raw_dir(data_dir) / name).exists()]


def check_size(image_size: int, resize_mode: str) -> None:
    """Padding centres the 28 px digits on an even border; any other size needs resize_mode=resize."""
    if resize_mode == "pad" and (image_size < NATIVE_SIZE or (image_size - NATIVE_SIZE) % 2):
        raise ConfigError(
            f"data.image_size={image_size}: padding needs an even size >= 28; use data.resize_mode=resize"
        )


def to_model_range(
    images: Tensor, image_size: int, resize_mode: Literal["pad", "resize"], channels: int = 1
) -> Tensor:
    """uint8 (N, 28, 28) → float (N, C, S, S) in [-1, 1]; padding fills with the background value."""
    pipeline = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    check_size(image_size, resize_mode)
    out = pipeline(tv_tensors.Image(images.unsqueeze(1))).as_subclass(Tensor)
    if image_size != NATIVE_SIZE and resize_mode == "pad":
        out = v2.functional.pad(out, [(image_size - NATIVE_SIZE) // 2], fill=-1.0)
    elif image_size != NATIVE_SIZE:
        out = v2.functional.resize(out, [image_size, image_size], antialias=True).clamp_(-1, 1)
    return out.expand(-1, channels, -1, -1).contiguous() if channels != 1 else out


class MNISTDataModule(SpecifiedDataModule):
    """(image, label) batches of MNIST digits in [-1, 1]; samples of models trained on it are scored
    with the project's MNIST classifier."""

    #: the digit labels every batch carries
    num_classes: int | None = 10

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
            raise ConfigError(f"data.resize_mode must be 'pad' or 'resize', got {resize_mode!r}")
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 or 3 for MNIST, got {channels}")
        check_size(image_size, resize_mode)  # here, not first in setup: before any file is read
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
    def spec(self) -> DataSpec:
        return DataSpec(
            layout="images",
            image_shape=(self.channels, self.image_size, self.image_size),
            num_classes=self.num_classes,
            sample_metrics="mnist_classifier",
            resize_mode=self.resize_mode,
        )

    @classmethod
    def digit_source(
        cls, data_dir: str, image_size: int, download: bool, seed: int, val_size: int = 0
    ) -> MNISTDataModule:
        """MNIST's training (less `val_size` held out, seeded) and 10,000 test digits, padded to
        `image_size`: what the tasks made from MNIST (translation pairs, stacked triples) draw their
        digits from."""
        return cls(
            data_dir=data_dir,
            image_size=image_size,
            resize_mode="pad",
            val_size=val_size,
            download=download,
            seed=seed,
        )

    def metric_split(self, name: str) -> TensorDataset:
        if not self.splits:
            self.setup("validate")
        if name not in self.splits:
            raise ConfigError(f"MNIST has the splits {', '.join(self.splits)}, not {name!r}")
        return self.splits[name]

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
            if install_packaged_copy(self.data_dir):
                rank_zero_info(
                    f"MNIST: {reason}; unpacked the copy shipped with gan_experiments into "
                    f"{raw_dir(self.data_dir)} (published MD5 sums verified)"
                )
                return
        raise DatasetError(
            f"MNIST files missing in {raw_dir(self.data_dir)}: {', '.join(missing_files(self.data_dir))} "
            f"({reason}); put {', '.join(RAW_FILES)} (or their .gz) there"
        )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        check_raw_files(self.data_dir)
        train = MNIST(str(self.data_dir), train=True, download=False)
        test = MNIST(str(self.data_dir), train=False, download=False)
        if not 0 <= self.val_size < len(train):
            raise ConfigError(
                f"data.val_size={self.val_size}: expected 0 ≤ val_size < {len(train)}, the number of "
                f"training images in {raw_dir(self.data_dir)}"
            )
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
        sampler = EpochShuffleSampler(len(dataset), self.seed) if train else self.evaluation_sampler(dataset)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
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
