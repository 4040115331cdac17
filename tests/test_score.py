"""`score`: FID/KID of a folder of images against another, no checkpoint: the MNIST classifier for gray
digits (≈ 0 for the same images, far apart for different ones, IS analogue and coverage), Inception
otherwise; counts and feature network in the table and scores.json; every one-line refusal."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import make_config
from synthetic_images import random_image, truncate, write_digit_folder, write_image
from torch import Tensor, nn

import gan_experiments.score as score_module
from gan_experiments.errors import ConfigError, DatasetError
from gan_experiments.metrics import inception
from gan_experiments.metrics.classifier import read_record
from gan_experiments.metrics.distances import MIN_COMPARABLE_IMAGES
from gan_experiments.score import score

N = 60  # images per folder: enough for a stable FID of these synthetic digits, fast on 2 cores
SMALL = ["min_images=20", "kid_subset_size=20", "kid_subsets=20", "device=cpu"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks: on a busy 2-core machine two intra-op threads wait on each other (measured here:
    14 s instead of 0.4 s for one score)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("score")
    found = {
        "real": write_digit_folder(root / "real", N, seed=0),  # 6 of them in real/more/
        "copy": write_digit_folder(root / "copy", N, seed=0, nested=False),
        "rgb_jpeg": write_digit_folder(root / "rgb_jpeg", N, seed=0, suffix=".jpg", channels=3),
        "few": write_digit_folder(root / "few", 25, seed=1),
    }
    for name, make in {
        "noise": lambda i: random_image(28, 28, channels=1, seed=i),
        "colour": lambda i: random_image(28, 28, channels=3, seed=i),
        "colour_b": lambda i: random_image(28 + 8 * (i % 2), 28, channels=3, seed=1000 + i),  # two sizes
        "large": lambda i: random_image(40, 40, channels=1, seed=i),
    }.items():
        for i in range(N):
            write_image(root / name / f"{i:03d}.png", make(i))
        found[name] = root / name
    (root / "empty" / "sub").mkdir(parents=True)
    (root / "empty" / "notes.txt").write_text("no images here")
    found["empty"] = root / "empty"
    return found


def config(tmp_path: Path, real: Path | str, fake: Path | str, *overrides: str):
    return make_config([f"real_dir={real}", f"fake_dir={fake}", *SMALL, *overrides], tmp_path, "score")


def table_row(out: str, metric: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"│ {metric} "))


def test_same_digits_score_zero_and_different_images_score_far(folders, tmp_path, capsys):
    same = score(config(tmp_path / "same", folders["real"], folders["copy"]))
    printed = capsys.readouterr().out
    far = score(config(tmp_path / "far", folders["real"], folders["noise"]))
    assert same["features"] == "mnist" and (same["num_real"], same["num_fake"]) == (N, N)  # subfolders read
    assert abs(same["metrics"]["fid"]) < 1e-4  # the numerical floor: same features on both sides
    assert far["metrics"]["fid"] > 1000 and far["metrics"]["kid_mean"] > 1000 * same["metrics"]["kid_std"]
    # the fake folder's own classifier scores, and the real folder's IS analogue as the target
    for key in ("is_mean", "is_std", "coverage_min", "coverage_max", "digits_under_5pct", "is_real_mean"):
        assert key in same["metrics"]
    assert sum(same["metrics"][f"coverage/{k}"] for k in range(10)) == pytest.approx(1.0)
    # every figure printed with both counts (or one, for a folder's own score) and the network
    assert re.search(rf"│\s+{N} │\s+{N} │ mnist ", table_row(printed, "fid"))
    assert re.search(rf"│\s+— │\s+{N} │ mnist ", table_row(printed, "is_mean"))
    assert re.search(rf"│\s+{N} │\s+— │ mnist ", table_row(printed, "is_real_mean"))
    assert f"({N} images)" in printed and "MNIST classifier sha256 d4d58f3a3829" in printed
    # scores.json in the run folder (out's default), written atomically
    written = json.loads((tmp_path / "same" / "scores.json").read_text())
    assert (written["num_real"], written["num_fake"], written["features"]) == (N, N, "mnist")
    assert written["feature_network"]["sha256"] == read_record()["sha256"]
    assert written["metrics"]["fid"] == same["metrics"]["fid"]
    assert written["real_dir"] == str(folders["real"].resolve())
    assert written["command"].startswith("python -m gan_experiments.score real_dir=")
    assert [p.name for p in (tmp_path / "same").iterdir()] == ["scores.json"]


def test_three_equal_channels_count_as_gray(folders, tmp_path):
    """Tools that save digits with torchvision's save_image write RGB files with equal channels (and
    JPEG rounds them slightly apart): still digits, scored by the classifier, close to the PNGs."""
    report = score(config(tmp_path, folders["real"], folders["rgb_jpeg"], f"out={tmp_path / 'x.json'}"))
    assert report["features"] == "mnist" and report["num_fake"] == N
    assert 0 <= report["metrics"]["fid"] < 1
    assert (tmp_path / "x.json").is_file()


def test_unreadable_image_is_named_or_skipped_and_counted(folders, tmp_path):
    fake = shutil.copytree(folders["copy"], tmp_path / "fake")
    truncate(fake / "00007.png", 0.3)  # the header reads, the pixels do not
    with pytest.raises(
        DatasetError, match=r"^fake_dir: cannot read image .*00007\.png: .*skip_bad_images=true$"
    ):
        score(config(tmp_path, folders["real"], fake))
    report = score(config(tmp_path, folders["real"], fake, "skip_bad_images=true"))
    assert (report["num_real"], report["num_fake"], report["skipped"]["fake_dir"]) == (N, N - 1, 1)


@pytest.fixture
def no_inception_weights(tmp_path, monkeypatch):
    """An empty torch hub cache, a fresh once-per-process flag, and downloads that fail loudly."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "_warned", False)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path / "hub" / "checkpoints" / inception.WEIGHTS_NAME


