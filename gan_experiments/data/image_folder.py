"""`data=image_folder`: any folder of images as the data of the noise-to-image models (GAN, DCGAN, conv GAN).

Every image file in `root` and its subfolders (any format PIL reads, any mode: converted to gray or RGB
on load) is one unlabelled training image. Each is resized so that its shorter side is `image_size`,
then center-cropped to a square (faces, textures, CelebA's 178×218 all come out `image_size`²), and
flipped left-right at random when `flip` is on. A seeded `val_size` of the images is held out for the
discriminator's validation check (the epochs at which the metrics callback measures); the real side of
FID/KID is a seeded subset of the training images (`reference_set`, see `metrics.folder`).

Unreadable files fail `setup()` with the file named (or, with `skip_bad_images=true`, are skipped and
counted), as in the translation folders. Training items are `(epoch, index)` pairs, so a flip depends
only on (seed, epoch, index): resuming or changing `num_workers` gives the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from gan_experiments.data.image_reading import ImageList, read_image, scan_images, to_image
from gan_experiments.data.image_transforms import BICUBIC, to_model_range
from gan_experiments.data.item_seeds import Item, item_index, seeded_rng
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError, DatasetError

#: the sizes the noise models' networks are laid out for (DCGAN and the conv GAN grow a stage per doubling)
SUGGESTED_SIZES = (32, 64, 128)


def square_transform(image_size: int, flip: bool) -> v2.Compose:
    """uint8 image → float [0, 1], shorter side resized to `image_size`, center square, optional flip."""
    steps: list[v2.Transform] = [
        v2.Resize(image_size, interpolation=BICUBIC, antialias=True),
        v2.CenterCrop(image_size),
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    steps.append(v2.ToDtype(torch.float32, scale=True))
    return v2.Compose(steps)


class FolderImages(Dataset):
    """Some images of an `ImageList` (by index), as (C, S, S) tensors in [-1, 1]."""

    def __init__(
        self, images: ImageList, rows: Sequence[int], image_size: int, channels: int, flip: bool, seed: int
    ) -> None:
        self.images = images
        self.rows = list(rows)
        self.channels = channels
        self.seed = seed
        self.transform = square_transform(image_size, flip)

    def __len__(self) -> int:
        return len(self.rows)

    def path(self, index: int) -> Path:
        return self.images.paths[self.rows[index]]

    def __getitem__(self, item: Item) -> Tensor:
        path = self.path(item_index(item))
        image = to_image(read_image(path), self.channels)
        with seeded_rng(self.seed, item):
            return to_model_range(self.transform(image))


class ImageFolderDataModule(SpecifiedDataModule):
    """Unlabelled square images from one folder tree; batches are (N, C, S, S) tensors in [-1, 1]."""

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        channels: int = 3,
        flip: bool = True,
        batch_size: int = 64,
        val_size: int = 256,
        num_workers: int = 2,
        pin_memory: bool = True,
        skip_bad_images: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not root:
            raise ConfigError("data.root must be the folder of training images (e.g. data.root=data/faces)")
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
            raise ConfigError(
                f"data.image_size must be an integer >= 8 (the networks are laid out for "
                f"{', '.join(map(str, SUGGESTED_SIZES))}), got {image_size!r}"
            )
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"data.batch_size must be an integer >= 1, got {batch_size!r}")
        if isinstance(val_size, bool) or not isinstance(val_size, int) or val_size < 1:
            # validation epochs are when the metrics callback measures: without them no FID, no best.ckpt
            raise ConfigError(f"data.val_size must be an integer >= 1, got {val_size!r}")
        self.root = Path(root).expanduser()
        self.image_size = image_size
        self.channels = channels
        self.flip = flip
        self.batch_size = batch_size
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.skip_bad_images = skip_bad_images
        self.seed = seed
        self.train_set: FolderImages | None = None
        self.val_set: FolderImages | None = None

    @property
    def spec(self) -> DataSpec:
        return DataSpec(
            layout="images",
            image_shape=(self.channels, self.image_size, self.image_size),
            sample_metrics="inception",
        )

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if not self.root.is_dir():
            raise DatasetError(f"data.root={self.root}: not found (expected a folder of images)")
        images = scan_images(self.root, self.skip_bad_images, recursive=True)
        if self.val_size >= len(images):
            raise ConfigError(
                f"data.val_size={self.val_size}: expected fewer than the {len(images)} images in "
                f"{self.root} (some must stay for training)"
            )
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed)).tolist()
        val_rows, train_rows = order[: self.val_size], order[self.val_size :]
        options: dict[str, Any] = {
            "image_size": self.image_size,
            "channels": self.channels,
            "seed": self.seed,
        }
        self.train_set = FolderImages(images, train_rows, flip=self.flip, **options)
        self.val_set = FolderImages(images, sorted(val_rows), flip=False, **options)
        skipped = f", {images.skipped} unreadable skipped" if images.skipped else ""
        rank_zero_info(
            f"{self.root}: {len(train_rows)} train, {len(val_rows)} val images{skipped}, "
            f"{self.image_size}×{self.image_size} {'RGB' if self.channels == 3 else 'gray'}"
        )

    def _require(self) -> tuple[FolderImages, FolderImages]:
        if self.train_set is None or self.val_set is None:
            self.setup()
        assert self.train_set is not None and self.val_set is not None
        return self.train_set, self.val_set

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        size = len(dataset)  # type: ignore[arg-type]
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=(
                EpochShuffleSampler(size, self.seed, with_epoch=True)
                if train
                else self.evaluation_sampler(dataset)
            ),
            # BatchNorm needs more than one sample per batch; a folder smaller than a batch still trains
            drop_last=train and size > self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory and torch.accelerator.is_available(),
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._require()[0], train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._require()[1], train=False)

    def reference_set(self, count: int) -> FolderImages:
        """A seeded `count` of the training images (all when fewer), unflipped: the real side of FID/KID
        (the training images, as FID is usually measured, and many more than the held-out ones)."""
        train = self._require()[0]
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed + 1))
        rows = sorted(train.rows[int(i)] for i in order[:count])
        return FolderImages(train.images, rows, self.image_size, self.channels, flip=False, seed=self.seed)

    def reference_loader(self, count: int, batch_size: int) -> DataLoader:
        """`reference_set(count)` in order, batched: what the metrics encode once per run."""
        return DataLoader(
            self.reference_set(count), batch_size=batch_size, num_workers=self.num_workers, shuffle=False
        )
