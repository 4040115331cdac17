"""`python -m gan_experiments.score real_dir=… fake_dir=… [features=auto|mnist|inception] [out=…]`: FID and
KID of a folder of generated (or translated) images against a folder of real ones, no checkpoint needed,
so that this project's samples and another tool's (StudioGAN, mmgeneration, …) are measured with one
instrument.

- Both folders are read recursively: files with an image extension, decoded by PIL whatever their mode
  (hidden files and folders left out; unreadable files named in one line, or skipped and counted); 16-bit,
  32-bit integer and float images are scaled to 8 bits (`image_reading.to_8bit`), not clipped.
- `features=mnist`: the project's shipped MNIST classifier (`metrics.generative.MNISTGANMetrics`, the
  very computation behind `evaluate` and the training callback), for gray digits of at most 32 px; it
  adds the IS analogue and digit coverage of the fake folder, and the IS analogue of the real one.
- `features=inception`: InceptionV3 pool features (`metrics.inception`) into `FeatureDistances`, when the
  weights are on disk. `features=auto` (default) takes mnist when both folders hold gray images of at
  most 32 px, inception when neither does, and refuses folders of two kinds.

The numbers depend on the image counts, so every row of the table states both, and scores.json too;
see docs/evaluation.md ("Scores of two folders") for the rules that refuse mixed protocols.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image
from rich.console import Console
from rich.table import Table
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gan_experiments.atomic import check_output_file, write_text_atomically
from gan_experiments.cli import command_line, hydra_command
from gan_experiments.config import is_int, validate
from gan_experiments.data.image_reading import (
    DECODE_ERRORS,
    IMAGE_EXTENSIONS,
    decode_failure_reason,
    read_image,
    to_image,
)
from gan_experiments.devices import resolve_device
from gan_experiments.errors import ConfigError, DatasetError
from gan_experiments.metrics import inception
from gan_experiments.metrics.classifier import (
    NATIVE_SIZE,
    WEIGHTS_PATH,
    fit_to_classifier,
    load_mnist_classifier,
    read_record,
)
from gan_experiments.metrics.distances import MIN_COMPARABLE_IMAGES, MIN_SAMPLES, FeatureDistances
from gan_experiments.metrics.generative import MNISTGANMetrics
from gan_experiments.metrics.modes import ModeCounts, read_modes

log = logging.getLogger("gan_experiments.score")

FEATURES = ("auto", "mnist", "inception", "stacked_mnist")
#: the index page `translate` writes beside its outputs, inputs/ and targets/
TRANSLATE_INDEX = "index.html"
RESIZE_MODES = ("pad", "resize")
#: the largest side of an image the MNIST classifier scores (32 px: this project's padded digits)
MNIST_MAX_SIZE = 32
#: PIL modes with one colour channel (alpha aside)
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: largest channel spread (of 255) of an RGB file that still counts as gray: tools that save digits with
#: torchvision's save_image store three equal channels, and JPEG may round them apart by a level
GRAY_TOLERANCE = 2
_SKIP_HINT = "fix or remove it, or set skip_bad_images=true"

SCORE_MEANINGS = {
    "fid": "Fréchet distance of the two folders' features (lower is better; 0 for the same images)",
    "kid_mean": "kernel distance of the same features, mean over subsets (unbiased, can be < 0)",
    "kid_std": "its standard deviation over subsets (differences below it are noise)",
    "is_mean": "fake: Inception Score analogue, 1 = one digit or unreadable … 10 (→ is_real_mean)",
    "is_std": "its standard deviation over splits",
    "coverage_min": "fake: share of the rarest digit (0.1 when balanced)",
    "coverage_max": "fake: share of the most common digit (0.1 when balanced)",
    "digits_under_5pct": "fake: digits with < 5 % of the images (0; 9 = collapse)",
    "coverage_kl": "fake: KL(digit histogram ‖ uniform): 0 balanced … 2.30 one digit",
    "is_real_mean": "real: Inception Score analogue of the real folder (the target for is_mean)",
    "modes": "fake: Stacked MNIST modes (digit triples, each channel read) among the images, of 1,000",
    "kl": "fake: KL(mode histogram ‖ uniform), nats: 0 balanced … 6.91 one mode",
    "modes_floor": "real: modes among the real images (1,000 for enough real triples)",
    "kl_floor": "real: KL of the real images: the sampling floor at this count",
}
#: which folders a key describes: both (a distance), or one of them
FAKE_ONLY = ("is_mean", "is_std", "coverage", "digits_under_5pct", "modes", "kl")
REAL_ONLY = ("is_real_mean", "modes_floor", "kl_floor")


# ----------------------------------------------------------------------------------------------
# options


def check_options(cfg: DictConfig) -> None:
    """The options `config.validate` does not know, one line per problem; `min_images: null` becomes the
    shared minimum (MIN_COMPARABLE_IMAGES, the count below which translation FIDs are flagged)."""
    if cfg.min_images is None:
        cfg.min_images = MIN_COMPARABLE_IMAGES
    if cfg.features not in FEATURES:
        raise ConfigError(f"features must be one of {', '.join(FEATURES)}, got {cfg.features!r}")
    if cfg.resize_mode not in RESIZE_MODES:
        raise ConfigError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, got {cfg.resize_mode!r}")
    for key, low in (("min_images", MIN_SAMPLES), ("kid_subsets", 1), ("kid_subset_size", 2)):
        if not is_int(cfg[key]) or cfg[key] < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {cfg[key]!r}")
    ratio = cfg.max_count_ratio
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio < 1):
        raise ConfigError(f"max_count_ratio must be null or a number >= 1, got {ratio!r}")
    if not is_int(cfg.seed):
        raise ConfigError(f"seed must be an integer, got {cfg.seed!r}")
    if not isinstance(cfg.skip_bad_images, bool):
        raise ConfigError(f"skip_bad_images must be true or false, got {cfg.skip_bad_images!r}")
    if not cfg.out:
        raise ConfigError("out must be a file path (default: scores.json in the run folder)")
    check_output_file("out", cfg.out, example="scores.json")


# ----------------------------------------------------------------------------------------------
# folders


@dataclass
class Folder:
    """The readable images of one folder and its subfolders, with (width, height) and PIL mode from the
    file headers (no decoding)."""

    role: str  # "real_dir" or "fake_dir": the option that named it, for messages
    root: Path
    paths: list[Path]
    sizes: list[tuple[int, int]]
    modes: list[str]
    skipped: int = 0
    images: Tensor | None = field(default=None, repr=False)  # mnist: the decoded digits, (N, 1, 28, 28)

    def __len__(self) -> int:
        return len(self.paths)

    def size_range(self) -> str:
        sides = {(w, h) for w, h in self.sizes}
        if len(sides) == 1:
            (width, height), *_ = sides
            return f"{width}×{height}"
        return f"{min(min(s) for s in sides)}–{max(max(s) for s in sides)} px"


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def list_images(role: str, folder: str | Path) -> tuple[Path, list[Path]]:
    """Image files (by extension) in `folder` and below, sorted by relative path; hidden files and
    folders (`.ipynb_checkpoints`, macOS `._x.png`) are left out."""
    root = Path(str(folder)).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{role}={folder}: not found (expected a folder of images)")
    # a folder written by `translate` holds its sources in inputs/ (and targets/) beside the translations:
    # only the translations at its top level are the sample
    translated = (root / TRANSLATE_INDEX).is_file() and (root / "inputs").is_dir()
    if translated:
        log.info(
            "%s=%s: a translate output folder; scoring its translations, not inputs/ or targets/", role, root
        )
    paths = sorted(
        path
        for path in (root.glob("*") if translated else root.rglob("*"))
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file() and not _hidden(path, root)
    )
    if not paths:
        raise DatasetError(
            f"{role}={folder}: no images in it or its subfolders "
            f"(expected files ending in {', '.join(IMAGE_EXTENSIONS)})"
        )
    return root, paths


def scan_folder(role: str, folder: str | Path, skip_bad_images: bool) -> Folder:
    """List and read every header, so unreadable input fails before any network is loaded."""
    root, paths = list_images(role, folder)
    good: list[Path] = []
    sizes: list[tuple[int, int]] = []
    modes: list[str] = []
    bad: list[Path] = []
    for path in paths:
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
                modes.append(image.mode)
            good.append(path)
        except DECODE_ERRORS as error:
            if not skip_bad_images:
                reason = decode_failure_reason(error)
                raise DatasetError(f"{role}: cannot read image {path}: {reason}; {_SKIP_HINT}") from error
            bad.append(path)
    if bad:
        log.warning("%s=%s: skipped %d unreadable image(s), first %s", role, folder, len(bad), bad[0])
        if not good:
            raise DatasetError(f"{role}={folder}: all {len(bad)} images are unreadable (first: {bad[0]})")
    return Folder(role, root, good, sizes, modes, skipped=len(bad))


def check_overlap(real: Folder, fake: Folder) -> None:
    a, b = real.root.resolve(), fake.root.resolve()
    if a == b or a.is_relative_to(b) or b.is_relative_to(a):
        inner, outer = (real, fake) if a.is_relative_to(b) else (fake, real)
        raise ConfigError(
            f"{inner.role}={inner.root} lies inside {outer.role}={outer.root}: subfolders are read too, "
            "so the same files would count on both sides; give two separate folders"
        )


def check_counts(cfg: DictConfig, real: Folder, fake: Folder, num_real: int, num_fake: int) -> None:
    """The protocol rules on image counts; called on the listed counts and again on the encoded ones
    (skip_bad_images can drop files whose header reads but whose data does not)."""
    for folder, count in ((real, num_real), (fake, num_fake)):
        if count < cfg.min_images:
            raise ConfigError(
                f"{folder.role}={folder.root}: {count} images, fewer than min_images={cfg.min_images}; "
                "FID/KID of so few images are mostly sampling noise (published FIDs use 10,000–50,000); "
                f"min_images={max(MIN_SAMPLES, count)} scores them anyway"
            )
    ratio = max(num_real, num_fake) / min(num_real, num_fake)
    if cfg.max_count_ratio is not None and ratio > cfg.max_count_ratio:
        raise ConfigError(
            f"real_dir has {num_real} images and fake_dir {num_fake} ({ratio:.2f}×, over "
            f"max_count_ratio={cfg.max_count_ratio}): FID's bias depends on both counts, so compare "
            "scores only at equal counts; use folders of similar size, or max_count_ratio=null"
        )
    smaller = real if num_real <= num_fake else fake
    if cfg.kid_subset_size > min(num_real, num_fake):
        raise ConfigError(
            f"kid_subset_size={cfg.kid_subset_size} is larger than the {min(num_real, num_fake)} images of "
            f"{smaller.role}={smaller.root}; set kid_subset_size<={min(num_real, num_fake)}"
        )


# ----------------------------------------------------------------------------------------------
# choosing the feature network


def is_gray(image: Image.Image) -> bool:
    """One channel, or three channels that agree (within JPEG rounding)."""
    if image.mode in GRAY_MODES:
        return True
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    return int((rgb.max(axis=2) - rgb.min(axis=2)).max(initial=0)) <= GRAY_TOLERANCE


def too_large(folder: Folder) -> str | None:
    """Why the headers already rule out MNIST features, or None."""
    for path, (width, height) in zip(folder.paths, folder.sizes, strict=True):
        if max(width, height) > MNIST_MAX_SIZE:
            return f"{path} is {width}×{height}, larger than {MNIST_MAX_SIZE} px"
    return None


def read_digits(folder: Folder, resize_mode: str, skip_bad_images: bool) -> tuple[Tensor | None, str | None]:
    """Decode a folder of small images as the classifier's input, (N, 1, 28, 28) in [-1, 1]; or
    (None, reason) at the first image in colour. Small images decode fast, so this runs up front."""
    kept: list[Tensor] = []
    dropped = 0
    for path in folder.paths:
        try:
            image = read_image(path)
        except DatasetError as error:
            if not skip_bad_images:
                raise DatasetError(f"{folder.role}: {error}; {_SKIP_HINT}") from error
            log.warning("%s: skipping unreadable image %s", folder.role, path)
            dropped += 1
            continue
        if not is_gray(image):
            return None, f"{path} is in colour ({image.mode})"
        kept.append(to_image(image, 1).as_subclass(Tensor))
    if not kept:
        raise DatasetError(f"{folder.role}={folder.root}: no image can be decoded")
    folder.skipped += dropped
    digits = torch.empty(len(kept), 1, NATIVE_SIZE, NATIVE_SIZE)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(kept):
        by_size.setdefault(tuple(image.shape), []).append(i)
    for rows in by_size.values():  # one resize call per image size, the classifier's own preprocessing
        batch = torch.stack([kept[i] for i in rows]).float() / 127.5 - 1
        digits[rows] = fit_to_classifier(batch, resize_mode)
    return digits, None


def digit_like(folder: Folder, cfg: DictConfig) -> str | None:
    """None when the folder holds MNIST-like images (gray, at most 32 px; kept decoded on the folder),
    else the first reason it does not."""
    reason = too_large(folder)
    if reason is None:
        folder.images, reason = read_digits(folder, cfg.resize_mode, cfg.skip_bad_images)
    return reason


def read_stacked_digits(folder: Folder, cfg: DictConfig) -> Tensor:
    """Decode a folder of Stacked MNIST images (RGB, at most 32 px, one digit per channel) as the
    classifier reads each channel: (N, 3, 28, 28) in [-1, 1]."""
    reason = too_large(folder)
    if reason is not None:
        raise ConfigError(f"features=stacked_mnist needs images of at most {MNIST_MAX_SIZE} px; {reason}")
    kept: list[Tensor] = []
    for path in folder.paths:
        try:
            kept.append(to_image(read_image(path), 3).as_subclass(Tensor))
        except DatasetError as error:
            if not cfg.skip_bad_images:
                raise DatasetError(f"{folder.role}: {error}; {_SKIP_HINT}") from error
            folder.skipped += 1
    if not kept:
        raise DatasetError(f"{folder.role}={folder.root}: no image can be decoded")
    stacked = torch.empty(len(kept), 3, NATIVE_SIZE, NATIVE_SIZE)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(kept):
        by_size.setdefault(tuple(image.shape), []).append(i)
    for rows in by_size.values():
        batch = torch.stack([kept[i] for i in rows]).float() / 127.5 - 1
        channels = batch.reshape(-1, 1, *batch.shape[-2:])
        stacked[rows] = fit_to_classifier(channels, cfg.resize_mode).view(
            len(rows), 3, NATIVE_SIZE, NATIVE_SIZE
        )
    return stacked


def choose_features(cfg: DictConfig, real: Folder, fake: Folder) -> str:
    if cfg.features == "inception":
        return "inception"
    if cfg.features == "stacked_mnist":
        for folder in (real, fake):
            folder.images = read_stacked_digits(folder, cfg)
        return "stacked_mnist"
    reasons = {folder.role: digit_like(folder, cfg) for folder in (real, fake)}
    if cfg.features == "mnist":
        for role, reason in reasons.items():
            if reason is not None:
                raise ConfigError(
                    f"features=mnist needs gray images of at most {MNIST_MAX_SIZE} px (MNIST-like digits), "
                    f"but in {role}: {reason}; use features=inception"
                )
        return "mnist"
    like = [role for role, reason in reasons.items() if reason is None]
    if len(like) == 1:
        (other,) = (role for role in reasons if role not in like)
        raise ConfigError(
            f"features=auto: {like[0]} holds MNIST-like images (gray, at most {MNIST_MAX_SIZE} px) but "
            f"{other} does not ({reasons[other]}): the folders hold different kinds of images; check "
            "them, or set features=inception to score them anyway"
        )
    return "mnist" if like else "inception"


def load_inception(cfg: DictConfig) -> inception.InceptionFeatures:
    """The InceptionV3 feature network, or a one-line ConfigError carrying `metrics.inception`'s own
    message (no torch-fidelity / no weights file / unreadable file). That module warns once per process
    and returns None; here the warning is captured and becomes the error, and the once-flag is left as
    it was, so a later warning in the same process (training) still shows."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warned, inception._warned = inception._warned, False
        try:
            network = inception.load_inception_features(cfg.inception_weights)
        finally:
            inception._warned = warned
    if network is None:
        messages = [str(w.message) for w in caught if "Inception" in str(w.message)]
        reason = messages[0].removeprefix("Inception FID/KID skipped: ") if messages else "not loadable"
        chose = " chose inception (the images are not MNIST-like)" if cfg.features == "auto" else ""
        raise ConfigError(f"features={cfg.features}{chose}: {reason}")
    return network


