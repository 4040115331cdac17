"""The printed table: every measurement, the failures, and the ratios between the variants."""

from __future__ import annotations

import math

from gan_lab.bench.configs import VARIANTS
from gan_lab.bench.timing import Measurement


def ratio(numerator: Measurement | None, denominator: Measurement | None) -> float:
    if numerator is None or denominator is None:
        return math.nan
    return numerator.ms_per_iter / denominator.ms_per_iter


def table(results: list[Measurement], failures: dict[str, str]) -> str:
    lines = [
        f"{'model':9} {'variant':10} {'batch':>5} {'size':>4} {'ms/iter':>9} {'images/s':>9} {'peak MiB':>9}",
    ]
    for r in results:
        lines.append(
            f"{r.model:9} {r.variant:10} {r.batch_size:5d} {r.image_size:4d} {r.ms_per_iter:9.2f} "
            f"{r.images_per_s:9.1f} {r.peak_memory_mib:9.0f}"
        )
    for key, reason in failures.items():
        lines.append(f"{key:20} failed: {reason}")
    if results:
        lines.append(f"peak memory: {results[0].memory_kind}")
    lines.append("")
    lines.append(f"{'model':9} {'b/a':>6} {'c/a':>6} {'a/c':>6}")
    for model in dict.fromkeys(r.model for r in results):
        by_variant = {r.variant: r for r in results if r.model == model}
        a, b, c = (by_variant.get(v) for v in VARIANTS)
        lines.append(f"{model:9} {ratio(b, a):6.2f} {ratio(c, a):6.2f} {ratio(a, c):6.2f}")
    return "\n".join(lines)
