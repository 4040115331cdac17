"""The few numbers a person reads on the console: which of a run's `metrics/*` are its headline, which
way is better for each, and how one measurement reads as one line.

TensorBoard keeps every number (per-digit coverage, KID, IS, …); the console gets the ones that say
whether the samples are good (docs/evaluation.md): FID against its real-vs-real floor, the spread over
the digits, label accuracy for a cGAN; L1/PSNR/SSIM for pix2pix, cycle L1 for CycleGAN, the share of
translations that keep their digit on the MNIST translation tasks, Inception FID where it was measured.
A run that logged none of them (a metric added later) shows the scalars it did log instead of nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Better = Literal["min", "max"]


@dataclass(frozen=True)
class Headline:
    """One headline metric: its name without `metrics/`, which way is better (None: a reference value
    such as the floor, never "best"), and whether it is a share shown in percent."""

    name: str
    better: Better | None
    percent: bool = False


HEADLINES: tuple[Headline, ...] = (
    Headline("fid", "min"),
    Headline("fid_floor", None),
    Headline("coverage_min", "max", percent=True),
    Headline("coverage_max", "min", percent=True),
    Headline("label_accuracy", "max", percent=True),
    Headline("modes", "max"),
    Headline("kl", "min"),
    Headline("kl_floor", None),
    Headline("l1", "min"),
    Headline("psnr", "max"),
    Headline("ssim", "max"),
    Headline("cycle_l1", "min"),
    Headline("digit_accuracy", "max", percent=True),
    Headline("fid_a", "min"),
    Headline("fid_b", "min"),
)
#: shown when a run logged no headline metric at all: its plain scalars, up to this many
FALLBACK_LIMIT = 6


def headlines_of(scores: Mapping[str, float]) -> list[Headline]:
    """The headline metrics among `scores` (names without `metrics/`), in the order above; for a run
    with none of them, its scalars without a per-item suffix (`coverage/3`), better-way unknown."""
    chosen = [h for h in HEADLINES if h.name in scores]
    if chosen:
        return chosen
    plain = sorted(name for name in scores if "/" not in name)
    return [Headline(name, None) for name in plain[:FALLBACK_LIMIT]]


def format_value(headline: Headline, value: float) -> str:
    if headline.percent:
        return f"{100 * value:.1f} %"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def image_counts(name: str, scores: Mapping[str, float], flag: bool = True) -> str:
    """What an Inception FID/KID of a translation rests on, for the text next to it: `120 vs 140 images`
    (generated vs real), with `, not comparable` (`flag`) when either count is below the minimum
    (metrics/image_to_image.py's `fid<suffix>_images`, `_real_images`, `_comparable`); "" for numbers
    without counts."""
    generated, real = scores.get(f"{name}_images"), scores.get(f"{name}_real_images")
    if generated is None or real is None:
        return ""
    note = "" if not flag or scores.get(f"{name}_comparable", True) else ", not comparable"
    return f"{int(generated)} vs {int(real)} images{note}"


def measurement_line(scores: Mapping[str, float]) -> str:
    """One measurement in words: `fid 12.4 (floor 3.7) · digits 8.1–11.9 % · labels 99.1 %`."""
    shown = {h.name: h for h in headlines_of(scores)}
    parts = []
    for name, headline in shown.items():
        value = format_value(headline, scores[name])
        if name == "fid_floor" and "fid" in shown:
            continue  # with the FID, in parentheses
        if name == "fid" and "fid_floor" in shown:
            parts.append(f"fid {value} (floor {format_value(shown['fid_floor'], scores['fid_floor'])})")
        elif name == "coverage_min" and "coverage_max" in shown:
            low, high = 100 * scores["coverage_min"], 100 * scores["coverage_max"]
            parts.append(f"digits {low:.1f}–{high:.1f} %")
        elif name == "coverage_max" and "coverage_min" in shown:
            continue
        elif name == "label_accuracy":
            parts.append(f"labels {value}")
        elif name == "digit_accuracy":
            parts.append(f"digits kept {value}")
        elif image_counts(name, scores):
            parts.append(f"{name} {value} ({image_counts(name, scores)})")
        else:
            parts.append(f"{name} {value}")
    return " · ".join(parts)


def best_index(headline: Headline, values: list[float]) -> int | None:
    """Index of the best of `values` (the latest on ties: the run still holds it), or None when the
    metric has no better way or no value is a number."""
    numbers = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
    if headline.better is None or not numbers:
        return None
    sign = 1 if headline.better == "max" else -1
    return max(numbers, key=lambda pair: (sign * pair[0], pair[1]))[1]