# ----------------------------------------------------------------------------------------------
# scoring


def score_mnist(cfg: DictConfig, real: Folder, fake: Folder, device: torch.device) -> dict[str, float]:
    """evaluate's MNIST computation on two fixed sets of images: fid/kid, the fake folder's IS analogue
    and digit coverage, and the IS analogue of the real folder (`is_real_mean`)."""
    assert real.images is not None and fake.images is not None
    metrics = MNISTGANMetrics(
        num_samples=max(MIN_SAMPLES, len(fake.images)),
        batch_size=cfg.batch_size,
        device=device,
        seed=cfg.seed,
        resize_mode=cfg.resize_mode,
        kid_subsets=cfg.kid_subsets,
        kid_subset_size=cfg.kid_subset_size,
    )
    metrics.reference(real.images)
    scores = metrics.score_images(fake.images)
    scores["is_real_mean"] = metrics.score_images(real.images)["is_mean"]
    return scores


def score_modes(cfg: DictConfig, real: Folder, fake: Folder, device: torch.device) -> dict[str, float]:
    """Stacked MNIST: modes and KL of the fake folder, and of the real one as the floor at its count."""
    assert real.images is not None and fake.images is not None
    classifier = load_mnist_classifier().to(device).eval()
    scores: dict[str, float] = {}
    for images, suffix in ((fake.images, ""), (real.images, "_floor")):
        counts = ModeCounts()
        with torch.no_grad():
            for start in range(0, len(images), cfg.batch_size):
                counts.update(read_modes(classifier, images[start : start + cfg.batch_size].to(device)))
        scores[f"modes{suffix}"] = float(counts.covered())
        scores[f"kl{suffix}"] = counts.kl_from_uniform()
    return scores


