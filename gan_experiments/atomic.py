"""Files written so that readers see the previous file or the complete new one, never a partial write:
exported graphs, scores.json, metrics.json, sample grids, the packed pretrained generators; and the one
rule every command applies to the paths it will write, before any work (`check_output_file`,
`check_output_folder`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gan_experiments.errors import ConfigError


def partial_name(out: Path) -> Path:
    """A hidden, unique sibling of `out` (same folder, so the final rename is atomic)."""
    return out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")


@contextmanager
def atomic_path(out: Path) -> Iterator[Path]:
    """A temporary path in `out`'s folder, flushed to disk and renamed to `out` when the block completes,
    removed when it fails. The writer creates the file itself, so it gets the usual permissions
    (mkstemp's would be 0600)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(out)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    """`path.write_text(text)` through `atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _check_creatable(option: str, value: object, path: Path) -> None:
    """What `path` needs before it can be created: its nearest existing ancestor is a folder (not a file)
    this process may write in."""
    for ancestor in path.parents:
        if not ancestor.exists():
            continue
        if not ancestor.is_dir():
            raise ConfigError(f"{option}={value}: a parent of it, {ancestor}, is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"{option}={value}: cannot write in {ancestor} (permission denied)")
        return


def check_output_file(option: str, value: object, example: str = "out.json") -> Path:
    """The file `option=value` names, checked before the command does any work (loads a model, computes
    a metric), so a bad output path costs nothing: not a folder (an existing file is replaced), and the
    folders above it existing or creatable, writable by this process. Returns the path (`~` expanded);
    `example` is the file name suggested when `value` is a folder."""
    path = Path(str(value)).expanduser()
    if not str(value) or path.is_dir():
        raise ConfigError(
            f"{option}={value}: a folder; expected the path of a file in a folder "
            f"(e.g. {option}={path / example})"
        )
    _check_creatable(option, value, path)
    return path


def check_output_folder(option: str, value: object, new: bool = False) -> Path:
    """The folder `option=value` names, checked before the command does any work: not a file, and
    existing or creatable under folders this process can write in; with `new`, also absent or empty, so
    that no earlier files are mixed in or overwritten. Returns the path (`~` expanded)."""
    path = Path(str(value)).expanduser()
    if not str(value):
        raise ConfigError(f"{option} must be the path of a folder, got an empty value")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option}={value}: a file, not a folder; choose a folder")
    if new and path.exists() and any(path.iterdir()):
        raise ConfigError(f"{option}={value}: exists and is not an empty folder; choose a new folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{option}={value}: cannot write in it (permission denied)")
        return path
    _check_creatable(option, value, path)
    return path
