"""`evaluate` and `generate`: a checkpoint alone gives metrics.json and sample grids; clear errors."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TinyImageFeatures, make_config
from PIL import Image
from synthetic_images import write_unpaired_dataset
from tensorboard_events import load_events
from torchvision.io import read_image
from torchvision.utils import make_grid

from gan_experiments.checkpoints import load_model
from gan_experiments.errors import ConfigError, DatasetError, UserError
from gan_experiments.evaluate import evaluate
from gan_experiments.generate import generate
from gan_experiments.metrics import image_to_image, inception
from gan_experiments.metrics.distances import MIN_COMPARABLE_IMAGES
from gan_experiments.models.cgan import ConditionalGAN
from gan_experiments.sampling import interpolation_grid, slerp
from gan_experiments.train import train

ROOT = Path(__file__).resolve().parents[1]
MNIST_KEYS = {"fid", "kid_mean", "is_mean", "coverage_min", "digits_under_5pct", "coverage_kl", "fid_floor"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fake_mnist_dir):
    """Smoke checkpoints: dcgan and cgan on their own copy of synthetic MNIST, CycleGAN on folders."""
    root = tmp_path_factory.mktemp("evaluate")
    mnist = shutil.copytree(fake_mnist_dir, root / "mnist")
    unpaired = write_unpaired_dataset(root / "h2z", n_a=4, n_b=4, n_test_a=5, n_test_b=3, size=40)
    mnist_data = [f"data.data_dir={mnist}", "data.val_size=32"]
    for name, overrides in {
        "dcgan": ["model=dcgan", *mnist_data],
        "cgan": ["model=cgan", *mnist_data],
        "cyclegan": ["model=cyclegan", "data=unpaired_folder", f"data.root={unpaired}"],
    }.items():
        train(make_config(["debug=smoke", "data.download=false", *overrides], root / name))
    return {"root": root, "mnist": mnist}


def ckpt(runs, name: str) -> Path:
    return runs["root"] / name / "checkpoints" / "last.ckpt"


def with_checkpoints(runs, overrides: list[str]) -> list[str]:
    """`ckpt_path=<name>` → the path of that run's last.ckpt."""
    return [
        f"ckpt_path={ckpt(runs, o[len('ckpt_path=<') : -1])}" if o.startswith("ckpt_path=<") else o
        for o in overrides
    ]


def run_config(tmp_path, config_name: str, *overrides: str):
    return make_config(list(overrides), tmp_path, config_name=config_name)


@pytest.fixture
def no_inception_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "_warned", False)


# ---------------------------------------------------------------- evaluate
def test_evaluate_dcgan_reproduces_the_training_numbers_and_writes_metrics_json(runs, tmp_path, capsys):
    """Same weights, same settings (debug=smoke measured 64 samples in batches of 32 against the
    validation split with seed 0): same numbers."""
    cfg = run_config(
        tmp_path, "eval", f"ckpt_path={ckpt(runs, 'dcgan')}", "num_samples=64", "batch_size=32", "split=val",
        "seed=0",
    )  # fmt: skip
    report = evaluate(cfg)
    written = json.loads((ckpt(runs, "dcgan").parent / "metrics.json").read_text())
    assert written["metrics"] == pytest.approx(report["metrics"])
    assert set(written["metrics"]) >= MNIST_KEYS and "label_accuracy" not in written["metrics"]
    assert written["settings"]["num_samples"] == 64 and written["settings"]["seed"] == 0
    assert written["settings"]["split"] == "val"
    assert (
        written["model"] == "gan_experiments.models.gan.GAN" and written["epoch"] == 0
    )  # written at the end of the first epoch
    assert "num_samples=64" in written["command"]
    events = load_events(runs["root"] / "dcgan")
    for key in ("fid", "fid_floor", "kid_mean", "coverage_kl"):
        assert written["metrics"][key] == pytest.approx(events.Scalars(f"metrics/{key}")[-1].value, rel=1e-4)
    printed = capsys.readouterr().out
    assert "fid_floor" in printed and "digits_under_5pct" in printed


def test_evaluate_reports_on_the_test_split_with_unseen_noise(runs, tmp_path):
    """By default the numbers are not the ones best.ckpt was chosen by: the test split (10 % of the
    synthetic set here, not the 32 validation images) and noise seed 1."""
    cfg = run_config(tmp_path, "eval", f"ckpt_path={ckpt(runs, 'dcgan')}", "num_samples=64", "batch_size=32")
    report = evaluate(cfg)
    assert report["settings"]["split"] == "test" and report["settings"]["seed"] == 1
    events = load_events(runs["root"] / "dcgan")
    assert report["metrics"]["fid_floor"] != pytest.approx(events.Scalars("metrics/fid_floor")[-1].value)