class ImageFiles(Dataset):
    """Decoded RGB images in [-1, 1], (3, H, W), or the one-line reason a file cannot be decoded: the
    error is raised in the main process, since a DataLoader worker would wrap it in its traceback."""

    def __init__(self, folder: Folder) -> None:
        self.paths = folder.paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Tensor | str:
        try:
            image = read_image(self.paths[index])
        except DatasetError as error:
            return str(error)
        return to_image(image, 3).as_subclass(Tensor).float() / 127.5 - 1


def keep_as_list(batch: list[Tensor | str]) -> list[Tensor | str]:
    """DataLoader collate: images may differ in size, so they stay a list (stacked per size later)."""
    return batch


def same_size_groups(images: Sequence[Tensor]) -> list[Tensor]:
    groups: dict[tuple[int, ...], list[Tensor]] = {}
    for image in images:
        groups.setdefault(tuple(image.shape), []).append(image)
    return [torch.stack(group) for group in groups.values()]


def score_inception(
    cfg: DictConfig, real: Folder, fake: Folder, device: torch.device
) -> tuple[dict[str, float], tuple[int, int]]:
    """Inception FID/KID; the images stream through a DataLoader (a photo folder does not fit in memory)."""
    network = load_inception(cfg).to(device)
    distances = FeatureDistances(
        network.num_features,
        keep_real=True,
        kid_subsets=cfg.kid_subsets,
        kid_subset_size=cfg.kid_subset_size,
        seed=cfg.seed,
        sync_on_compute=False,
    ).to(device)
    for folder, real_side in ((real, True), (fake, False)):
        loader = DataLoader(
            ImageFiles(folder),
            batch_size=cfg.batch_size,
            num_workers=cfg.num_workers,
            collate_fn=keep_as_list,
        )
        for batch in loader:
            for error in (item for item in batch if isinstance(item, str)):
                if not cfg.skip_bad_images:
                    raise DatasetError(f"{folder.role}: {error}; {_SKIP_HINT}")
                log.warning("%s: skipped an unreadable image: %s", folder.role, error)
            for images in same_size_groups([item for item in batch if isinstance(item, Tensor)]):
                with torch.no_grad(), torch.autocast(device.type, enabled=False):
                    distances.update(network(images.to(device)), real=real_side)
    counts = distances.counts()
    real.skipped += len(real) - counts[0]
    fake.skipped += len(fake) - counts[1]
    check_counts(cfg, real, fake, *counts)
    return distances.compute(), counts


