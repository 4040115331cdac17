"""`data=stacked_mnist`: the mode-collapse benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et
al. 2018). Each image stacks three independently drawn MNIST digits as its three colour channels, so the
data has 10³ = 1,000 modes, each equally likely; a generator is scored by how many of them its samples
cover and by KL(generated ‖ uniform) over the modes (metrics/modes.py).

- training: a fixed, seeded set of `num_train` (128,000 as in PacGAN) triples drawn with replacement
  from MNIST's training split;
- reference (the metrics' real-vs-real floor): `num_reference` (26,000, the papers' sample count)
  triples from the test split;
- validation: `num_val` triples from the test split (D's held-out check, the progress of val/d_*).

Triples are stored as indices into the digits, and batches are gathered by index, so 128,000 images cost
a few MB, not 1.2 GB. 28 px native; `image_size=32` pads, as `data=mnist` does. Offline like MNIST (the
same files, the same packaged copy). Each item is (image, mode), mode = 100·d₀ + 10·d₁ + d₂; the models
train unconditionally and ignore it, the metrics' floor reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from gan_experiments.data.mnist import NATIVE_SIZE, MNISTDataModule
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError

#: digits per image: one per colour channel
CHANNELS = 3
#: 10 digits in each of the 3 channels
MODES = 10**CHANNELS


class StackedDigits(Dataset):
    """Stacked images gathered from `digits` (N, 1, H, W) by `triples` (M, 3) of indices; items and
    whole batches (`__getitems__`, what a DataLoader with a batch sampler asks for) as (images, modes)."""

    def __init__(self, digits: Tensor, labels: Tensor, triples: Tensor) -> None:
        self.digits, self.labels, self.triples = digits, labels, triples

    def __len__(self) -> int:
        return len(self.triples)

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        rows = self.triples[index]  # (B, 3)
        images = self.digits[rows.flatten()].view(len(rows), CHANNELS, *self.digits.shape[-2:])
        digits = self.labels[rows]  # (B, 3)
        return images, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        images, modes = self.batch(torch.tensor([i]))
        return images[0], modes[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        return self.batch(torch.as_tensor(list(indices)))


def as_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """The DataLoader's collate step for `StackedDigits.__getitems__`, which returns the batch whole."""
    return batch


class StackedMNISTDataModule(SpecifiedDataModule):
    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        image_size: int = 28,
        num_train: int = 128_000,
        num_reference: int = 26_000,
        num_val: int = 2_000,
        num_workers: int = 0,
        download: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("num_train", num_train), ("num_reference", num_reference), ("num_val", num_val)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"data.{name} must be an integer >= 1, got {value!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"data.batch_size must be an integer >= 1, got {batch_size!r}")
        if not isinstance(image_size, int) or image_size < NATIVE_SIZE or (image_size - NATIVE_SIZE) % 2:
            raise ConfigError(
                f"data.image_size={image_size}: Stacked MNIST pads the 28 px digits, so it needs an even "
                "size >= 28 (28 native, 32 padded)"
            )
        self.batch_size, self.image_size = batch_size, image_size
        self.num_train, self.num_reference, self.num_val = num_train, num_reference, num_val
        self.num_workers, self.seed = num_workers, seed
        self.mnist = MNISTDataModule.digit_source(data_dir, image_size, download, seed)
        self.sets: dict[str, StackedDigits] = {}

    @property
    def spec(self) -> DataSpec:
        return DataSpec(
            layout="images",
            image_shape=(CHANNELS, self.image_size, self.image_size),
            sample_metrics="stacked_mnist",
            resize_mode="pad",
            modes=MODES,
        )

    def prepare_data(self) -> None:
        self.mnist.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        train = self.mnist.metric_split("train")
        test = self.mnist.metric_split("test")
        rng = torch.Generator().manual_seed(self.seed)

        def triples(count: int, pool: int) -> Tensor:
            return torch.randint(pool, (count, CHANNELS), generator=rng)

        train_digits, train_labels = train.tensors
        test_digits, test_labels = test.tensors
        self.sets = {
            "train": StackedDigits(train_digits, train_labels, triples(self.num_train, len(train_digits))),
            "reference": StackedDigits(
                test_digits, test_labels, triples(self.num_reference, len(test_digits))
            ),
            "val": StackedDigits(test_digits, test_labels, triples(self.num_val, len(test_digits))),
        }
        rank_zero_info(
            f"Stacked MNIST: {self.num_train} train triples of {len(train_digits)} digits, "
            f"{self.num_reference} reference and {self.num_val} validation triples of {len(test_digits)}"
        )

    def _loader(
        self, dataset: Dataset, batch_size: int, train: bool = False, sampler: Sampler[int] | None = None
    ) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=EpochShuffleSampler(len(dataset), self.seed) if train else sampler,
            drop_last=train,
            num_workers=self.num_workers,
            collate_fn=as_batch,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.sets["train"], self.batch_size, train=True)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        val = self.sets["val"]
        return self._loader(val, self.batch_size, sampler=self.evaluation_sampler(val))

    def reference_loader(self, count: int, batch_size: int) -> DataLoader:
        """The first `count` reference triples, from the test split."""
        self.setup()
        if count > self.num_reference:
            raise ConfigError(
                f"the metrics ask for {count} real triples, but data.num_reference={self.num_reference}; "
                f"raise data.num_reference or lower the metrics' num_samples"
            )
        return self._loader(Subset(self.sets["reference"], range(count)), batch_size)

    def validation_examples(self, num: int) -> list[Any]:
        self.setup()
        return [self.sets["val"][i] for i in range(min(num, self.num_val))]
