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
from gan_experiments.data.image_folders import PairedImageDataset, UnpairedImageDataset
from gan_experiments.data.image_transforms import FREE_SIZE_MODES, Direction, Preprocess, check_options
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule
from gan_experiments.errors import ConfigError, DatasetError


class TranslationDataModule(SpecifiedDataModule):
    """Shared plumbing of the paired and unpaired DataModules (use those)."""

    #: the folder layout read, which is also what a batch holds (A → B pairs, or two domains)
    layout: ClassVar[Layout]
    default_val_split: ClassVar[str]

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
        self.val_split = val_split or self.default_val_split
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
        splits = [self.train_split, self.val_split] if stage in (None, "fit") else [self.val_split]
        self._check_folders(splits)
        built = []
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._make_dataset(self.train_split, train=True)
            built.append(f"{len(self.train_set)} {self.train_split}")  # type: ignore[arg-type]
        if self.val_set is None:
            self.val_set = self._make_dataset(self.val_split, train=False)
            built.append(f"{len(self.val_set)} {self.val_split}")  # type: ignore[arg-type]
        if built:
            rank_zero_info(
                f"{self.name}: {', '.join(built)} items ({self.layout}, {self.direction}) from {self.root}"
            )

    def _make_dataset(self, split: str, train: bool) -> Dataset:
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
        return self._evaluation_loader(self._require("val_set", "test"))

    def _evaluation_loader(self, dataset: Dataset) -> DataLoader:
        sampler = self.evaluation_sampler(dataset)  # type: ignore[arg-type]
        return DataLoader(dataset, sampler=sampler, shuffle=False, **self._loader_options())


class PairedImageDataModule(TranslationDataModule):
    """pix2pix data: `<root>/train/`, `<root>/val/` (or test/) of A|B images side by side."""

    layout = "paired"
    default_val_split = "val"

    def _make_dataset(self, split: str, train: bool) -> Dataset:
        return PairedImageDataset(self.root / split, **self._dataset_options(train))


class UnpairedImageDataModule(TranslationDataModule):
    """CycleGAN data: `<root>/trainA/`, `trainB/`, `testA/`, `testB/` of unrelated images."""

    layout = "unpaired"
    default_val_split = "test"

    def _make_dataset(self, split: str, train: bool) -> Dataset:
        folder_a, folder_b = split_folders(self.layout, split)
        return UnpairedImageDataset(
            self.root / folder_a, self.root / folder_b, **self._dataset_options(train)
        )
