"""Paired/unpaired translation datasets and DataModules on synthetic folders: shapes, direction,
shared crop/flip, reproducible augmentation, channels, configs and every bad-input message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from synthetic_images import random_image, truncate, write_image, write_paired_dataset, write_unpaired_dataset

from gan_experiments.data.image_folders import (
    ImageFolderDataset,
    PairedImageDataset,
    UnpairedImageDataset,
    default_load_size,
)
from gan_experiments.data.samplers import EpochShuffleSampler
from gan_experiments.data.translation import PairedImageDataModule, UnpairedImageDataModule
from gan_experiments.errors import ConfigError, DatasetError

FAST = {"image_size": 32, "num_workers": 0, "pin_memory": False, "download": False}


@pytest.fixture(scope="module")
def paired_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_paired_dataset(tmp_path_factory.mktemp("paired") / "edges2shoes", n_train=6, n_val=3)


@pytest.fixture(scope="module")
def unpaired_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_unpaired_dataset(tmp_path_factory.mktemp("unpaired") / "horse2zebra", n_a=3, n_b=5)


@pytest.fixture(scope="module")
def same_halves_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_paired_dataset(
        tmp_path_factory.mktemp("same") / "same", 8, 2, size=48, ext=".png", same_halves=True
    )


# ---------------------------------------------------------------------------------------------- batches


def test_paired_batches_have_the_documented_format(paired_root: Path) -> None:
    dm = PairedImageDataModule(root=paired_root, batch_size=4, val_split="val", **FAST)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"A", "B", "A_path", "B_path"}
    for key in "AB":
        assert batch[key].shape == (4, 3, 32, 32) and batch[key].dtype == torch.float32
        assert -1 <= batch[key].min() < batch[key].max() <= 1
    assert batch["A_path"] == batch["B_path"] and all(p.endswith(".jpg") for p in batch["A_path"])
    assert len(dm.train_dataloader()) == 1  # 6 items, batch 4: drop_last
    val = list(dm.val_dataloader())
    assert [len(b["A_path"]) for b in val] == [3]
    assert [Path(p).name for p in val[0]["A_path"]] == ["000.jpg", "001.jpg", "002.jpg"]
    assert dm.image_shape == (3, 32, 32) and dm.num_classes is None and dm.load_size == 36


def test_batch_size_one_keeps_every_item(paired_root: Path) -> None:
    dm = PairedImageDataModule(root=paired_root, batch_size=1, val_split="val", **FAST)
    dm.setup("fit")
    assert len(dm.train_dataloader()) == 6


def test_direction_swaps_input_and_target(paired_root: Path) -> None:
    ab = PairedImageDataset(paired_root / "val", train=False, image_size=32)
    ba = PairedImageDataset(paired_root / "val", train=False, image_size=32, direction="BtoA")
    assert torch.equal(ab[1]["A"], ba[1]["B"]) and torch.equal(ab[1]["B"], ba[1]["A"])
    assert not torch.equal(ab[1]["A"], ab[1]["B"])


def test_eval_is_a_plain_resize_of_each_half(paired_root: Path) -> None:
    from gan_experiments.data.image_folders import build_transform, read_image, to_image

    item = PairedImageDataset(paired_root / "val", train=False, image_size=32)[0]
    image = read_image(paired_root / "val" / "000.jpg")
    left = to_image(image.crop((0, 0, 40, 40)), 3)
    expected = build_transform(False, "resize_and_crop", 32, 32, flip=False)(left) * 2 - 1
    assert torch.allclose(item["A"], expected)


def test_training_crop_and_flip_are_identical_for_a_and_b(same_halves_root: Path) -> None:
    ds = PairedImageDataset(same_halves_root / "train", train=True, image_size=32, load_size=40)
    plain = PairedImageDataset(same_halves_root / "train", train=False, image_size=32, preprocess="crop")
    changed = 0
    for epoch in range(3):
        for index in range(len(ds)):
            item = ds[(epoch, index)]
            assert torch.equal(item["A"], item["B"])
            changed += not torch.equal(item["A"], ds[(epoch + 10, index)]["A"])
    assert changed > 0
    assert not torch.equal(ds[(0, 0)]["A"], plain[0]["A"])  # jittered, not the centre crop


def test_eval_has_no_randomness(paired_root: Path, unpaired_root: Path) -> None:
    paired = PairedImageDataset(paired_root / "val", train=False, image_size=32)
    unpaired = UnpairedImageDataset(
        unpaired_root / "testA", unpaired_root / "testB", train=False, image_size=32
    )
    for ds in (paired, unpaired):
        torch.manual_seed(1)
        first = ds[0]
        torch.manual_seed(2)
        assert all(torch.equal(first[k], ds[0][k]) for k in "AB")


# ---------------------------------------------------------------------------------------------- unpaired


def test_unpaired_length_and_pairs(unpaired_root: Path) -> None:
    train = UnpairedImageDataset(
        unpaired_root / "trainA", unpaired_root / "trainB", train=True, image_size=32
    )
    assert len(train) == 5  # max(3, 5)
    names = [Path(train[(0, i)]["A_path"]).name for i in range(5)]
    assert names == ["a000.jpg", "a001.jpg", "a002.jpg", "a000.jpg", "a001.jpg"]
    random_bs = {Path(train[(e, 0)]["B_path"]).name for e in range(12)}
    assert len(random_bs) > 1 and random_bs <= {f"b{i:03d}.jpg" for i in range(5)}

    test = UnpairedImageDataset(unpaired_root / "testA", unpaired_root / "testB", train=False, image_size=32)
    pairs = [(Path(test[i]["A_path"]).name, Path(test[i]["B_path"]).name) for i in range(len(test))]
    assert pairs == [("a000.jpg", "b000.jpg"), ("a001.jpg", "b001.jpg"), ("a000.jpg", "b002.jpg")]


def test_unpaired_direction_swaps_domains(unpaired_root: Path) -> None:
    dm = UnpairedImageDataModule(
        root=unpaired_root, direction="BtoA", channels_a=1, batch_size=2, val_split="test", **FAST
    )
    assert (dm.in_channels, dm.out_channels, dm.image_shape) == (3, 1, (1, 32, 32))
    dm.setup("validate")
    batch = next(iter(dm.val_dataloader()))
    assert batch["A"].shape == (2, 3, 32, 32) and batch["B"].shape == (2, 1, 32, 32)
    assert all("/testB/" in p for p in batch["A_path"]) and all("/testA/" in p for p in batch["B_path"])


# ---------------------------------------------------------------------------------------------- determinism


def test_items_depend_only_on_seed_epoch_and_index(unpaired_root: Path, paired_root: Path) -> None:
    def make(seed: int) -> list:
        return [
            UnpairedImageDataset(unpaired_root / "trainA", unpaired_root / "trainB", train=True, seed=seed),
            PairedImageDataset(paired_root / "train", train=True, seed=seed),
        ]

    for first, second, other_seed in zip(make(0), make(0), make(1), strict=True):
        torch.manual_seed(0)
        a = first[(3, 2)]
        torch.manual_seed(99)  # the global stream must not matter, nor be consumed
        state = torch.get_rng_state()
        b = second[(3, 2)]
        assert torch.equal(state, torch.get_rng_state())
        assert all(torch.equal(a[k], b[k]) for k in "AB") and a["B_path"] == b["B_path"]
        assert any(not torch.equal(a[k], first[(4, 2)][k]) for k in "AB")
        assert any(not torch.equal(a[k], other_seed[(3, 2)][k]) for k in "AB")


def test_sampler_yields_epoch_index_pairs_and_keeps_its_default() -> None:
    plain = EpochShuffleSampler(5, seed=3)
    paired = EpochShuffleSampler(5, seed=3, with_epoch=True)
    paired.set_epoch(2)
    plain.set_epoch(2)
    assert list(paired) == [(2, i) for i in plain]
    assert sorted(plain) == list(range(5)) and len(paired) == 5


def test_workers_do_not_change_the_data(paired_root: Path) -> None:
    def batches(num_workers: int) -> list[torch.Tensor]:
        dm = PairedImageDataModule(root=paired_root, batch_size=2, **{**FAST, "num_workers": num_workers})
        dm.setup("fit")
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(1)
        return [b["A"] for b in loader]

    for a, b in zip(batches(0), batches(2), strict=True):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------------- channels


def test_channels_convert_rgb_to_gray_and_back(tmp_path: Path) -> None:
    rgb = write_paired_dataset(tmp_path / "rgb", 2, 1)
    gray = write_paired_dataset(tmp_path / "gray", 2, 1, channels=1)
    item = PairedImageDataset(rgb / "train", train=False, image_size=32, channels_a=1)[0]
    assert item["A"].shape == (1, 32, 32) and item["B"].shape == (3, 32, 32)
    item = PairedImageDataset(gray / "train", train=False, image_size=32)[0]
    assert item["A"].shape == (3, 32, 32) and torch.equal(item["A"][0], item["A"][2])


def test_preprocess_modes_and_default_load_size(paired_root: Path) -> None:
    assert default_load_size(256) == 286 and default_load_size(32) == 36
    for mode in ("resize_and_crop", "crop", "scale_width_and_crop"):
        for train in (True, False):
            ds = PairedImageDataset(paired_root / "train", train=train, image_size=32, preprocess=mode)
            assert ds[(0, 0)]["A"].shape == (3, 32, 32)
    keep = PairedImageDataset(paired_root / "train", train=True, image_size=32, preprocess="none", flip=False)
    assert keep[(0, 0)]["A"].shape == (3, 40, 40)
    wide = PairedImageDataset(paired_root / "train", train=False, image_size=32, preprocess="scale_width")
    assert wide[0]["A"].shape == (3, 32, 32)


def test_image_folder_dataset_keeps_names(tmp_path: Path) -> None:
    for name in ("b.png", "a.jpg"):
        write_image(tmp_path / name, random_image(20, 30))
    (tmp_path / "notes.txt").write_text("not an image")
    ds = ImageFolderDataset(tmp_path, image_size=16, channels=1)
    assert [Path(ds[i]["path"]).name for i in range(len(ds))] == ["a.jpg", "b.png"]
    assert ds[0]["image"].shape == (1, 16, 16)


# ---------------------------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    ("config", "layout", "writer"),
    [
        ("edges2shoes", "paired", write_paired_dataset),
        ("paired_folder", "paired", write_paired_dataset),
        ("horse2zebra", "unpaired", write_unpaired_dataset),
        ("unpaired_folder", "unpaired", write_unpaired_dataset),
    ],
)
def test_data_configs_compose_with_debug_smoke(config: str, layout: str, writer, tmp_path: Path) -> None:
    from conftest import make_config

    root = writer(tmp_path / (config if config in ("edges2shoes", "horse2zebra") else "folder"))
    overrides = ["debug=smoke", f"data={config}", f"data.data_dir={tmp_path}", "data.download=false"]
    if config.endswith("_folder"):
        overrides.append(f"data.root={root}")
    cfg = make_config(overrides, tmp_path / "run")
    GlobalHydra.instance().clear()
    for key in ("data_dir", "batch_size", "image_size", "num_workers", "seed"):
        assert key in cfg.data
    dm = instantiate(cfg.data)
    assert (dm.batch_size, dm.image_size, dm.load_size, dm.num_workers) == (4, 32, 36, 0)
    assert dm.layout == layout and dm.seed == cfg.seed
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["A"].shape[1:] == (3, 32, 32)
    assert dm.val_split is None and dm.test_split == ("val" if layout == "paired" else "test")


# ---------------------------------------------------------------------------------------------- bad input


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_unreadable_image_is_named_or_skipped(tmp_path: Path) -> None:
    root = write_paired_dataset(tmp_path / "p", 3, 1)
    (root / "train" / "001.jpg").write_bytes(b"definitely not a jpeg")
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=root, val_split="val", **FAST).setup("fit")
    assert "001.jpg" in one_line(error) and "skip_bad_images" in str(error.value)
    dm = PairedImageDataModule(root=root, skip_bad_images=True, val_split="val", **FAST)
    dm.setup("fit")
    assert len(dm.train_set) == 2 and dm.train_set.images.skipped == 1


def test_everything_unreadable_is_an_error_even_when_skipping(tmp_path: Path) -> None:
    root = write_unpaired_dataset(tmp_path / "u", 2, 2)
    for path in (root / "trainB").iterdir():
        path.write_bytes(b"\x00" * 10)
    with pytest.raises(DatasetError) as error:
        UnpairedImageDataModule(root=root, skip_bad_images=True, **FAST).setup("fit")
    assert "trainB" in one_line(error) and "unreadable" in str(error.value)


def test_truncated_image_found_while_loading(tmp_path: Path) -> None:
    root = write_paired_dataset(tmp_path / "p", 2, 1)
    truncate(root / "train" / "000.jpg", 0.4)  # header intact: passes the scan, fails to decode
    ds = PairedImageDataset(root / "train", train=False, image_size=32)
    with pytest.raises(DatasetError) as error:
        ds[0]
    assert "000.jpg" in one_line(error)
    skipping = PairedImageDataset(root / "train", train=False, image_size=32, skip_bad_images=True)
    assert skipping[0]["A_path"].endswith("001.jpg")


def test_odd_width_pair_is_named(tmp_path: Path) -> None:
    root = write_paired_dataset(tmp_path / "p", 2, 1)
    write_image(root / "train" / "odd.jpg", random_image(40, 81))
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=root, **FAST).setup("fit")
    assert "odd.jpg" in one_line(error) and "even width" in str(error.value)


def test_missing_split_folder_is_named(tmp_path: Path) -> None:
    root = write_unpaired_dataset(tmp_path / "u", 2, 2)
    for path in (root / "trainB").iterdir():
        path.unlink()
    (root / "trainB").rmdir()
    with pytest.raises(DatasetError) as error:
        UnpairedImageDataModule(root=root, **FAST).setup("fit")
    assert str(root / "trainB") in one_line(error) and "trainA/ trainB/ testA/ testB/" in str(error.value)


def test_empty_split_is_named(tmp_path: Path) -> None:
    root = write_paired_dataset(tmp_path / "p", splits={"train": 2, "val": 0})
    (root / "val").mkdir()
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=root, val_split="val", **FAST).setup("fit")
    assert str(root / "val") in one_line(error) and "no images" in str(error.value)


def test_missing_root_offline_says_what_to_place(tmp_path: Path) -> None:
    dm = UnpairedImageDataModule(data_dir=tmp_path, dataset="horse2zebra", **FAST)
    with pytest.raises(DatasetError) as error:
        dm.prepare_data()
    message = one_line(error)
    assert "horse2zebra.zip" in message and "trainA/ trainB/ testA/ testB/" in message
    with pytest.raises(DatasetError):
        dm.setup("fit")
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=tmp_path / "nowhere", **FAST).setup("fit")
    assert "nowhere" in one_line(error) and "train/ val/" in str(error.value)


def test_wrong_layout_says_which_was_expected(paired_root: Path, unpaired_root: Path) -> None:
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=unpaired_root, **FAST).setup("fit")
    assert "expects the paired layout" in one_line(error) and "data=unpaired_folder" in str(error.value)
    with pytest.raises(DatasetError) as error:
        UnpairedImageDataModule(root=paired_root, **FAST).setup("fit")
    assert "expects the unpaired layout" in one_line(error) and "data=paired_folder" in str(error.value)


def test_crop_larger_than_image_is_named(paired_root: Path) -> None:
    with pytest.raises(DatasetError) as error:
        PairedImageDataModule(root=paired_root, preprocess="crop", **{**FAST, "image_size": 64}).setup("fit")
    assert "000.jpg" in one_line(error) and "preprocess=resize_and_crop" in str(error.value)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"direction": "AtoC"}, "data.direction"),
        ({"preprocess": "zoom"}, "data.preprocess"),
        ({"channels_b": 4}, "data.channels_b"),
        ({"load_size": 16}, "data.load_size"),
        ({"dataset": "horse2zebra"}, "unpaired dataset"),
        ({"root": None}, "data.root"),
    ],
)
def test_bad_options_are_config_errors(options: dict, key: str, paired_root: Path) -> None:
    with pytest.raises(ConfigError, match=key):
        PairedImageDataModule(**{"root": paired_root, **FAST, **options})


def test_lightning_feeds_the_epoch_to_the_items(paired_root: Path) -> None:
    """Trainer.fit sets the sampler's epoch, so what a step sees is dataset[(epoch, i)]: reproducible
    after a resume, because nothing else is involved."""
    import lightning.pytorch as pl

    seen: list[tuple[int, list[str], torch.Tensor]] = []

    class Recorder(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
            seen.append((self.current_epoch, batch["A_path"], batch["A"]))
            return self.weight * batch["A"].mean()

        def validation_step(self, batch: dict, batch_idx: int) -> None:
            pass

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = PairedImageDataModule(root=paired_root, batch_size=2, val_split="val", **FAST)
    trainer = pl.Trainer(
        max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False, limit_val_batches=0
    )
    trainer.fit(Recorder(), dm)
    assert [epoch for epoch, _, _ in seen] == [0, 0, 0, 1, 1, 1]
    for epoch, paths, images in seen:
        expected = [dm.train_set[(epoch, int(Path(p).stem))]["A"] for p in paths]
        assert torch.equal(images, torch.stack(expected))
