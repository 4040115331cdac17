"""Reading what a run wrote to TensorBoard (scalars, images, hparams) for assertions."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def load_events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def scalar_tags(run_dir: Path) -> set[str]:
    return set(load_events(run_dir).Tags()["scalars"])


def image_tags(run_dir: Path) -> set[str]:
    return set(load_events(run_dir).Tags()["images"])
