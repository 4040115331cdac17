"""The matrix's results as JSON (every number) and as markdown tables (docs/results/mnist_quality.md)."""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

RESULTS_FILE = "quality.json"
TABLE_FILE = "quality.md"


def load_results(out: Path) -> dict[str, Any]:
    path = out / RESULTS_FILE
    return json.loads(path.read_text()) if path.is_file() else {"settings": {}, "rows": {}}


def save_results(out: Path, results: dict[str, Any]) -> None:
    """Written after every row (through a temporary file), so an interrupted matrix keeps its rows."""
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f"{RESULTS_FILE}.part"
    partial.write_text(json.dumps(results, indent=2) + "\n")
    partial.replace(out / RESULTS_FILE)


def _fmt(value: float | None, digits: int = 1, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value * 100:.{digits}f} %" if percent else f"{value:.{digits}f}"


def _num(entry: dict[str, Any], key: str, digits: int = 1, percent: bool = False) -> str:
    """A metric of the row, as mean ± standard deviation when the row ran over several seeds."""
    text = _fmt(entry.get("metrics", {}).get(key), digits, percent)
    spread = entry.get("metrics_std", {}).get(key)
    if spread is None or text == "–":
        return text
    return f"{text.removesuffix(' %')} ± {_fmt(spread, digits, percent)}"