# ----------------------------------------------------------------------------------------------
# report


def feature_network(features: str, cfg: DictConfig) -> dict[str, Any]:
    """What measured: a short name for the table's rows, a description for its title, and the weights
    file with its identity for scores.json (FIDs compare only when measured by the same weights)."""
    if features in ("mnist", "stacked_mnist"):
        sha = read_record(WEIGHTS_PATH)["sha256"]
        read = "each channel's digit" if features == "stacked_mnist" else "128-d"
        return {
            "name": features,
            "description": f"MNIST classifier sha256 {sha[:12]}…, {read}",
            "weights": str(WEIGHTS_PATH),
            "sha256": sha,
        }
    weights = inception.find_weights(cfg.inception_weights)
    return {
        "name": "inception",
        "description": f"InceptionV3 {weights.name if weights else ''}, 2048-d pool",
        "weights": str(weights),
        "sha256": None,
    }


def sides(name: str, num_real: int, num_fake: int) -> tuple[str, str]:
    """The image counts a number rests on: both folders for a distance, one for a folder's own score."""
    if name.startswith(REAL_ONLY):
        return str(num_real), "—"
    if name.startswith(FAKE_ONLY):
        return "—", str(num_fake)
    return str(num_real), str(num_fake)


def table_rows(metrics: dict[str, float]) -> list[tuple[str, str, str]]:
    """(metric, value, meaning); the ten per-digit shares share one row (scores.json keeps each)."""
    rows, shares = [], [value for name, value in metrics.items() if name.startswith("coverage/")]
    for name, value in metrics.items():
        if name == "coverage/0":
            rows.append(("coverage/0…9", "", "fake: digit shares " + " ".join(f"{v:.3f}" for v in shares)))
        elif not name.startswith("coverage/"):
            rows.append((name, f"{value:.4g}", SCORE_MEANINGS.get(name, "")))
    return rows