@pytest.mark.parametrize(
    "real, fake, overrides, prefix",
    [
        ("colour", "colour_b", [], "features=auto chose inception (the images are not MNIST-like): "),
        ("real", "copy", ["features=inception"], "features=inception: "),
    ],
)
def test_inception_without_weights_is_the_existing_message_in_one_line(
    folders, tmp_path, no_inception_weights, real, fake, overrides, prefix
):
    with pytest.raises(ConfigError) as refused:
        score(config(tmp_path, folders[real], folders[fake], *overrides))
    message = str(refused.value)
    assert message.startswith(prefix + f"no InceptionV3 weights at {no_inception_weights}; download ")
    assert inception.WEIGHTS_URL in message and "\n" not in message
    assert inception._warned is False  # training's once-per-process warning is still to come
    assert not (tmp_path / "scores.json").exists()


class ChannelStatistics(nn.Module):
    """A stand-in for InceptionV3 (92 MB, seconds per batch on CPU): per-channel mean and std."""

    num_features = 6

    def forward(self, images: Tensor) -> Tensor:
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], dim=1)


def test_inception_path_streams_mixed_sizes_through_workers(folders, tmp_path, monkeypatch):
    monkeypatch.setattr(score_module, "load_inception", lambda cfg: ChannelStatistics())
    fake = shutil.copytree(folders["colour_b"], tmp_path / "fake")
    truncate(fake / "003.png", 0.3)
    args = (folders["colour_b"], fake, "skip_bad_images=true", "batch_size=16", "num_workers=1")
    same = score(config(tmp_path / "same", *args))
    far = score(config(tmp_path / "far", folders["colour"], folders["real"], "features=inception"))
    assert same["features"] == "inception" and same["feature_network"]["name"] == "inception"
    assert (same["num_real"], same["num_fake"], same["skipped"]) == (N, N - 1, {"real_dir": 0, "fake_dir": 1})
    assert same["image_sizes"] == {"real_dir": "28–36 px", "fake_dir": "28–36 px"}
    assert set(same["metrics"]) == {"fid", "kid_mean", "kid_std"}
    assert same["metrics"]["fid"] < 1e-4 and far["metrics"]["fid"] > 1
    with pytest.raises(DatasetError, match=r"^fake_dir: cannot read image .*003\.png: [^\n]*$"):
        score(config(tmp_path, *args[:2], "num_workers=1"))  # raised in the main process, one line


def test_max_count_ratio_null_scores_unequal_folders(folders, tmp_path):
    report = score(config(tmp_path, folders["real"], folders["few"], "max_count_ratio=null"))
    assert (report["num_real"], report["num_fake"]) == (N, 25)


