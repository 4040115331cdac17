"""The official pix2pix/CycleGAN datasets: one table, and a download that never leaves a half
dataset behind.

`install_dataset` streams the archive to `<data_dir>/<archive>.part`, extracts it into a temporary
folder inside data_dir, checks the split folders, and only then renames the dataset folder into
place; the .part file and the temporary folder go away on success, failure and Ctrl-C alike. An
archive put at `<data_dir>/<archive>` by hand (offline machines) is used instead of downloading.

The server is the Berkeley one the official download scripts use. `GAN_EXPERIMENTS_DATASET_MIRROR`
replaces its host (a mirror keeps the `/pix2pix/datasets/` and `/cyclegan/datasets/` paths);
a DataModule's `download_url` replaces the whole URL of one dataset. Only urllib is used, so
`file://` URLs work too.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gan_experiments.data.folder_layouts import Layout, describe_layout, layout_problem
from gan_experiments.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

OFFICIAL_HOST = "http://efrosgans.eecs.berkeley.edu"
MIRROR_ENV = "GAN_EXPERIMENTS_DATASET_MIRROR"
TIMEOUT_S = 60.0
_CHUNK = 1 << 20

PAIRED_SPLITS = ("train", "val")
UNPAIRED_SPLITS = ("trainA", "trainB", "testA", "testB")
_CITYSCAPES_NOTE = (
    "the official server stopped distributing cityscapes (license): build it from cityscapes-dataset.com "
    "with the official repository's datasets/prepare_cityscapes_dataset.py"
)


@dataclass(frozen=True)
class DatasetEntry:
    """One official dataset: where it lives and which folders a complete copy has."""

    name: str
    layout: Layout
    folders: tuple[str, ...]
    note: str = ""

    @property
    def archive_name(self) -> str:
        return f"{self.name}.tar.gz" if self.layout == "paired" else f"{self.name}.zip"

    @property
    def url_path(self) -> str:
        project = "pix2pix" if self.layout == "paired" else "cyclegan"
        return f"{project}/datasets/{self.archive_name}"

    def url(self, mirror: str | None = None) -> str:
        """Archive URL on the official server, or on `mirror` (default: $GAN_EXPERIMENTS_DATASET_MIRROR)."""
        host = mirror or os.environ.get(MIRROR_ENV) or OFFICIAL_HOST
        return f"{host.rstrip('/')}/{self.url_path}"

    @property
    def layout_text(self) -> str:
        return describe_layout(self.layout, self.folders)


def _entries() -> list[DatasetEntry]:
    paired = {
        "facades": ("train", "val", "test"),
        "cityscapes": PAIRED_SPLITS,
        "maps": PAIRED_SPLITS,
        "edges2shoes": PAIRED_SPLITS,
        "edges2handbags": PAIRED_SPLITS,
        "night2day": ("train", "val", "test"),
    }
    unpaired = {
        name: UNPAIRED_SPLITS
        for name in (
            "apple2orange",
            "summer2winter_yosemite",
            "horse2zebra",
            "monet2photo",
            "cezanne2photo",
            "ukiyoe2photo",
            "vangogh2photo",
            "maps",
            "cityscapes",
            "facades",
            "iphone2dslr_flower",
        )
    }
    unpaired["ae_photos"] = ("testA",)  # test photos for the pretrained style models only
    unpaired["grumpifycat"] = ("trainA", "trainB")  # no test split (CUT evaluates on train)
    return [
        *(
            DatasetEntry(n, "paired", f, _CITYSCAPES_NOTE if n == "cityscapes" else "")
            for n, f in paired.items()
        ),
        *(
            DatasetEntry(n, "unpaired", f, _CITYSCAPES_NOTE if n == "cityscapes" else "")
            for n, f in unpaired.items()
        ),
    ]


#: (layout, name) → entry; facades, maps and cityscapes exist in both layouts as different archives
DATASETS: dict[tuple[Layout, str], DatasetEntry] = {(e.layout, e.name): e for e in _entries()}


def lookup(layout: Layout, name: str) -> DatasetEntry:
    """The table entry, or a ConfigError that lists the known names (and says when the name
    exists only in the other layout)."""
    entry = DATASETS.get((layout, name))
    if entry is not None:
        return entry
    other: Layout = "unpaired" if layout == "paired" else "paired"
    known = ", ".join(sorted(n for lay, n in DATASETS if lay == layout))
    article = "an" if other == "unpaired" else "a"
    hint = (
        f"; {name} is {article} {other} dataset: use {article} {other} data config"
        if (other, name) in DATASETS
        else ""
    )
    raise ConfigError(
        f"data.dataset={name!r} is not a known {layout} dataset (known: {known}){hint}; "
        f"for any other folder set data.root"
    )


class DownloadFailed(Exception):
    """Internal: why fetching or unpacking did not produce a dataset (turned into DatasetError)."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )


def fetch(url: str, destination: Path, timeout: float = TIMEOUT_S) -> None:
    """Stream `url` to `destination` with a progress bar; DownloadFailed says why it did not complete."""
    log.info("downloading %s to %s", url, destination)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "gan_experiments"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(destination, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            received = 0
            with _progress() as progress:
                task = progress.add_task(destination.name.removesuffix(".part"), total=total)
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    progress.update(task, advance=len(chunk))
    except urllib.error.HTTPError as error:
        raise DownloadFailed(f"HTTP {error.code}") from error
    except urllib.error.URLError as error:
        raise DownloadFailed(str(error.reason)) from error
    except TimeoutError as error:
        raise DownloadFailed(f"no data for {timeout:.0f} s") from error
    except (HTTPException, OSError, ValueError) as error:  # ValueError: a malformed URL
        raise DownloadFailed(str(error) or type(error).__name__) from error
    if total is not None and received != total:
        raise DownloadFailed(f"connection closed after {received} of {total} bytes")


def extract(archive: Path, destination: Path) -> None:
    """Unpack a .zip or .tar(.gz); a truncated or corrupt archive raises DownloadFailed."""
    kind = "zip" if archive.name.removesuffix(".part").endswith(".zip") else "tar.gz"
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(destination)
        else:
            with tarfile.open(archive, "r:*") as tarred:
                tarred.extractall(destination, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DownloadFailed(
            f"not a complete {kind} archive: {str(error) or type(error).__name__}"
        ) from error


def find_dataset_folder(extracted: Path, name: str, folders: Sequence[str]) -> Path:
    """The folder holding the split folders: `<name>/` as in the official archives, else the top
    level or any single top folder (repacked mirrors). DownloadFailed names what is missing."""
    candidates = [extracted / name, extracted]
    candidates += sorted(p for p in extracted.iterdir() if p.is_dir() and p.name not in (name, "__MACOSX"))
    for candidate in candidates:
        if candidate.is_dir() and all((candidate / folder).is_dir() for folder in folders):
            problem = layout_problem(candidate, folders)
            if problem:
                raise DownloadFailed(f"the archive's {problem}")
            return candidate
    base = extracted / name if (extracted / name).is_dir() else extracted
    problem = layout_problem(base, folders) or "split folders are missing"
    raise DownloadFailed(f"the archive's {name}/{problem}")


def install_dataset(entry: DatasetEntry, root: Path, url: str) -> None:
    """Download (or take the archive placed in root's parent), verify, and move into `root`.

    Raises DatasetError with one line: what failed, from where, and what to place by hand."""
    data_dir = root.parent
    data_dir.mkdir(parents=True, exist_ok=True)
    placed = data_dir / entry.archive_name
    part = data_dir / f"{entry.archive_name}.part"
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".extracting", dir=data_dir))
    use_placed = placed.is_file()
    source = f"{placed} is unusable" if use_placed else f"the archive from {url} is unusable"
    fix = f"replace or remove {placed.name}" if use_placed else "fix the URL"
    try:
        if not use_placed:
            try:
                fetch(url, part)
            except DownloadFailed:
                source = f"download failed from {url}"
                raise
        extract(placed if use_placed else part, staging)
        found = find_dataset_folder(staging, entry.name, entry.folders)
        if root.is_dir():
            root.rmdir()  # an empty folder; one with content is never replaced (see ensure_dataset)
        found.rename(root)
    except DownloadFailed as error:
        note = f"; {entry.note}" if entry.note else ""
        raise DatasetError(
            f"{entry.name} not found in {root}; {source} ({error}); place {entry.layout_text} there "
            f"or {fix}{note}"
        ) from error
    finally:
        part.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def offline_message(entry: DatasetEntry, root: Path, url: str) -> str:
    return (
        f"{entry.name} not found in {root} and data.download=false; place {entry.layout_text} there, "
        f"or put {entry.archive_name} from {url} in {root.parent}, or set data.download=true"
    )


def ensure_dataset(entry: DatasetEntry, root: Path, download: bool, url: str | None = None) -> None:
    """What `prepare_data` does: nothing when `root` has content (setup() reports what is missing in
    it); else unpack a placed archive, else download when allowed, else one line that says how."""
    root = Path(root)
    if root.is_dir() and any(root.iterdir()):
        return
    url = url or entry.url()
    if not download and not (root.parent / entry.archive_name).is_file():
        raise DatasetError(offline_message(entry, root, url))
    install_dataset(entry, root, url)
