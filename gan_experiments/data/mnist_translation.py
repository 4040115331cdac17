"""Image-to-image tasks made from MNIST itself: pix2pix and CycleGAN learn (and are scored) in minutes
on a CPU, with no download and a classifier that can tell whether a translation kept its digit.

Three styles of the same digit, all 32 px grayscale in [-1, 1] (MNIST padded to 32):

- `thin`: MNIST as it is (strokes 2–3 px wide);
- `bold`: the strokes dilated by a 3×3 maximum (4–5 px wide);
- `outline`: the 1 px contour just outside the thin strokes, hollow inside: a re-drawing of the digit
  that the MNIST classifier reads correctly only about a third of the time.

Tasks (`data=mnist_outlines`, `data=mnist_strokes`):

- **paired** (pix2pix): `outline → thin` on the same image, like edges2shoes: the generator has to
  draw the strokes inside the contour it is given.
- **unpaired** (CycleGAN): `thin ↔ bold` with domain A and domain B drawn from *disjoint* halves of the
  training images, so no image appears in both domains.

Batches are the folder DataModules' dicts {"A", "B", "A_path", "B_path"} (the paths are item names such
as `mnist-train/12345`), plus each side's digit ("A_label", "B_label"), so the metrics can ask the
MNIST classifier whether a translation still shows the source digit. `core_ink` is the statistic that
separates the styles (see `core_ink`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gan_experiments.data.item_seeds import item_index, seeded_rng
from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError

Style = Literal["thin", "bold", "outline"]
Task = Literal["paired", "unpaired"]
IMAGE_SIZE = 32
#: (A style, B style) of each task
TASKS: dict[str, tuple[Style, Style]] = {"paired": ("outline", "thin"), "unpaired": ("thin", "bold")}


def _ink(images: Tensor) -> Tensor:
    return (images + 1) / 2  # [-1, 1] → ink in [0, 1]


def _to_model_range(ink: Tensor) -> Tensor:
    return ink.clamp(0, 1) * 2 - 1


def dilate(ink: Tensor) -> Tensor:
    return F.max_pool2d(ink, 3, stride=1, padding=1)


def erode(ink: Tensor) -> Tensor:
    return -F.max_pool2d(-ink, 3, stride=1, padding=1)


def bold(images: Tensor) -> Tensor:
    """(N, 1, H, W) in [-1, 1] → the same digits with strokes thickened by one pixel on each side."""
    return _to_model_range(dilate(_ink(images)))


def outline(images: Tensor) -> Tensor:
    """The 1 px ring just outside the strokes: dilate(x) − x (the strokes are its hollow inside)."""
    ink = _ink(images)
    return _to_model_range(dilate(ink) - ink)


STYLES: dict[str, Callable[[Tensor], Tensor]] = {
    "thin": lambda images: images,
    "bold": bold,
    "outline": outline,
}


def core_ink(images: Tensor) -> Tensor:
    """Per image: the mean ink left after a 3×3 erosion, ×100. Erosion removes a pixel from each side
    of every stroke, so a 1 px outline keeps ~0, MNIST's thin strokes little, bold strokes most: one
    number per image that separates the three styles (values of each: docs/results/translation.md)."""
    return erode(_ink(images.float())).flatten(1).mean(dim=1) * 100


def stylize(images: Tensor, style: Style) -> Tensor:
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    return STYLES[style](images.unsqueeze(0) if images.dim() == 3 else images)


class MNISTTranslationDataset(Dataset):
    """Pairs of styled digits. Paired: item i is (style_a(x_i), style_b(x_i)). Unpaired: A[i] with a
    random B in training (drawn from the item's (seed, epoch, index), as the folder datasets do), with
    B[i % |B|] in evaluation, where `A_repeat`/`B_repeat` say which side repeats an earlier item's image
    (as in `image_folders.UnpairedImageDataset`)."""

    def __init__(
        self,
        images_a: Tensor,
        labels_a: Tensor,
        images_b: Tensor,
        labels_b: Tensor,
        styles: tuple[Style, Style],
        names: tuple[str, str],
        paired: bool,
        train: bool,
        seed: int = 0,
    ) -> None:
        if paired and len(images_a) != len(images_b):
            raise ValueError("a paired dataset needs the same images on both sides")
        self.images_a, self.labels_a, self.images_b, self.labels_b = images_a, labels_a, images_b, labels_b
        self.styles, self.names, self.paired, self.train, self.seed = styles, names, paired, train, seed

    def __len__(self) -> int:
        return max(len(self.images_a), len(self.images_b))

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, Any]:
        index = item_index(item)
        index_a = index % len(self.images_a)
        if self.paired:
            index_b = index_a
        elif self.train:
            with seeded_rng(self.seed, item):
                index_b = int(torch.randint(len(self.images_b), ()))
        else:
            index_b = index % len(self.images_b)
        style_a, style_b = self.styles
        item = {
            "A": stylize(self.images_a[index_a], style_a)[0],
            "B": stylize(self.images_b[index_b], style_b)[0],
            "A_path": f"{self.names[0]}/{index_a}",
            "B_path": f"{self.names[1]}/{index_b}",
            "A_label": self.labels_a[index_a],
            "B_label": self.labels_b[index_b],
        }
        if not (self.paired or self.train):
            item |= {"A_repeat": index >= len(self.images_a), "B_repeat": index >= len(self.images_b)}
        return item


class MNISTTranslationDataModule(SpecifiedDataModule):
    """`data=mnist_outlines` (paired, pix2pix) or `data=mnist_strokes` (unpaired, CycleGAN).

    Reads MNIST through `MNISTDataModule` (same files, same download or offline message). Training
    uses the training images left after holding out `val_size` (seeded, as data=mnist does; for the
    unpaired task each domain its own half); validation the first `eval_size` held-out digits per
    domain (checkpoints are chosen on them), test (what evaluate reports) the first
    `eval_size` test digits (disjoint halves of each split for the unpaired task).
    """

    image_size = IMAGE_SIZE

    def __init__(
        self,
        task: Task = "paired",
        data_dir: str = "data",
        batch_size: int = 32,
        eval_size: int = 1000,
        val_size: int = 5000,
        num_workers: int = 0,
        download: bool = True,
        image_size: int = IMAGE_SIZE,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if image_size != IMAGE_SIZE:
            raise ConfigError(
                f"data.image_size: the MNIST translation tasks are {IMAGE_SIZE} px, got {image_size}"
            )
        if task not in TASKS:
            raise ConfigError(f"data.task must be one of {', '.join(TASKS)}, got {task!r}")
        if not isinstance(eval_size, int) or not 1 <= eval_size <= 5000:
            raise ConfigError(f"data.eval_size must be an integer in [1, 5000], got {eval_size!r}")
        if not isinstance(val_size, int) or val_size < 1:
            raise ConfigError(f"data.val_size must be an integer >= 1, got {val_size!r}")
        self.task = task
        self.styles = TASKS[task]
        self.batch_size = batch_size
        self.eval_size = eval_size
        self.num_workers = num_workers
        self.seed = seed
        self.mnist = MNISTDataModule.digit_source(data_dir, IMAGE_SIZE, download, seed, val_size=val_size)
        self.train_set: MNISTTranslationDataset | None = None
        self.val_set: MNISTTranslationDataset | None = None
        self.test_set: MNISTTranslationDataset | None = None

    @property
    def paired(self) -> bool:
        return self.task == "paired"

    @property
    def spec(self) -> DataSpec:
        """Paired (A and B of the same digit) or unpaired (two domains) gray 32 px digits; the items
        carry the source digit (A_label/B_label), which the metrics read back, not the models."""
        return DataSpec(
            layout=self.task,
            image_shape=(1, IMAGE_SIZE, IMAGE_SIZE),
            in_channels=1,
            out_channels=1,
            digit_labels=True,
        )

    def prepare_data(self) -> None:
        self.mnist.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self.test_set is not None:
            return
        self.mnist.setup(stage)
        train, val, test = (self.mnist.splits[name].tensors for name in ("train", "val", "test"))
        self.train_set = self._dataset(self._domains(train, len(train[0])), "mnist-train", train=True)
        self.val_set = self._dataset(self._domains(val, self.eval_size), "mnist-val", train=False)
        self.test_set = self._dataset(self._domains(test, self.eval_size), "mnist-test", train=False)
        a, b = self.styles
        rank_zero_info(
            f"MNIST {self.task} translation {a} → {b}: {len(self.train_set)} train, {len(self.val_set)} "
            f"validation (held-out training digits), {len(self.test_set)} test items"
        )

    def _domains(self, split: tuple[Tensor, Tensor], count: int) -> Any:
        """The digits of both sides: the first `count` of the split on both (paired), or the first
        `count` of each half (unpaired: the domains never share a digit image)."""
        images, labels = split
        if self.paired:
            return ((images[:count], labels[:count]),) * 2
        half = len(images) // 2
        n = min(count, half)
        return ((images[:n], labels[:n]), (images[half : half + n], labels[half : half + n]))

    def _dataset(self, halves: Any, split: str, train: bool) -> MNISTTranslationDataset:
        (images_a, labels_a), (images_b, labels_b) = halves
        names = (split, split) if self.paired else (f"{split}-A", f"{split}-B")
        return MNISTTranslationDataset(
            images_a, labels_a, images_b, labels_b, self.styles, names, self.paired, train, self.seed
        )

    def _require(self) -> None:
        if self.test_set is None:
            self.setup()

    def train_dataloader(self) -> DataLoader:
        self._require()
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=EpochShuffleSampler(len(self.train_set), self.seed, with_epoch=True),
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        self._require()
        return self._evaluation_loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        self._require()
        return self._evaluation_loader(self.test_set)

    def _evaluation_loader(self, dataset: MNISTTranslationDataset | None) -> DataLoader:
        """In order, each item once (an unpadded shard per rank under DDP)."""
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=self.evaluation_sampler(dataset),
            shuffle=False,
            num_workers=0,
        )