@pytest.mark.parametrize(
    "real, fake, overrides, error, message",
    [
        (
            "real",
            "missing",
            [],
            DatasetError,
            r"^fake_dir=.*missing: not found \(expected a folder of images\)$",
        ),
        ("empty", "real", [], DatasetError, r"^real_dir=.*empty: no images in it or its subfolders"),
        (
            "real",
            "copy",
            ["min_images=61"],
            ConfigError,
            r"^real_dir=.*real: 60 images, fewer than min_images=61; ",
        ),
        (  # the config's default: the minimum shared with the translation metrics' flag
            "real",
            "copy",
            ["min_images=null"],
            ConfigError,
            rf"^real_dir=.*real: 60 images, fewer than min_images={MIN_COMPARABLE_IMAGES}; ",
        ),
        (
            "real",
            "few",
            [],
            ConfigError,
            r"real_dir has 60 images and fake_dir 25 \(2.40×, over max_count_ratio",
        ),
        (
            "real",
            "copy",
            ["kid_subset_size=61"],
            ConfigError,
            r"kid_subset_size=61 is larger than the 60 images",
        ),
        (
            "real",
            "colour",
            ["features=mnist"],
            ConfigError,
            r"features=mnist needs gray .* is in colour \(RGB\)",
        ),
        (
            "large",
            "noise",
            ["features=mnist"],
            ConfigError,
            r"in real_dir: .*000\.png is 40×40, larger than 32",
        ),
        (
            "real",
            "colour",
            [],
            ConfigError,
            r"features=auto: real_dir holds MNIST-like .* but fake_dir does not",
        ),
        (
            "real",
            "real/more",
            [],
            ConfigError,
            r"fake_dir=.*more lies inside real_dir=.*real: subfolders are read",
        ),
        ("real", "copy", ["features=clip"], ConfigError, r"features must be one of auto, mnist, inception"),
        ("real", "copy", ["out=<real>"], ConfigError, r"out=.*real: a folder; expected the path of a file"),
        (
            "real",
            "copy",
            ["max_count_ratio=0.5"],
            ConfigError,
            r"max_count_ratio must be null or a number >= 1",
        ),
        ("real", "copy", ["resize_mode=crop"], ConfigError, r"resize_mode must be one of pad, resize"),
        ("real", "copy", ["min_images=1"], ConfigError, r"min_images must be an integer >= 2"),
        ("real", "copy", ["batch_size=0"], ConfigError, r"batch_size must be an integer >= 1"),
    ],
)
def test_refusals_are_one_line(folders, tmp_path, real, fake, overrides, error, message):
    def where(name: str) -> Path:
        base, _, sub = name.partition("/")
        return folders.get(base, tmp_path / base) / sub

    overrides = [o.replace("<real>", str(folders["real"])) for o in overrides]
    with pytest.raises(error, match=message) as refused:
        score(config(tmp_path, where(real), where(fake), *overrides))
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "scores.json").exists()


def test_unset_folder_and_missing_cuda(folders, tmp_path):
    cfg = make_config([f"fake_dir={folders['copy']}"], tmp_path, "score")
    with pytest.raises(ConfigError, match=r"^real_dir must be set"):
        score(cfg)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"^device=cuda: no CUDA device is available here"):
            score(config(tmp_path, folders["real"], folders["copy"], "device=cuda"))


def test_the_entry_point_writes_scores_or_logs_one_line_and_exits_1(folders, tmp_path, caplog):
    """`main` as Hydra calls it with the composed config (a subprocess would add ~8 s of imports)."""
    caplog.set_level(logging.INFO, logger="gan_experiments.score")
    score_module.main(config(tmp_path / "ok", folders["real"], folders["copy"]))
    assert (tmp_path / "ok" / "scores.json").is_file()
    assert any(m.startswith("scores of ") and "written to" in m for m in caplog.messages)
    caplog.clear()
    with pytest.raises(SystemExit) as exited:
        score_module.main(config(tmp_path / "bad", folders["real"], folders["colour"], "features=mnist"))
    assert exited.value.code == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].getMessage().startswith("features=mnist needs gray images")
    assert not (tmp_path / "bad" / "scores.json").exists()


def test_a_translate_output_folder_counts_only_its_translations(folders, tmp_path):
    """`translate` writes index.html, inputs/ (and targets/) beside the translations: the sources must not
    be scored as samples (they would double the fake count and mix the two)."""
    translated = tmp_path / "translated"
    shutil.copytree(folders["copy"], translated)
    shutil.copytree(folders["noise"], translated / "inputs")
    shutil.copytree(folders["noise"], translated / "targets")
    (translated / "index.html").write_text("<table></table>")
    report = score(config(tmp_path / "run", folders["real"], translated))
    assert report["num_fake"] == N and report["metrics"]["fid"] < 1e-4
