"""data=image_folder: any folder of images as the data of GAN, DCGAN and the conv GAN (listing, square crops,
seeded flips, bad files, the networks at 32/64/128 px, training, and Inception FID/KID of folder runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from gan_experiments.data.image_folder import ImageFolderDataModule
from gan_experiments.data.image_reading import list_images
from gan_experiments.errors import ConfigError, DatasetError
from gan_experiments.metrics import inception
from gan_experiments.metrics import run as run_metrics
from gan_experiments.metrics.folder import FolderGANMetrics
from gan_experiments.metrics.run import FolderNoiseModelMetrics, MetricSettings, metrics_for
from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator
from gan_experiments.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_experiments.train import build


def write_folder(root: Path, count: int = 24, seed: int = 0) -> Path:
    """Random images of assorted sizes, modes and formats, half of them in a subfolder, plus files that
    are not training images (a hidden folder, a text file)."""
    rng = np.random.default_rng(seed)
    (root / "nested" / "deeper").mkdir(parents=True)
    for i in range(count):
        width, height = int(rng.integers(20, 70)), int(rng.integers(20, 70))
        image = Image.fromarray((rng.random((height, width, 3)) * 255).astype("uint8"))
        image = image.convert(("RGB", "L", "RGBA", "P")[i % 4])
        folder = root if i % 2 else root / "nested" / ("deeper" if i % 4 == 0 else "")
        image.save(folder / f"image_{i:02d}.{'png' if i % 3 else 'bmp'}")
    (root / ".thumbnails").mkdir()
    Image.new("RGB", (8, 8)).save(root / ".thumbnails" / "hidden.png")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "images")


def datamodule(root: Path, **options) -> ImageFolderDataModule:
    module = ImageFolderDataModule(root, **{"val_size": 4, "batch_size": 4, "num_workers": 0, **options})
    module.setup("fit")
    return module


def test_every_image_below_the_root_is_used_once_hidden_folders_and_other_files_are_not(folder):
    module = datamodule(folder)
    train_paths = {module.train_set.path(i) for i in range(len(module.train_set))}
    val_paths = {module.val_set.path(i) for i in range(len(module.val_set))}
    assert len(train_paths) == 20 and len(val_paths) == 4 and not train_paths & val_paths
    assert any("deeper" in str(path) for path in train_paths | val_paths)
    assert not any(".thumbnails" in str(path) for path in train_paths | val_paths)


def test_symlinked_subfolders_are_followed_and_a_link_back_up_does_not_loop(tmp_path):
    elsewhere = write_folder(tmp_path / "other_disk", count=8, seed=1)
    root = write_folder(tmp_path / "images", count=8)
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / "nested" / "up").symlink_to(root, target_is_directory=True)  # a cycle
    paths = list_images(root, recursive=True)
    assert len(paths) == 16 and len({path.resolve() for path in paths}) == 16
    assert sum("linked" in path.parts for path in paths) == 8
    assert paths == sorted(paths) and not any(".thumbnails" in path.parts for path in paths)


@pytest.mark.parametrize("image_size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_batches_are_squares_of_the_image_size_in_the_model_range(folder, image_size, channels):
    module = datamodule(folder, image_size=image_size, channels=channels)
    batch = next(iter(module.train_dataloader()))
    assert isinstance(batch, Tensor)
    assert batch.shape == (4, channels, image_size, image_size) == (4, *module.image_shape)
    assert batch.min() >= -1 and batch.max() <= 1
    assert module.num_classes is None and module.layout == "images"


def test_the_shorter_side_is_resized_and_the_center_kept(tmp_path):
    """A wide image, white in its middle square and black at both sides: only white survives."""
    root = tmp_path / "wide"
    root.mkdir()
    pixels = np.zeros((40, 120), dtype="uint8")
    pixels[:, 40:80] = 255
    for i in range(3):
        Image.fromarray(pixels).save(root / f"{i}.png")
    module = datamodule(root, val_size=1, channels=1, image_size=16, flip=False)
    image = module.train_set[0]
    assert image.shape == (1, 16, 16)
    assert image[:, :, 2:-2].min() > 0.9  # the center square; bicubic rings only at the very edge


def test_flips_depend_on_seed_epoch_and_image_only(folder):
    module = datamodule(folder, image_size=32)
    dataset = module.train_set
    assert all(torch.equal(dataset[(3, i)], dataset[(3, i)]) for i in range(len(dataset)))
    flipped = [not torch.equal(dataset[(0, i)], dataset[(1, i)]) for i in range(len(dataset))]
    assert any(flipped) and not all(flipped)
    unflipped = datamodule(folder, image_size=32, flip=False).train_set
    assert all(torch.equal(unflipped[(0, i)], unflipped[(1, i)]) for i in range(len(unflipped)))


def test_the_reference_set_is_seeded_and_unflipped(folder):
    module = datamodule(folder, image_size=32)
    first = torch.cat(list(module.reference_loader(10, batch_size=4)))
    again = torch.cat(list(module.reference_loader(10, batch_size=3)))
    assert first.shape == (10, 3, 32, 32) and torch.equal(first, again)
    assert len(module.reference_set(1000)) == len(module.train_set)  # all, when the folder has fewer


def test_an_unreadable_file_is_named_or_skipped_and_counted(folder):
    (folder / "nested" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(DatasetError, match=r"cannot read image .*broken\.jpg: .*skip_bad_images=true"):
        datamodule(folder)
    module = datamodule(folder, skip_bad_images=True)
    assert len(module.train_set) + len(module.val_set) == 24


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"root": "missing"},
            DatasetError,
            r"^data\.root=.*missing: not found \(expected a folder of images\)$",
        ),
        (
            {"root": "empty"},
            DatasetError,
            r"empty or its subfolders has no images \(expected files ending in",
        ),
        ({"val_size": 24}, ConfigError, r"^data\.val_size=24: expected fewer than the 24 images in "),
        ({"image_size": 4}, ConfigError, r"^data\.image_size must be an integer >= 8 .*got 4$"),
        ({"channels": 4}, ConfigError, r"^data\.channels must be 1 \(grayscale\) or 3 \(RGB\), got 4$"),
        ({"val_size": 0}, ConfigError, r"^data\.val_size must be an integer >= 1, got 0$"),
    ],
)
def test_bad_options_and_folders_are_one_line_naming_them(folder, options, error, message):
    (folder.parent / "empty").mkdir()
    root = folder.parent / options.pop("root") if "root" in options else folder
    with pytest.raises(error, match=message):
        datamodule(root, **options)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_the_convolutional_networks_grow_a_stage_per_doubling(size):
    z = torch.randn(2, 16)
    for generator, discriminator, convs in (
        (DCGANGenerator(16, (3, size, size), width=4), DCGANDiscriminator((3, size, size), width=4), "dcgan"),
        (
            ConvGANGenerator(16, (3, size, size), width=4),
            ConvGANDiscriminator((3, size, size), width=4),
            "conv_gan",
        ),
    ):
        images = generator(z)
        assert images.shape == (2, 3, size, size), convs
        assert discriminator(images).numel() == 2
    stages = {32: 2, 64: 3, 128: 4}[size]
    conv_g, conv_d = (
        ConvGANGenerator(16, (3, size, size), width=4),
        ConvGANDiscriminator((3, size, size), width=4),
    )
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in conv_g.modules()) == stages
    assert sum(isinstance(m, nn.Conv2d) for m in conv_d.modules()) == stages


@pytest.mark.parametrize(
    ("size", "start", "fc_in"), [(28, 7, 64 * 4 * 4), (32, 8, 64 * 5 * 5), (44, 11, 64 * 8 * 8)]
)
def test_the_notes_conv_gan_networks_keep_their_layers_up_to_63_px(size, start, fc_in):
    """Checkpoints of the notes' network (28 and 32 px, and the other sizes MNIST's padding makes) load
    into the grown module layout."""
    g, d = ConvGANGenerator(96, (1, size, size)), ConvGANDiscriminator((1, size, size))
    assert [k for k in g.state_dict() if k.startswith("upsample") and k.endswith("weight")] == [
        "upsample.0.weight",
        "upsample.2.weight",
        "upsample.3.weight",
    ]
    assert g.start == (128, start, start)
    assert [k for k in d.state_dict() if k.endswith("weight")] == [
        "features.0.weight",
        "features.3.weight",
        "classifier.0.weight",
        "classifier.2.weight",
    ]
    assert d.classifier[0].in_features == fc_in


@pytest.mark.slow
@pytest.mark.parametrize(("model", "size"), [("gan", 32), ("dcgan", 64), ("conv_gan", 64)])
def test_noise_models_train_on_a_folder(smoke_config, folder, tmp_path, model, size):
    widths = {"gan": 16, "dcgan": 4, "conv_gan": 4}[model]
    cfg = smoke_config(
        f"model={model}",
        "data=image_folder",
        f"data.root={folder}",
        f"data.image_size={size}",
        "data.val_size=4",
        "data.batch_size=4",
        "data.num_workers=0",
        f"model.generator.width={widths}",
        f"model.discriminator.width={widths}",
        output_dir=tmp_path / "run",
    )
    datamodule, model, trainer = build(cfg)
    assert tuple(model.image_shape) == (3, size, size)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.global_step > 0
    assert list((tmp_path / "run" / "samples").glob("*.png"))


def test_a_conditional_model_refuses_a_folder_without_labels(smoke_config, folder):
    with pytest.raises(ConfigError, match=r"model=cgan needs class labels, but data=image_folder has none"):
        build(smoke_config("model=cgan", "data=image_folder", f"data.root={folder}", "data.val_size=4"))


class MeanAndSpread(nn.Module):
    """A stand-in feature network (Inception at 299 px is too slow for a wiring test)."""

    num_features = 6

    def forward(self, images: Tensor) -> Tensor:
        flat = images.flatten(2)
        return torch.cat([flat.mean(2), flat.std(2)], dim=1)


class ConstantImages(nn.Module):
    """A "generator" of flat images of one value: its FID grows with the distance to the real mean."""

    def __init__(self, value: float, size: int = 32) -> None:
        super().__init__()
        self.value, self.size = value, size
        self.anchor = nn.Parameter(torch.zeros(1))

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor]:
        return (torch.rand(n, 3, 1, 1, generator=rng) * 0.1,)

    def forward(self, noise: Tensor) -> Tensor:
        return (noise + self.value).expand(-1, -1, self.size, self.size)


def test_folder_metrics_score_samples_against_the_folders_training_images(folder):
    module = datamodule(folder, image_size=32)
    metrics = FolderGANMetrics(MeanAndSpread(), num_samples=12, batch_size=5, kid_subsets=3)
    metrics.reference(module.reference_loader(12, batch_size=5))
    near, far = metrics.evaluate(ConstantImages(0.0)), metrics.evaluate(ConstantImages(0.9))
    assert {"fid", "kid_mean", "kid_std", "num_real", "num_fake"} == set(near)
    assert near["num_real"] == near["num_fake"] == 12
    assert far["fid"] > near["fid"]
    assert metrics.evaluate(ConstantImages(0.0)) == near  # seeded samples: the same numbers again


def folder_run(smoke_config, folder):
    cfg = smoke_config(
        "model=dcgan", "data=image_folder", f"data.root={folder}", "data.image_size=32", "data.val_size=4",
        "data.num_workers=0", "model.generator.width=4", "model.discriminator.width=4",
    )  # fmt: skip
    datamodule, model, _ = build(cfg)
    datamodule.setup("fit")
    return datamodule, model


def test_a_folder_run_gets_inception_metrics_when_the_weights_are_there(smoke_config, folder, monkeypatch):
    datamodule, model = folder_run(smoke_config, folder)
    monkeypatch.setattr(run_metrics, "load_inception_features", lambda path: MeanAndSpread())
    run = metrics_for(model, datamodule, MetricSettings(num_samples=8, batch_size=4), "cpu")
    assert isinstance(run, FolderNoiseModelMetrics)
    assert run.metrics.distances.num_real == 8
    scores = run.compute(model)
    assert scores["num_fake"] == 8 and scores["fid"] >= 0


def test_without_inception_weights_a_folder_run_says_where_to_put_them(
    smoke_config, folder, tmp_path, monkeypatch
):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "_warned", False)
    datamodule, model = folder_run(smoke_config, folder)
    with pytest.warns(UserWarning, match=r"Inception FID/KID skipped: no InceptionV3 weights at .*hub"):
        assert metrics_for(model, datamodule, MetricSettings(num_samples=8), "cpu") is None
