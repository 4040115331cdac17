"""What a run prints: the lines that tell the user something, not a dependency's advertisements or its
deprecation notices about its own internals.

Each filter names one message of one library, so anything new or unexpected still shows:

- Lightning's "💡 Tip: … litlogger / litmodels" lines (advertisements for a hosted service);
- Lightning's "TPU available: False, using: 0 TPU cores" (always false on the machines this runs on;
  the GPU line next to it stays);
- torch's FutureWarning that Lightning 2.6 still uses `isinstance(treespec, LeafSpec)` internally (the
  user can do nothing about it);
- Lightning's UserWarning on resuming that "The dirpath has changed from …": every `train` command
  writes a new run directory, so every resume from a file changes it (the best-checkpoint callback then
  keeps the best of the resumed run, which is what its directory holds).

(Lightning's "`weights_only` was not set, defaulting to `False`" is not filtered: the project's own
`trainer.save_checkpoint` calls say `weights_only=False` instead.)

And one fix to where lines go: the log handlers print to the `sys.stdout`/`sys.stderr` of the moment
(`FollowingStreamHandler`), not those of when logging was configured. While the rich progress bar is
live it redirects both to print above itself; a handler holding the original stream wrote into the bar,
and the next refresh overwrote the line.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from typing import TextIO

LIGHTNING_INFO_LOGGER = "lightning.pytorch.utilities.rank_zero"
DROPPED_LIGHTNING_LINES = (
    re.compile(r"^💡 Tip: "),
    re.compile(r"^TPU available: False, using: 0 TPU cores$"),
)


class DropLightningNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(pattern.search(message) for pattern in DROPPED_LIGHTNING_LINES)


class FollowingStreamHandler(logging.StreamHandler):
    """A StreamHandler that writes to `sys.<name>` as it is when a record is emitted."""

    def __init__(self, name: str) -> None:
        self.stream_name = name
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return getattr(sys, self.stream_name)

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler.__init__ and setStream assign it; the stream is always the current one


#: loggers whose console handlers follow a redirected stdout/stderr: the root logger (Hydra's console
#: handler, which the project's loggers propagate to) and Lightning's own (it does not propagate)
CONSOLE_LOGGERS = ("", "lightning.pytorch")


def follow_redirected_streams() -> None:
    """Replace the plain stdout/stderr StreamHandlers of CONSOLE_LOGGERS with FollowingStreamHandlers
    (same level, format and filters; idempotent)."""
    for logger in map(logging.getLogger, CONSOLE_LOGGERS):
        for index, handler in enumerate(logger.handlers):
            if type(handler) is not logging.StreamHandler:
                continue
            name = next(
                (
                    n
                    for n in ("stdout", "stderr")
                    if handler.stream in (getattr(sys, n), getattr(sys, f"__{n}__"))
                ),
                None,
            )
            if name is None:
                continue
            following = FollowingStreamHandler(name)
            following.setLevel(handler.level)
            following.setFormatter(handler.formatter)
            following.filters = list(handler.filters)
            logger.handlers[index] = following


def quiet_console() -> None:
    """Install the filters and the following handlers (idempotent): the CLIs call this before they build
    a Trainer (after Hydra configured logging)."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(f, DropLightningNoise) for f in logger.filters):
        logger.addFilter(DropLightningNoise())
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )
    warnings.filterwarnings(
        "ignore",
        message=r"The dirpath has changed from .*, therefore `best_model_score`",
        category=UserWarning,
        module=r"lightning\.pytorch\.callbacks\.model_checkpoint",
    )
    follow_redirected_streams()
