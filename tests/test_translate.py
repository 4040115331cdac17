"""`translate`: a whole folder through a checkpoint, names kept, index page, clear errors."""

from __future__ import annotations

import pytest
import torch
from conftest import make_config
from synthetic_images import random_image, write_image, write_paired_dataset, write_unpaired_dataset

from gan_experiments.checkpoints import load_model
from gan_experiments.data.image_folders import ImageFolderDataset, read_image, to_image
from gan_experiments.errors import UserError
from gan_experiments.train import train
from gan_experiments.translate import translate


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, fake_mnist_dir):
    root = tmp_path_factory.mktemp("translate")
    paired = write_paired_dataset(root / "pairs", n_train=4, n_val=5, size=40)
    unpaired = write_unpaired_dataset(root / "h2z", n_a=4, n_b=4, n_test_a=5, n_test_b=3, size=40)
    runs = {}
    for name, overrides in {
        "pix2pix": ["model=pix2pix", "data=paired_folder", f"data.root={paired}"],
        "cyclegan": ["model=cyclegan", "data=unpaired_folder", f"data.root={unpaired}"],
        "dcgan": ["model=dcgan", f"data.data_dir={fake_mnist_dir}", "data.val_size=32"],
    }.items():
        train(make_config(["debug=smoke", "data.download=false", *overrides], root / name))
        runs[name] = root / name / "checkpoints" / "last.ckpt"
    return {"runs": runs, "paired": paired, "unpaired": unpaired}


def translate_config(tmp_path, *overrides: str):
    return make_config(list(overrides), tmp_path, config_name="translate")


def test_cyclegan_translates_every_image_and_keeps_names(checkpoints, tmp_path):
    source = checkpoints["unpaired"] / "testB"
    out = tmp_path / "out"
    cfg = translate_config(
        tmp_path, f"ckpt_path={checkpoints['runs']['cyclegan']}", f"input_dir={source}", f"output_dir={out}",
        "direction=BtoA", "batch_size=2",
    )  # fmt: skip
    written = translate(cfg)
    names = sorted(p.name for p in source.iterdir())
    assert sorted(p.name for p in written) == names
    assert sorted(p.name for p in (out / "inputs").iterdir()) == names
    page = (out / "index.html").read_text()
    assert all(f'src="{name}"' in page and f'src="inputs/{name}"' in page for name in names)


def test_direction_picks_the_generator(checkpoints, tmp_path):
    """PNG in and out (lossless): the saved output is G_BA(input) up to 8-bit rounding."""
    source = tmp_path / "pngs"
    source.mkdir()
    write_image(source / "b.png", random_image(32, 32, seed=5))
    for direction, generator in (("BtoA", "generator_ba"), ("AtoB", "generator_ab")):
        out = tmp_path / direction
        ckpt = checkpoints["runs"]["cyclegan"]
        cfg = translate_config(
            tmp_path,
            f"ckpt_path={ckpt}",
            f"input_dir={source}",
            f"output_dir={out}",
            f"direction={direction}",
        )
        translate(cfg)
        model, _ = load_model(checkpoints["runs"]["cyclegan"])
        image = ImageFolderDataset(source, image_size=32)[0]["image"]
        expected = getattr(model, generator)(image[None])[0]
        got = to_image(read_image(out / "b.png"), 3).float() / 127.5 - 1
        assert (got - expected).abs().max() < 0.01


def test_pix2pix_paired_input_writes_targets_too(checkpoints, tmp_path):
    out = tmp_path / "out"
    cfg = translate_config(
        tmp_path, f"ckpt_path={checkpoints['runs']['pix2pix']}", f"input_dir={checkpoints['paired'] / 'val'}",
        f"output_dir={out}", "paired_input=true",
    )  # fmt: skip
    assert len(translate(cfg)) == 5
    assert len(list((out / "targets").iterdir())) == 5
    assert "<th>target</th>" in (out / "index.html").read_text()


def test_pix2pix_single_images_with_eval_mode(checkpoints, tmp_path):
    folder = tmp_path / "edges"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"edge_{i}.png", random_image(24, 30, seed=i))
    cfg = translate_config(
        tmp_path, f"ckpt_path={checkpoints['runs']['pix2pix']}", f"input_dir={folder}",
        f"output_dir={tmp_path / 'out'}", "eval_mode=true", "batch_size=3",
    )  # fmt: skip
    written = translate(cfg)
    assert [p.name for p in written] == ["edge_0.png", "edge_1.png", "edge_2.png"]
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize(
    "which, extra, message",
    [
        ("dcgan", [], "a GAN checkpoint; translate needs pix2pix or CycleGAN"),
        ("pix2pix", ["direction=BtoA"], "translates only its training direction"),
        ("cyclegan", ["paired_input=true"], "paired_input=true is for pix2pix"),
        (None, [], "no such checkpoint file"),
    ],
)
def test_translate_errors(checkpoints, tmp_path, which, extra, message):
    ckpt = checkpoints["runs"][which] if which else tmp_path / "missing.ckpt"
    cfg = translate_config(
        tmp_path,
        f"ckpt_path={ckpt}",
        f"input_dir={checkpoints['unpaired'] / 'testA'}",
        f"output_dir={tmp_path}",
        *extra,
    )
    with pytest.raises(UserError, match=message):
        translate(cfg)


def test_translate_needs_input_dir(tmp_path):
    from gan_experiments.errors import ConfigError

    with pytest.raises(ConfigError, match="input_dir must be set"):
        translate(translate_config(tmp_path, "ckpt_path=x.ckpt", "output_dir=out"))


def test_checkpoint_rebuilds_model_without_training_config(checkpoints):
    model, cfg = load_model(checkpoints["runs"]["cyclegan"])
    assert cfg.model._target_.endswith("CycleGAN") and not model.training
    assert model(torch.zeros(1, 3, 32, 32), direction="AtoB").shape == (1, 3, 32, 32)


def test_one_pix2pix_protocol_for_translate_and_evaluate(checkpoints, tmp_path):
    """By default translate writes the eval-mode generator's output (what evaluate, the training
    metrics and export compute); eval_mode=false is the paper's test protocol in both, seeded."""
    from gan_experiments.evaluate import evaluate

    source = tmp_path / "pngs"
    source.mkdir()
    write_image(source / "a.png", random_image(32, 32, seed=7))
    ckpt = checkpoints["runs"]["pix2pix"]
    model, _ = load_model(ckpt)
    image = ImageFolderDataset(source, image_size=32)[0]["image"]
    with torch.no_grad():
        expected = model.eval()(image[None])[0]
    translate(
        translate_config(tmp_path, f"ckpt_path={ckpt}", f"input_dir={source}", f"output_dir={tmp_path / 'o'}")
    )
    got = to_image(read_image(tmp_path / "o" / "a.png"), 3).float() / 127.5 - 1
    assert (got - expected).abs().max() < 0.01

    def l1(*overrides: str) -> float:
        cfg = make_config(
            [
                f"ckpt_path={ckpt}",
                f"output={tmp_path / 'm.json'}",
                f"data.root={checkpoints['paired']}",
                *overrides,
            ],
            tmp_path,
            config_name="eval",
        )
        return evaluate(cfg)["metrics"]["l1"]

    eval_mode, paper = l1(), l1("eval_mode=false")
    assert paper != eval_mode and l1("eval_mode=false") == paper  # dropout on, and seeded
    dcgan = make_config([f"ckpt_path={checkpoints['runs']['dcgan']}", "eval_mode=false"], tmp_path, "eval")
    with pytest.raises(UserError, match=r"^eval_mode=false is the pix2pix paper's test protocol"):
        evaluate(dcgan)
