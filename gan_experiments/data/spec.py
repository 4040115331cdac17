"""What a dataset is, stated once by its DataModule: the facts models are built from, the check of a
model × data pair, and how samples or translations of it are scored.

Every DataModule of the project derives from `SpecifiedDataModule` and returns a `DataSpec` from `spec`
(after `__init__`: the facts follow from the options, not from reading the files). `train` checks the
model × data pair against it in one place (`check_model_fits`) and builds the model with it
(`instantiation.build_model`: the model builds its networks from the spec, no config holds the data's
facts), the checkpoint keeps it (`data_spec`) so every command rebuilds the same networks, and the
metrics pick what applies from it and from the model's declared `data_layout` instead of asking for
classes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sized
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from lightning.pytorch import LightningDataModule
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from gan_experiments.errors import ConfigError

#: what a batch holds: single images (noise → image), aligned pairs (A → B), or two unaligned domains
BatchLayout = Literal["images", "paired", "unpaired"]
#: how a noise model's samples of this data are scored: the project's MNIST classifier, InceptionV3
#: against the data's own images, or not at all
SampleMetrics = Literal["mnist_classifier", "inception", "stacked_mnist"]

#: each layout in words (for the one-line mismatch message)
LAYOUTS: dict[str, str] = {
    "images": "single images (noise → image)",
    "paired": "paired images (A → B)",
    "unpaired": "two unpaired image domains (A ↔ B)",
}
#: the project's data options of each layout, and whether their batches carry class labels: a hint of
#: `check_model_fits` names only options that pass it (tests/test_bad_input.py follows every hint and
#: checks these facts against the data modules' specs)
DATA_OPTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "images": (("data=mnist", True), ("data=image_folder data.root=…", False)),
    "paired": (
        ("data=edges2shoes", False),
        ("data=mnist_outlines", False),
        ("data=paired_folder data.root=…", False),
    ),
    "unpaired": (
        ("data=horse2zebra", False),
        ("data=mnist_strokes", False),
        ("data=unpaired_folder data.root=…", False),
    ),
}


def data_that_fits(layout: str, needs_labels: bool) -> str:
    """The data options that a model of `layout` (and, if it needs them, class labels) trains on."""
    options = [option for option, labelled in DATA_OPTIONS[layout] if labelled or not needs_labels]
    if not options:
        return "a data module of your own that provides them (docs/extending.md)"
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


@dataclass(frozen=True)
class DataSpec:
    """The facts of one dataset as the models see it."""

    layout: BatchLayout
    #: (C, H, W) of the images a generator produces (domain B's for a translation)
    image_shape: tuple[int, int, int]
    #: classes of the labels in each batch; None: batches carry no labels
    num_classes: int | None = None
    #: translations: channels of domain A (the generator's input) and of domain B (its output)
    in_channels: int | None = None
    out_channels: int | None = None
    #: noise models: how their samples are scored (None: no sample-quality metric for this data)
    sample_metrics: SampleMetrics | None = None
    #: translations: items carry the source digit (A_label/B_label), so translations can be read back
    digit_labels: bool = False
    #: None: every image is `image_shape`; n: image sides follow the files, rounded to multiples of n
    #: (translation data with preprocess=none / scale_width), so a generator's stride must divide n
    size_multiple: int | None = None
    #: modes of the data distribution, equally likely (Stacked MNIST: 1,000), for the mode metrics
    modes: int | None = None
    #: how images of another native size became `image_shape` ("pad" or "resize"; MNIST's 28 px to 32):
    #: the MNIST classifier of the metrics reads samples back the same way
    resize_mode: str | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"DataSpec.layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        object.__setattr__(self, "image_shape", tuple(int(n) for n in self.image_shape))

    @property
    def labelled(self) -> bool:
        return self.num_classes is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain types only: what the checkpoint stores (it is read back with weights_only=True)."""
        return {**asdict(self), "image_shape": list(self.image_shape)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataSpec:
        """A stored spec; keys this version does not know (written by a later one) are left out."""
        return cls(**{field.name: values[field.name] for field in fields(cls) if field.name in values})


class SpecifiedDataModule(LightningDataModule):
    """A LightningDataModule that states its facts (`spec`) before any file is read."""

    @property
    @abstractmethod
    def spec(self) -> DataSpec:
        """The dataset's facts, from the options given to `__init__`."""

    # views of the spec, for code that reads one fact
    @property
    def layout(self) -> str:
        return self.spec.layout

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.spec.image_shape

    @property
    def num_classes(self) -> int | None:
        return self.spec.num_classes

    @property
    def in_channels(self) -> int | None:
        return self.spec.in_channels

    @property
    def out_channels(self) -> int | None:
        return self.spec.out_channels

    # ---------------------------------------------------------------- what metrics and commands read
    # Besides `spec`: `prepare_data`, `setup` and the dataloaders of every LightningDataModule.
    def metric_split(self, name: str) -> TensorDataset:
        """The images (and labels) of split `name` ("train", "val", "test") as one dataset of tensors in
        the model's range, set up on first use: the reference of the MNIST classifier's metrics and
        their real-vs-real floor (data whose spec says `sample_metrics="mnist_classifier"`)."""
        raise ConfigError(f"{type(self).__name__} has no tensor splits for the MNIST classifier's metrics")

    def reference_loader(self, count: int, batch_size: int) -> DataLoader:
        """A fixed `count` of real images (all when fewer), batched, in order: the real side of the
        Inception metrics of noise models (data whose spec says `sample_metrics="inception"`)."""
        raise ConfigError(f"{type(self).__name__} has no reference images for the Inception metrics")

    def evaluation_sampler(self, dataset: Sized) -> Sampler[int] | None:
        """The sampler of the validation (and test) loaders: None (in order) in one process; under DDP a
        shard per rank without repeats (Lightning's `UnrepeatedDistributedSampler`, in order), so that the
        validation numbers count every item once. Lightning's own `DistributedSampler` pads the split with
        repeats to give every rank as many batches (5 items on 2 ranks: 6 counted). Ranks then run one
        batch more or less, which validation allows: nothing in it is collective per batch (scalars and
        accumulators sync at the epoch's end), and DDP syncs buffers only on a rank's first batch. Every
        rank needs that first batch: with fewer items than ranks the padded sampler stays, with a warning."""
        trainer = self.trainer
        sharding = trainer.distributed_sampler_kwargs if trainer is not None else None
        # Trainer(use_distributed_sampler=False): the user shards (or not) themselves (a private attribute
        # of Lightning 2.6, read defensively)
        connector = getattr(trainer, "_accelerator_connector", None)
        if not sharding or not getattr(connector, "use_distributed_sampler", True):
            return None
        ranks = int(sharding["num_replicas"])
        if ranks == 1:
            return None
        if len(dataset) < ranks:
            rank_zero_warn(
                f"{type(self).__name__}: {len(dataset)} validation items for {ranks} ranks; every rank "
                "needs one, so some are repeated and the validation numbers count them more than once"
            )
            return None
        return UnrepeatedDistributedSampler(dataset, shuffle=False, **sharding)

    def validation_examples(self, num: int) -> list[Any]:
        """The first `num` items of the validation split, in evaluation transform (after `setup`): the
        fixed inputs of progress grids made of examples (a model's `grid_source = "examples"`)."""
        dataset = self.val_dataloader().dataset
        return [dataset[i] for i in range(min(num, len(dataset)))]


def spec_of(datamodule: Any, data_name: str) -> DataSpec:
    """The data module's spec, or one line saying that a data module must declare one."""
    spec = getattr(datamodule, "spec", None)
    if not isinstance(spec, DataSpec):
        raise ConfigError(
            f"data={data_name}: {type(datamodule).__name__} does not state its facts; a data module derives "
            "from gan_experiments.data.spec.SpecifiedDataModule and returns a DataSpec from `spec`"
        )
    return spec


def check_model_fits(
    spec: DataSpec, model_layout: str, model_needs_labels: bool, model_name: str, data_name: str
) -> None:
    """A model and a dataset that cannot train together (pix2pix on MNIST, DCGAN on horse2zebra, a
    cGAN on unlabelled images) fail here, in one line that says which data the model needs."""
    if model_layout != spec.layout:
        labelled = " with class labels" if model_needs_labels else ""
        raise ConfigError(
            f"model={model_name} trains on {LAYOUTS[model_layout]}{labelled}, but data={data_name} holds "
            f"{LAYOUTS[spec.layout]}: use {data_that_fits(model_layout, model_needs_labels)}"
        )
    if model_needs_labels and not spec.labelled:
        raise ConfigError(
            f"model={model_name} needs class labels, but data={data_name} has none "
            f"(its batches carry no labels); use {data_that_fits(model_layout, True)}"
        )