def over_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from its runs at several seeds: every metric the runs share as mean and sample standard
    deviation (`metrics`, `metrics_std`), a target met only when every seed met it, the runs kept in
    `per_seed`. A failed seed fails the row (its message kept), so no mean hides a missing run."""
    first = runs[0]
    entry: dict[str, Any] = {
        key: first[key] for key in ("title", "group", "kind", "budget", "budget_minutes") if key in first
    }
    entry["command"] = re.sub(r" seed=-?\d+", "", first["command"])
    entry["seeds"] = [run.get("seed") for run in runs]
    entry["per_seed"] = runs
    failed = [run for run in runs if run.get("status") != "ok"]
    if failed:
        entry["status"] = f"seed {failed[0].get('seed')}: {failed[0].get('status')}"
        return entry
    shared = set.intersection(*(set(run["metrics"]) for run in runs))
    values = {key: [float(run["metrics"][key]) for run in runs] for key in sorted(shared)}
    entry["metrics"] = {key: statistics.fmean(v) for key, v in values.items()}
    entry["metrics_std"] = {key: statistics.stdev(v) if len(v) > 1 else 0.0 for key, v in values.items()}
    entry["train_minutes"] = statistics.fmean(run["train_minutes"] for run in runs)
    for key in ("epochs", "batches", "grid"):
        if key in first:
            entry[key] = first[key]
    entry["targets"] = [
        {"text": target["text"], "met": all(run["targets"][i]["met"] for run in runs)}
        for i, target in enumerate(first.get("targets", []))
    ]
    entry["status"] = "ok"
    return entry


def _targets(entry: dict[str, Any]) -> str:
    marks = {True: "✅", False: "❌", None: "?"}
    parts = [f"{marks[t['met']]} {t['text']}" for t in entry.get("targets", [])]
    return "; ".join(parts) if parts else "(reported)"


def _trained(entry: dict[str, Any]) -> str:
    trained = f"{entry['epochs']} / {entry['batches']}" if "batches" in entry else "–"
    seeds = entry.get("seeds")
    return f"{trained} (seeds {', '.join(map(str, seeds))})" if seeds else trained


def _minutes(entry: dict[str, Any]) -> str:
    """Training minutes; for time-to-quality runs the minute the bar was first met (or that it was not)."""
    text = _fmt(entry.get("train_minutes"))
    if entry.get("resumed"):
        text += " (the last part of a resumed run)"
    if "budget_minutes" in entry and "seconds_to_bar" not in entry:
        text += f" (budget {entry['budget_minutes']:g})"
    if "seconds_to_bar" in entry:
        seconds = entry["seconds_to_bar"]
        text += " (bar not met)" if seconds is None else f" (bar at {seconds / 60:.1f})"
    return text


def noise_row(entry: dict[str, Any]) -> str:
    m = entry.get("metrics", {})
    fid, floor = m.get("fid"), m.get("fid_floor")
    ratio = f" ({fid / floor:.1f}×)" if fid is not None and floor else ""
    digits = f"{_num(entry, 'coverage_min', percent=True)} / {_num(entry, 'coverage_max', percent=True)}"
    label = _num(entry, "label_accuracy", 2, percent=True)
    cells = [
        entry["title"], f"`{entry['command']}`", _trained(entry), _minutes(entry),
        f"{_num(entry, 'fid')}{ratio}", digits, _num(entry, "is_mean", 2), label, _targets(entry),
        f"[grid]({entry['grid']})" if entry.get("grid") else "–",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def modes_row(entry: dict[str, Any]) -> str:
    m = entry.get("metrics", {})
    floor = f"{_fmt(m.get('modes_floor'), 0)} / {_fmt(m.get('kl_floor'), 3)}"
    cells = [
        entry["title"], f"`{entry['command']}`", _trained(entry), _minutes(entry), _num(entry, "modes", 0),
        _num(entry, "kl", 3), floor, _fmt(m.get("mode_samples"), 0), _targets(entry),
        f"[grid]({entry['grid']})" if entry.get("grid") else "–",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def translation_row(entry: dict[str, Any]) -> str:
    m = entry.get("metrics", {})
    accuracy = _num(entry, "digit_accuracy", 1, percent=True)
    if "digit_accuracy_a" in m:
        to_a, to_b = (_fmt(m[f"digit_accuracy_{side}"], 1, percent=True) for side in "ab")
        accuracy += f" (→A {to_a}, →B {to_b})"
    sides = [
        f"{side.upper()} {_fmt(m[f'target_side_{side}'], 0, percent=True)}"
        for side in "ab"
        if f"target_side_{side}" in m
    ]
    ink = [
        f"{_fmt(m.get(f'core_ink_fake_{side}'), 2)} vs {_fmt(m.get(f'core_ink_{side}'), 2)}"
        for side in "ab"
        if f"core_ink_fake_{side}" in m
    ]
    pixels = (
        f"{_num(entry, 'l1', 3)} / {_num(entry, 'psnr')} / {_num(entry, 'ssim', 3)}" if "l1" in m else "–"
    )
    cells = [
        entry["title"], f"`{entry['command']}`", _trained(entry), _minutes(entry), accuracy,
        ", ".join(sides) or "–", "; ".join(ink) or "–", pixels, _targets(entry),
        f"[grid]({entry['grid']})" if entry.get("grid") else "–",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    rows = list(results["rows"].values())
    lines = [
        "# Quality matrix",
        "",
        f"Command: `{settings.get('command', '?')}`  ",
        f"Budget: {settings.get('budget', '?')}; device: {settings.get('device', '?')}; "
        f"metrics: {settings.get('num_samples', '?')} samples against the test split, the project's MNIST "
        f"classifier (floor = real training images vs the test set); several seeds: mean ± std.  ",
        f"Software: torch {settings.get('torch', '?')}, lightning {settings.get('lightning', '?')}.",
        "",
    ]
    for kinds, columns, alignment, row_of in SECTIONS:
        section = [r for r in rows if r["kind"] in kinds]
        if section:
            lines += [
                "| " + " | ".join(columns) + " |",
                alignment,
                *(row_of(r) if "metrics" in r else failed_row(r, len(columns)) for r in section),
                "",
            ]
    return "\n".join(lines)


#: the tables of `markdown`, one per kind of row: (kinds, columns, alignment line, row formatter)
SECTIONS = (
    (
        ("noise", "conditional"),
        ("row", "command", "epochs / batches", "train min", "FID (× floor)", "rarest / commonest digit", "IS",
         "label acc.", "targets", "samples"),
        "|---|---|---:|---:|---:|---|---:|---:|---|---|",
        noise_row,
    ),
    (
        ("modes",),
        ("row", "command", "epochs / batches", "train min", "modes (of 1,000)", "KL", "real: modes / KL",
         "samples", "targets", "grid"),
        "|---|---|---:|---:|---:|---:|---|---:|---|---|",
        modes_row,
    ),
    (
        ("paired", "unpaired"),
        ("row", "command", "epochs / batches", "train min", "digit read", "on target side",
         "core ink fake vs real", "L1 / PSNR / SSIM", "targets", "grid"),
        "|---|---|---:|---:|---|---|---|---|---|---|",
        translation_row,
    ),
)  # fmt: skip


def failed_row(entry: dict[str, Any], columns: int) -> str:
    cells = [entry["title"], f"`{entry['command']}`", f"failed: {entry.get('status', '?')}"]
    return "| " + " | ".join(cells + ["–"] * (columns - len(cells))) + " |"


def write_table(out: Path, results: dict[str, Any]) -> Path:
    path = out / TABLE_FILE
    path.write_text(markdown(results))
    return path


def summary(entry: dict[str, Any]) -> str:
    """One line for the console after a row."""
    m = entry.get("metrics", {})
    if "fid" in m and "fid_floor" in m:
        text = (
            f"FID {m['fid']:.1f} ({m['fid'] / m['fid_floor']:.1f}× floor), digits "
            f"{m['coverage_min']:.1%}–{m['coverage_max']:.1%}"
        )
        if "label_accuracy" in m:
            text += f", label accuracy {m['label_accuracy']:.2%}"
    elif "digit_accuracy" in m:
        text = f"digit read {m['digit_accuracy']:.1%}"
    elif "modes" in m:
        text = f"{m['modes']:.0f} modes, KL {m['kl']:.3f} over {m['mode_samples']:.0f} samples"
    else:
        text = ", ".join(f"{k} {v:.3g}" for k, v in m.items())
    minutes = entry.get("train_minutes", 0)
    return f"{text}; {_trained(entry)} epochs / batches in {minutes:.1f} min; {_targets(entry)}"