def print_table(report: dict[str, Any], console: Console | None = None) -> None:
    """Every number with the image counts of both folders and the feature network next to it."""
    network = report["feature_network"]
    title = (
        f"real {report['real_dir']} ({report['num_real']} images)\n"
        f"fake {report['fake_dir']} ({report['num_fake']} images)\n"
        f"features: {network['description']}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for column in ("value", "real", "fake"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("features", no_wrap=True)
    table.add_column("meaning", style="dim")
    for name, value, text in table_rows(report["metrics"]):
        num_real, num_fake = sides(name, report["num_real"], report["num_fake"])
        table.add_row(name, value, num_real, num_fake, network["name"], text)
    (console or Console()).print(table)


def json_safe(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


# ----------------------------------------------------------------------------------------------
# the command


def score(cfg: DictConfig) -> dict[str, Any]:
    """Check the protocol, compute the scores, print them, write scores.json; returns the report."""
    validate(cfg)
    check_options(cfg)
    device = resolve_device(cfg.device)
    start = time.perf_counter()
    real = scan_folder("real_dir", cfg.real_dir, cfg.skip_bad_images)
    fake = scan_folder("fake_dir", cfg.fake_dir, cfg.skip_bad_images)
    check_overlap(real, fake)
    check_counts(cfg, real, fake, len(real), len(fake))
    features = choose_features(cfg, real, fake)
    if features in ("mnist", "stacked_mnist"):
        assert real.images is not None and fake.images is not None
        counts = len(real.images), len(fake.images)
        check_counts(cfg, real, fake, *counts)
        scores = (score_mnist if features == "mnist" else score_modes)(cfg, real, fake, device)
    else:
        scores, counts = score_inception(cfg, real, fake, device)
    seconds = time.perf_counter() - start
    report = {
        "real_dir": str(real.root.resolve()),
        "fake_dir": str(fake.root.resolve()),
        "num_real": counts[0],
        "num_fake": counts[1],
        "skipped": {"real_dir": real.skipped, "fake_dir": fake.skipped},
        "image_sizes": {"real_dir": real.size_range(), "fake_dir": fake.size_range()},
        "features": features,
        "feature_network": feature_network(features, cfg),
        "metrics": scores,
        "settings": {
            "features": cfg.features,
            "resize_mode": cfg.resize_mode if features in ("mnist", "stacked_mnist") else None,
            "min_images": cfg.min_images,
            "max_count_ratio": cfg.max_count_ratio,
            "kid_subsets": cfg.kid_subsets,
            "kid_subset_size": cfg.kid_subset_size,
            "seed": cfg.seed,
            "batch_size": cfg.batch_size,
            "device": str(device),
        },
        "command": command_line("gan_experiments.score"),
        "seconds": round(seconds, 2),
    }
    out = Path(str(cfg.out)).expanduser()
    safe = {**report, "metrics": {name: json_safe(value) for name, value in scores.items()}}
    write_text_atomically(out, json.dumps(safe, indent=2, ensure_ascii=False) + "\n")
    print_table(report)
    log.info("scores of %s against %s written to %s (%.1f s)", fake.root, real.root, out, seconds)
    return report


main = hydra_command(score, "score", log)


if __name__ == "__main__":
    main()
