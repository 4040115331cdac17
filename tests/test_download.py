"""Downloads against a loopback HTTP server serving synthetic archives in the official layouts:
verify, extract, install atomically, and leave nothing dataset-like behind on any failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from synthetic_images import pack_dataset, truncate, write_paired_dataset, write_unpaired_dataset

from gan_experiments.data import download
from gan_experiments.data.download import DATASETS, MIRROR_ENV, OFFICIAL_HOST, lookup
from gan_experiments.data.translation import PairedImageDataModule, UnpairedImageDataModule
from gan_experiments.errors import ConfigError, DatasetError

OPTIONS = {"image_size": 32, "batch_size": 2, "num_workers": 0, "pin_memory": False}
H2Z = "cyclegan/datasets/horse2zebra.zip"
E2S = "pix2pix/datasets/edges2shoes.tar.gz"


@dataclass
class Server:
    url: str
    files: Path
    requests: list[str] = field(default_factory=list)

    def publish(self, dataset_dir: Path, path: str, top_level: str | None = None) -> Path:
        return pack_dataset(dataset_dir, self.files / path, top_level)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A loopback mirror of the official server; `/short/<path>` promises more bytes than it sends."""
    files = tmp_path / "served"
    files.mkdir()
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(files), **kwargs)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path.startswith("/short/"):
                data = (files / self.path.removeprefix("/short/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url = f"http://127.0.0.1:{httpd.server_port}"
    monkeypatch.setenv(MIRROR_ENV, url)
    yield Server(url, files, requests)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    return {
        "edges2shoes": write_paired_dataset(tmp_path / "src" / "edges2shoes", 4, 2),
        "horse2zebra": write_unpaired_dataset(tmp_path / "src" / "horse2zebra", 3, 4),
    }


def left_in(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------- success


@pytest.mark.parametrize(
    ("module", "name", "path"),
    [(PairedImageDataModule, "edges2shoes", E2S), (UnpairedImageDataModule, "horse2zebra", H2Z)],
)
def test_prepare_data_downloads_once_and_setup_works(
    module, name: str, path: str, server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    server.publish(sources[name], path)
    data_dir = tmp_path / "data"
    dm = module(data_dir=data_dir, dataset=name, **OPTIONS)
    dm.prepare_data()
    assert server.requests == [f"/{path}"]
    assert left_in(data_dir) == [name]  # no archive, .part or staging folder left over
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["A"].shape == (2, 3, 32, 32)
    module(data_dir=data_dir, dataset=name, **OPTIONS).prepare_data()
    assert len(server.requests) == 1


def test_download_url_and_archives_without_a_top_folder(
    server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    server.publish(sources["horse2zebra"], "elsewhere/h2z.zip", top_level="")
    dm = UnpairedImageDataModule(
        data_dir=tmp_path / "data",
        dataset="horse2zebra",
        download_url=f"{server.url}/elsewhere/h2z.zip",
        **OPTIONS,
    )
    dm.prepare_data()
    assert (tmp_path / "data" / "horse2zebra" / "trainB").is_dir()


def test_archive_placed_by_hand_is_used_offline(
    server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    pack_dataset(sources["edges2shoes"], data_dir / "edges2shoes.tar.gz")
    PairedImageDataModule(data_dir=data_dir, dataset="edges2shoes", download=False, **OPTIONS).prepare_data()
    assert server.requests == []
    assert left_in(data_dir) == ["edges2shoes", "edges2shoes.tar.gz"]
    assert len(list((data_dir / "edges2shoes" / "train").iterdir())) == 4


def test_existing_folder_is_never_replaced(server: Server, sources: dict[str, Path], tmp_path: Path) -> None:
    server.publish(sources["horse2zebra"], H2Z)
    partial = write_unpaired_dataset(tmp_path / "data" / "horse2zebra", 2, 0, 0, 0)
    dm = UnpairedImageDataModule(data_dir=tmp_path / "data", dataset="horse2zebra", **OPTIONS)
    dm.prepare_data()
    assert server.requests == []
    with pytest.raises(DatasetError) as error:
        dm.setup("fit")
    assert str(partial / "trainB") in one_line(error)


# ---------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("module", "name", "path"),
    [(PairedImageDataModule, "edges2shoes", E2S), (UnpairedImageDataModule, "horse2zebra", H2Z)],
)
def test_truncated_archive_leaves_nothing(
    module, name: str, path: str, server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    truncate(server.publish(sources[name], path), 0.6)
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError) as error:
        module(data_dir=data_dir, dataset=name, **OPTIONS).prepare_data()
    message = one_line(error)
    assert f"{server.url}/{path}" in message and "archive" in message
    assert left_in(data_dir) == []


def test_archive_missing_a_split_leaves_nothing(
    server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    source = sources["horse2zebra"]
    for image in (source / "trainB").iterdir():
        image.unlink()
    (source / "trainB").rmdir()
    server.publish(source, H2Z)
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError) as error:
        UnpairedImageDataModule(data_dir=data_dir, dataset="horse2zebra", **OPTIONS).prepare_data()
    assert "trainB/" in one_line(error) and "trainA/ trainB/ testA/ testB/" in str(error.value)
    assert left_in(data_dir) == []


def test_http_404_is_one_line_with_the_url(server: Server, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError) as error:
        UnpairedImageDataModule(data_dir=data_dir, dataset="horse2zebra", **OPTIONS).prepare_data()
    message = one_line(error)
    assert "HTTP 404" in message and f"{server.url}/{H2Z}" in message
    assert "place trainA/ trainB/ testA/ testB/ with images there" in message
    assert left_in(data_dir) == []


def test_connection_closed_early_leaves_nothing(
    server: Server, sources: dict[str, Path], tmp_path: Path
) -> None:
    server.publish(sources["edges2shoes"], E2S)
    data_dir = tmp_path / "data"
    dm = PairedImageDataModule(
        data_dir=data_dir, dataset="edges2shoes", download_url=f"{server.url}/short/{E2S}", **OPTIONS
    )
    with pytest.raises(DatasetError) as error:
        dm.prepare_data()
    assert "connection closed after" in one_line(error)
    assert left_in(data_dir) == []


def test_interrupted_download_leaves_nothing(
    server: Server, sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Interrupting:
        def __enter__(self) -> Interrupting:
            return self

        def __exit__(self, *args) -> None:
            pass

        def add_task(self, *args, **kwargs) -> int:
            return 0

        def update(self, *args, **kwargs) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(download, "_progress", Interrupting)
    server.publish(sources["horse2zebra"], H2Z)
    data_dir = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        UnpairedImageDataModule(data_dir=data_dir, dataset="horse2zebra", **OPTIONS).prepare_data()
    assert left_in(data_dir) == []


def test_offline_without_data_says_what_to_place(server: Server, tmp_path: Path) -> None:
    dm = PairedImageDataModule(data_dir=tmp_path / "data", dataset="edges2shoes", download=False, **OPTIONS)
    with pytest.raises(DatasetError) as error:
        dm.prepare_data()
    message = one_line(error)
    assert f"{server.url}/{E2S}" in message and "train/ val/ with A|B images side by side" in message
    assert "data.download=false" in message and server.requests == []


# ---------------------------------------------------------------------------------------------- table


def test_table_has_the_official_names_urls_and_layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert lookup("paired", "edges2shoes").url() == f"{OFFICIAL_HOST}/pix2pix/datasets/edges2shoes.tar.gz"
    assert lookup("unpaired", "horse2zebra").url() == f"{OFFICIAL_HOST}/cyclegan/datasets/horse2zebra.zip"
    for shared in ("facades", "maps", "cityscapes"):
        assert DATASETS["paired", shared].archive_name != DATASETS["unpaired", shared].archive_name
    paired = {name for layout, name in DATASETS if layout == "paired"}
    assert paired == {"facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"}
    assert len(DATASETS) == 6 + 13
    with pytest.raises(ConfigError, match="unpaired dataset"):
        lookup("paired", "horse2zebra")