def test_evaluate_cgan_on_moved_data_reports_label_accuracy(runs, tmp_path):
    moved = shutil.copytree(runs["mnist"], tmp_path / "moved")
    output = tmp_path / "cgan.json"
    cfg = run_config(
        tmp_path, "eval", f"ckpt_path={ckpt(runs, 'cgan')}", "num_samples=20", f"data.data_dir={moved}",
        f"output={output}",
    )  # fmt: skip
    evaluate(cfg)
    written = json.loads(output.read_text())
    assert MNIST_KEYS | {"label_accuracy"} <= set(written["metrics"])
    assert 0 <= written["metrics"]["label_accuracy"] <= 1
    assert written["settings"]["data"]["data_dir"] == str(moved)


def test_evaluate_reads_the_data_where_data_dir_points(runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = run_config(tmp_path, "eval", f"ckpt_path={ckpt(runs, 'cgan')}", f"data.data_dir={empty}")
    with pytest.raises(DatasetError, match=f"MNIST files missing in {empty}"):
        evaluate(cfg)


def test_evaluate_cyclegan_without_inception_weights(runs, tmp_path, no_inception_weights):
    output = tmp_path / "cyclegan.json"
    cfg = run_config(tmp_path, "eval", f"ckpt_path={ckpt(runs, 'cyclegan')}", f"output={output}")
    with pytest.warns(UserWarning, match="Inception FID/KID skipped"):
        evaluate(cfg)
    metrics = json.loads(output.read_text())["metrics"]
    assert set(metrics) == {"cycle_l1_a", "cycle_l1_b", "cycle_l1", "images_a", "images_b"}
    assert metrics["cycle_l1"] == pytest.approx((metrics["cycle_l1_a"] + metrics["cycle_l1_b"]) / 2)
    assert (metrics["images_a"], metrics["images_b"]) == (5, 3)  # testA/, testB/: each image once


def test_evaluate_flags_translation_fids_of_too_few_images(runs, tmp_path, monkeypatch, capsys, caplog):
    """5 test A and 3 test B images: each Inception FID/KID comes with the counts it rests on and, below
    score's minimum, the flag, in metrics.json, in the table and in the log (a stand-in for InceptionV3)."""
    monkeypatch.setattr(image_to_image, "load_inception_features", lambda weights: TinyImageFeatures())
    output = tmp_path / "cyclegan.json"
    with caplog.at_level(logging.WARNING, logger="gan_experiments.evaluate"):
        evaluate(run_config(tmp_path, "eval", f"ckpt_path={ckpt(runs, 'cyclegan')}", f"output={output}"))
    metrics = json.loads(output.read_text())["metrics"]
    assert {"fid_a", "kid_a_mean", "fid_b", "kid_b_mean"} <= set(metrics)
    assert (metrics["fid_b_images"], metrics["fid_b_real_images"]) == (5, 3)  # A→B translations vs real B
    assert (metrics["fid_a_images"], metrics["fid_a_real_images"]) == (3, 5)
    assert metrics["fid_a_comparable"] is False and metrics["fid_b_comparable"] is False
    printed = capsys.readouterr().out
    assert "NOT COMPARABLE (5 vs 3 images" in printed and "NOT COMPARABLE (3 vs 5 images" in printed
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        m.startswith(f"fid_b and its KID rest on 5 vs 3 images, fewer than {MIN_COMPARABLE_IMAGES}")
        for m in warned
    )


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        ([], ConfigError, "ckpt_path must be set"),
        (["ckpt_path=nowhere.ckpt"], UserError, "no such checkpoint file"),
        (
            ["ckpt_path=<dcgan>", "+data.crop=3"],
            ConfigError,
            r"data.crop: the run's data config \(MNISTDataModule\)",
        ),
        (["ckpt_path=<dcgan>", "num_samples=1"], ConfigError, "num_samples must be an integer >= 2"),
    ],
)
def test_evaluate_errors(runs, tmp_path, overrides, error, message):
    with pytest.raises(error, match=message):
        evaluate(run_config(tmp_path, "eval", *with_checkpoints(runs, overrides)))


