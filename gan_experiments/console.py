"""What a run prints: the lines that tell the user something, not a dependency's advertisements or its
deprecation notices about its own internals.

Each filter names one message of one library, so anything new or unexpected still shows:

- Lightning's "💡 Tip: … litlogger / litmodels" lines (advertisements for a hosted service);
- Lightning's "TPU available: False, using: 0 TPU cores" (always false on the machines this runs on;
  the GPU line next to it stays);
- torch's FutureWarning that Lightning 2.6 still uses `isinstance(treespec, LeafSpec)` internally (the
  user can do nothing about it).
"""

from __future__ import annotations

import logging
import re
import warnings

LIGHTNING_INFO_LOGGER = "lightning.pytorch.utilities.rank_zero"
DROPPED_LIGHTNING_LINES = (
    re.compile(r"^💡 Tip: "),
    re.compile(r"^TPU available: False, using: 0 TPU cores$"),
)


class DropLightningNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(pattern.search(message) for pattern in DROPPED_LIGHTNING_LINES)


def quiet_console() -> None:
    """Install the filters (idempotent): the CLIs call this before they build a Trainer."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(f, DropLightningNoise) for f in logger.filters):
        logger.addFilter(DropLightningNoise())
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )
