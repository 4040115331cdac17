"""Files written so that readers see the previous file or the complete new one, never a partial write:
exported graphs, scores.json, the packed pretrained generators."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