def test_evaluate_command_line(runs, tmp_path):
    """The Hydra entry point as a user runs it: a table on stdout, metrics.json, exit status 0."""
    output = tmp_path / "cli.json"
    result = subprocess.run(
        [sys.executable, "-m", "gan_experiments.evaluate", f"ckpt_path={ckpt(runs, 'dcgan')}",
         "num_samples=16", f"output={output}", f"hydra.run.dir={tmp_path / 'eval_run'}"],
        cwd=ROOT, env={**os.environ, "HYDRA_FULL_ERROR": "0"}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "fid_floor" in result.stdout
    assert json.loads(output.read_text())["settings"]["num_samples"] == 16


# ---------------------------------------------------------------- generate
def png_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file."""
    image = read_image(str(path))
    return image.shape[1], image.shape[2]


CELL = 32 + 2  # smoke images are 32 px; make_grid pads 2 px


@pytest.mark.parametrize(
    "which, overrides, rows, columns",
    [
        ("dcgan", ["num=16"], 4, 4),
        ("cgan", ["num=9", "label=3"], 3, 3),
        ("cgan", ["num=20"], 10, 2),  # one row per class
        ("dcgan", ["interpolate=true", "steps=5", "rows=3"], 3, 5),
        ("cgan", ["interpolate=true", "steps=4", "rows=2", "label=7"], 2, 4),
    ],
)
def test_generate_writes_a_grid_of_the_right_size(runs, tmp_path, which, overrides, rows, columns):
    out = tmp_path / "grid" / "samples.png"
    cfg = run_config(tmp_path, "generate", f"ckpt_path={ckpt(runs, which)}", f"out={out}", *overrides)
    assert generate(cfg) == out
    assert png_size(out) == (2 + rows * CELL, 2 + columns * CELL)


def test_generate_with_label_draws_only_that_class(runs, tmp_path, monkeypatch):
    """Every sample is asked for class 3, and the PNG is G(z, 3) for the seeded z (up to 8-bit rounding)."""
    asked = []
    forward = ConditionalGAN.forward
    monkeypatch.setattr(
        ConditionalGAN, "forward", lambda self, z, labels: asked.append(labels) or forward(self, z, labels)
    )
    out = tmp_path / "threes.png"
    generate(run_config(tmp_path, "generate", f"ckpt_path={ckpt(runs, 'cgan')}", f"out={out}", "num=4",
                        "label=3", "seed=5"))  # fmt: skip
    assert len(asked) == 1 and asked[0].tolist() == [3, 3, 3, 3]
    model, _ = load_model(ckpt(runs, "cgan"))
    with torch.no_grad():
        z = model.sample_noise(4, torch.Generator().manual_seed(5))
        grid = make_grid(
            model(z, torch.full((4,), 3)), nrow=2, normalize=True, value_range=(-1, 1), pad_value=1
        )
    expected = (grid * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    assert (read_image(str(out)).int() - expected.int()).abs().max() <= 1


def test_interpolation_rows_run_from_one_sample_to_another_with_a_fixed_label(runs):
    model, _ = load_model(ckpt(runs, "cgan"))
    with torch.no_grad():
        images, columns = interpolation_grid(
            model, rows=3, steps=4, label=None, rng=torch.Generator().manual_seed(0)
        )
        rng = torch.Generator().manual_seed(0)
        z0, z1 = model.sample_noise(3, rng), model.sample_noise(3, rng)
        labels = torch.arange(3)  # row r shows class r
        assert columns == 4 and images.shape[0] == 12
        assert torch.allclose(images[0::4], model(z0, labels), atol=1e-5)
        assert torch.allclose(images[3::4], model(z1, labels), atol=1e-5)


def test_slerp_keeps_the_norm_where_lerp_shrinks_it():
    z0, z1 = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    path = slerp(z0, z1, torch.linspace(0, 1, 5))
    assert path.shape == (1, 5, 2)
    assert torch.allclose(path[0, 0], z0[0]) and torch.allclose(path[0, -1], z1[0], atol=1e-6)
    assert torch.allclose(path.norm(dim=-1), torch.full((1, 5), 3.0))
    same = slerp(z0, z0.clone(), torch.linspace(0, 1, 3))  # parallel vectors: no division by zero
    assert torch.allclose(same, z0.expand(3, 2)[None])


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (
            ["ckpt_path=<cyclegan>"],
            UserError,
            "a CycleGAN checkpoint translates images; use python -m gan_experiments.translate",
        ),
        ([], ConfigError, r"set ckpt_path=… \(a training checkpoint\) or pretrained=<name> .*exactly one"),
        (["ckpt_path=<dcgan>", "label=3"], ConfigError, "a GAN is unconditional; label needs a cGAN"),
        (["ckpt_path=<cgan>", "label=12"], ConfigError, r"label must be an integer in \[0, 10\), got 12"),
        (["ckpt_path=<dcgan>", "interpolate=true", "steps=1"], ConfigError, "steps must be an integer >= 2"),
    ],
)
def test_generate_errors(runs, tmp_path, overrides, error, message):
    with pytest.raises(error, match=message):
        generate(
            run_config(tmp_path, "generate", *with_checkpoints(runs, overrides), f"out={tmp_path / 'x.png'}")
        )
    assert not (tmp_path / "x.png").exists()


def test_ema_false_measures_and_draws_the_last_trained_generator(fake_mnist_dir, tmp_path):
    """With EMA on, `ema=false` must give the raw generator's numbers and samples (what EMA buys)."""
    run = tmp_path / "run"
    train(make_config(["debug=smoke", f"data.data_dir={fake_mnist_dir}", "data.download=false",
                       "data.val_size=32", "model.ema_decay=0.5"], run))  # fmt: skip
    checkpoint = run / "checkpoints" / "last.ckpt"

    def evaluate_with(ema: bool) -> dict:
        overrides = [
            f"ckpt_path={checkpoint}",
            "num_samples=64",
            f"ema={ema}",
            f"output={tmp_path / f'{ema}.json'}",
        ]
        return evaluate(run_config(tmp_path, "eval", *overrides))

    reports = {ema: evaluate_with(ema) for ema in (True, False)}
    assert reports[True]["settings"]["ema"] and not reports[False]["settings"]["ema"]
    assert reports[True]["metrics"]["fid"] != reports[False]["metrics"]["fid"]

    model, _ = load_model(checkpoint)
    with torch.no_grad():
        z = model.sample_noise(4, torch.Generator().manual_seed(0))
        raw, averaged = model.generator(z), model(z)
    assert not torch.equal(raw, averaged)
    out = tmp_path / "raw.png"
    generate(run_config(tmp_path, "generate", f"ckpt_path={checkpoint}", f"out={out}", "num=4", "ema=false"))
    expected = make_grid(raw, nrow=2, normalize=True, value_range=(-1, 1), pad_value=1)
    expected = (expected * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    assert (read_image(str(out)).int() - expected.int()).abs().max() <= 1


def test_generate_out_dir_writes_single_gray_samples_and_cycles_the_classes(runs, tmp_path, monkeypatch):
    """`out_dir`: num single PNG files (gray, the model's size) in a new folder, for `score`; a cGAN
    without label draws class i mod 10 for sample i; a folder with files in it is refused and kept."""
    asked = []
    forward = ConditionalGAN.forward
    monkeypatch.setattr(
        ConditionalGAN, "forward", lambda self, z, labels: asked.append(labels) or forward(self, z, labels)
    )
    monkeypatch.setattr("gan_experiments.generate.SAMPLE_BATCH", 10)
    out_dir = tmp_path / "samples"
    cfg = run_config(tmp_path, "generate", f"ckpt_path={ckpt(runs, 'cgan')}", f"out_dir={out_dir}", "num=23")
    assert generate(cfg) == out_dir
    files = sorted(out_dir.iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(23)]
    with Image.open(files[0]) as first:
        assert first.mode == "L" and first.size == (32, 32)
    assert torch.cat(asked).tolist() == [i % 10 for i in range(23)]
    assert [len(labels) for labels in asked] == [10, 10, 3]
    model, _ = load_model(ckpt(runs, "cgan"))
    with torch.no_grad():  # the files are the seeded samples, rounded to 8 bits
        z = model.sample_noise(10, torch.Generator().manual_seed(0))
        expected = ((model(z, torch.arange(10)) + 1) * 127.5).round()
    written = torch.stack([read_image(str(f)).float() for f in files[:10]])
    assert (written - expected).abs().max() <= 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        generate(cfg)
    assert len(list(out_dir.iterdir())) == 23
    strip = run_config(tmp_path, "generate", f"ckpt_path={ckpt(runs, 'dcgan')}", f"out_dir={tmp_path / 'i'}",
                       "interpolate=true")  # fmt: skip
    with pytest.raises(ConfigError, match="out_dir writes single samples"):
        generate(strip)
    assert not (tmp_path / "i").exists()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    under_a_file = run_config(
        tmp_path, "generate", f"ckpt_path={ckpt(runs, 'dcgan')}", f"out_dir={a_file / 's'}"
    )
    with pytest.raises(ConfigError, match=r"a parent of it, .*a_file, is a file"):
        generate(under_a_file)
