"""LightningDataModules for image-to-image translation: paired (pix2pix) and unpaired (CycleGAN).

A named dataset (`dataset: edges2shoes`) lives in `<data_dir>/<name>` and is downloaded once by
`prepare_data`; any other folder in one of the two layouts is used through `root`. Batches are
dicts {"A": (N, C_in, S, S), "B": (N, C_out, S, S), "A_path": [str], "B_path": [str]} in [-1, 1],
where "A" is always the generator's input after `direction` is applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset

from gan_experiments.data.download import DatasetEntry, ensure_dataset, lookup, offline_message
from gan_experiments.data.folder_layouts import Layout, describe_layout, detect_layout, split_folders
from gan_experiments.data.holdout import hold_out
from gan_experiments.data.image_folders import PairedImageDataset, UnpairedImageDataset
from gan_experiments.data.image_reading import ImageList, scan_images
from gan_experiments.data.image_transforms import FREE_SIZE_MODES, Direction, Preprocess, check_options
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError, DatasetError

#: the image lists of one split's folders: (pairs,) for the paired layout, (A, B) for the unpaired one
Lists = tuple[ImageList, ...]


class TranslationDataModule(SpecifiedDataModule):
    """Shared plumbing of the paired and unpaired DataModules (use those)."""

    #: the folder layout read, which is also what a batch holds (A → B pairs, or two domains)
    layout: ClassVar[Layout]
    #: the split results are reported on when `test_split` is not given (edges2shoes val/, horse2zebra test*/)
    default_test_split: ClassVar[str]

    def __init__(
        self,
        data_dir: str | Path = "data",
        dataset: str | None = None,
        root: str | Path | None = None,
        direction: Direction = "AtoB",
        batch_size: int = 1,
        image_size: int = 256,
        load_size: int | None = None,
        preprocess: Preprocess = "resize_and_crop",
        size_multiple: int = 4,
        flip: bool = True,
        channels_a: int = 3,
        channels_b: int = 3,
        train_split: str = "train",
        val_split: str | None = None,
        test_split: str | None = None,
        val_size: int = 200,
        num_workers: int = 4,
        pin_memory: bool = True,
        download: bool = True,
        download_url: str | None = None,
        skip_bad_images: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not dataset and not root:
            raise ConfigError(
                "set data.dataset (a dataset name from the download table) or data.root (a folder)"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"data.batch_size must be an integer >= 1, got {batch_size!r}")
        if not isinstance(size_multiple, int) or isinstance(size_multiple, bool) or size_multiple < 1:
            raise ConfigError(f"data.size_multiple must be an integer >= 1, got {size_multiple!r}")
        if not isinstance(val_size, int) or isinstance(val_size, bool) or val_size < 1:
            raise ConfigError(f"data.val_size must be an integer >= 1, got {val_size!r}")
        self.load_size = check_options(
            direction, image_size, load_size, preprocess, {"channels_a": channels_a, "channels_b": channels_b}
        )
        self.entry: DatasetEntry | None = lookup(self.layout, dataset) if dataset else None
        self.data_dir = Path(data_dir)
        self.root = Path(root) if root else self.data_dir / str(dataset)
        self.name = dataset or self.root.name
        self.direction = direction
        self.batch_size = batch_size
        self.image_size = image_size
        self.preprocess = preprocess
        self.flip = flip
        self.channels_a = channels_a
        self.channels_b = channels_b
        self.train_split = train_split
        #: None: `val_size` images held out of the training split (per domain), at most a tenth of it
        self.val_split = val_split
        self.test_split = test_split or self.default_test_split
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.download = download
        self.download_url = download_url
        self.skip_bad_images = skip_bad_images
        self.seed = seed
        #: sizes that follow the images (preprocess=none, scale_width) are rounded to this multiple
        self.size_multiple = size_multiple
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def spec(self) -> DataSpec:
        source, target = (self.channels_a, self.channels_b)[:: 1 if self.direction == "AtoB" else -1]
        return DataSpec(
            layout=self.layout,
            image_shape=(target, self.image_size, self.image_size),
            in_channels=source,
            out_channels=target,
            size_multiple=self.size_multiple if self.preprocess in FREE_SIZE_MODES else None,
        )

    def url(self) -> str | None:
        if self.download_url:
            return self.download_url
        return self.entry.url() if self.entry else None

    def prepare_data(self) -> None:
        """Runs on one process: download a named dataset once (a folder with content is left alone)."""
        if self.entry is not None:
            ensure_dataset(self.entry, self.root, self.download, self.url())

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets `stage` reads: training (fit), validation (fit, validate: the held-out
        training images, or the `val_split` folders) and test (test: the `test_split` folders)."""
        needs_train = stage in (None, "fit") and self.train_set is None
        needs_val = stage in (None, "fit", "validate") and self.val_set is None
        needs_test = stage in (None, "test") and self.test_set is None
        held_out = self.val_split is None
        # a training run also checks the test folders: evaluate will need them, and a missing one is
        # better named before the training than after it
        self._check_folders(
            ([self.train_split] if needs_train or (needs_val and held_out) else [])
            + ([self.val_split] if needs_val and not held_out else [])
            + ([self.test_split] if needs_test or needs_train else [])
        )
        built = []
        if needs_train or (needs_val and held_out):
            kept, held = self._split_training(self._scan(self.train_split))
            if needs_train:
                self.train_set = self._build(kept, train=True)
                built.append(f"{len(self.train_set)} {self.train_split}")  # type: ignore[arg-type]
            if needs_val and held_out:
                self.val_set = self._build(held, train=False)
                built.append(f"{len(self.val_set)} val (held out of {self.train_split})")  # type: ignore[arg-type]
        if needs_val and not held_out:
            self.val_set = self._build(self._scan(str(self.val_split)), train=False)
            built.append(f"{len(self.val_set)} val ({self.val_split})")  # type: ignore[arg-type]
        if needs_test:
            self.test_set = self._build(self._scan(self.test_split), train=False)
            built.append(f"{len(self.test_set)} test ({self.test_split})")  # type: ignore[arg-type]
        if built:
            rank_zero_info(
                f"{self.name}: {', '.join(built)} items ({self.layout}, {self.direction}) from {self.root}"
            )

    def _split_training(
        self, lists: tuple[ImageList, ...]
    ) -> tuple[tuple[ImageList, ...], tuple[ImageList, ...]]:
        """(training, validation) image lists of each folder: all for training when `val_split` names a
        folder, else `val_size` of each held out (holdout.py)."""
        if self.val_split is not None:
            return lists, ()
        pairs = [hold_out(images, self.val_size, self.seed) for images in lists]
        return tuple(kept for kept, _ in pairs), tuple(held for _, held in pairs)

    def _scan(self, split: str) -> Lists:
        """The image list of each folder of `split` (one for paired, A and B for unpaired)."""
        return tuple(
            scan_images(self.root / folder, self.skip_bad_images)
            for folder in split_folders(self.layout, split)
        )

    def _build(self, lists: Lists, train: bool) -> Dataset:
        raise NotImplementedError

    def _dataset_options(self, train: bool) -> dict:
        return {
            "train": train,
            "direction": self.direction,
            "image_size": self.image_size,
            "load_size": self.load_size,
            "preprocess": self.preprocess,
            "flip": self.flip,
            "channels_a": self.channels_a,
            "channels_b": self.channels_b,
            "skip_bad_images": self.skip_bad_images,
            "seed": self.seed,
            "size_multiple": self.size_multiple,
        }

    def _check_folders(self, splits: list[str]) -> None:
        """Missing root, wrong layout and missing split folders, each as one line naming the path."""
        folders = [folder for split in dict.fromkeys(splits) for folder in split_folders(self.layout, split)]
        expected = describe_layout(self.layout, folders)
        if not self.root.is_dir():
            if self.entry is not None and not self.download:
                raise DatasetError(offline_message(self.entry, self.root, str(self.url())))
            how = "prepare_data() downloads it" if self.entry is not None else "set data.root to it"
            raise DatasetError(f"{self.root} not found; expected {expected} there ({how})")
        missing = [folder for folder in folders if not (self.root / folder).is_dir()]
        if not missing:
            return
        found = detect_layout(self.root)
        if found is not None and found != self.layout:
            article = "an" if found == "unpaired" else "a"
            raise DatasetError(
                f"{self.root} has the {found} layout, but {type(self).__name__} expects the {self.layout} "
                f"layout ({expected}); use {article} {found} data config (data={self.other_folder_config})"
            )
        raise DatasetError(f"{self.root / missing[0]} not found; the {self.layout} layout needs {expected}")

    @property
    def other_folder_config(self) -> str:
        return "unpaired_folder" if self.layout == "paired" else "paired_folder"

    def _loader_options(self) -> dict:
        pin = self.pin_memory and torch.accelerator.is_available()
        return {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "pin_memory": pin,
            "persistent_workers": self.num_workers > 0,
        }

    def _require(self, attribute: str, stage: str) -> Dataset:
        if getattr(self, attribute) is None:
            self.setup(stage)
        return getattr(self, attribute)

    def train_dataloader(self) -> DataLoader:
        dataset = self._require("train_set", "fit")
        size = len(dataset)  # type: ignore[arg-type]
        return DataLoader(
            dataset,
            sampler=EpochShuffleSampler(size, self.seed, with_epoch=True),
            drop_last=self.batch_size > 1 and size >= self.batch_size,
            **self._loader_options(),
        )

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self._require("val_set", "validate"))

    def test_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self._require("test_set", "test"))

    def _evaluation_loader(self, dataset: Dataset) -> DataLoader:
        sampler = self.evaluation_sampler(dataset)  # type: ignore[arg-type]
        return DataLoader(dataset, sampler=sampler, shuffle=False, **self._loader_options())


class PairedImageDataModule(TranslationDataModule):
    """pix2pix data: `<root>/train/`, `<root>/val/` (or test/) of A|B images side by side."""

    layout = "paired"
    default_test_split = "val"

    def _build(self, lists: Lists, train: bool) -> Dataset:
        return PairedImageDataset(lists[0], **self._dataset_options(train))


class UnpairedImageDataModule(TranslationDataModule):
    """CycleGAN data: `<root>/trainA/`, `trainB/`, `testA/`, `testB/` of unrelated images."""

    layout = "unpaired"
    default_test_split = "test"

    def _build(self, lists: Lists, train: bool) -> Dataset:
        images_a, images_b = lists
        return UnpairedImageDataset(images_a, images_b, **self._dataset_options(train))
