"""The matrix's results as JSON (every number) and as markdown tables (docs/results/mnist_quality.md)."""

from __future__ import annotations

import json
import math
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


def _targets(entry: dict[str, Any]) -> str:
    marks = {True: "✅", False: "❌", None: "?"}
    parts = [f"{marks[t['met']]} {t['text']}" for t in entry.get("targets", [])]
    return "; ".join(parts) if parts else "(reported)"


def _trained(entry: dict[str, Any]) -> str:
    return f"{entry['epochs']} / {entry['batches']}" if "batches" in entry else "–"


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
    digits = f"{_fmt(m.get('coverage_min'), percent=True)} / {_fmt(m.get('coverage_max'), percent=True)}"
    label = _fmt(m.get("label_accuracy"), 2, percent=True)
    cells = [
        entry["title"], f"`{entry['command']}`", _trained(entry), _minutes(entry), f"{_fmt(fid)}{ratio}",
        digits, _fmt(m.get("is_mean"), 2), label, _targets(entry),
        f"[grid]({entry['grid']})" if entry.get("grid") else "–",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def modes_row(entry: dict[str, Any]) -> str:
    m = entry.get("metrics", {})
    floor = f"{_fmt(m.get('modes_floor'), 0)} / {_fmt(m.get('kl_floor'), 3)}"
    cells = [
        entry["title"], f"`{entry['command']}`", _trained(entry), _minutes(entry), _fmt(m.get("modes"), 0),
        _fmt(m.get("kl"), 3), floor, _fmt(m.get("mode_samples"), 0), _targets(entry),
        f"[grid]({entry['grid']})" if entry.get("grid") else "–",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def translation_row(entry: dict[str, Any]) -> str:
    m = entry.get("metrics", {})
    accuracy = _fmt(m.get("digit_accuracy"), 1, percent=True)
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
        f"{_fmt(m.get('l1'), 3)} / {_fmt(m.get('psnr'))} / {_fmt(m.get('ssim'), 3)}" if "l1" in m else "–"
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
        f"metrics: {settings.get('num_samples', '?')} samples, the project's MNIST classifier "
        f"(floor = real training images vs the test set).  ",
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
