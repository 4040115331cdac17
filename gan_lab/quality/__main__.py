"""`python -m gan_lab.quality`: train the quality matrix, score every row, write the tables.

    python -m gan_lab.quality                              # every row, 5 min each on this CPU
    python -m gan_lab.quality --only dcgan --budget 15m    # a family, longer
    python -m gan_lab.quality --only presets --full        # presets at their full length
    python -m gan_lab.quality --device cuda --budget 2m    # a GPU run
    python -m gan_lab.quality --only presets --full --seeds 1,2,3   # mean ± std over three seeds
    python -m gan_lab.quality --tiny                       # the test suite's wiring check

Writes into `--out`: `quality.json` (every metric of every row, updated after each row), `quality.md`
(the tables of docs/results/mnist_quality.md), `grids/<row>.png` and `rows/<row>/` (each row's run directory:
config, log, TensorBoard, checkpoints). Rows already in `quality.json` are kept unless `--rerun`, so
an interrupted matrix continues where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning
import torch

from gan_experiments.data.synthetic import write_fake_mnist
from gan_experiments.metrics.run import MetricSettings
from gan_lab.quality import report
from gan_lab.quality.rows import BAR_KINDS, Row, matrix, select
from gan_lab.quality.run import (
    Budget,
    draw_grid,
    last_lines,
    load,
    metric_schedule,
    parse_duration,
    progress_of,
    run_training,
    score,
    shown_command,
    train_command,
)

DEFAULT_BUDGET = {"cpu": "5m", "cuda": "2m"}
#: in a row's run directory: the overrides of the training that wrote its checkpoints (for --resume)
IDENTITY_FILE = "training.json"
TIME_TO_QUALITY_CAP = {"cpu": "30m", "cuda": "5m"}
#: the experiment `make train` runs (the Makefile's EXPERIMENT; a test keeps the two equal): the row the
#: time-to-quality mode measures by default
MAKE_TRAIN_EXPERIMENT = "cgan_mnist"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gan_lab.quality", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=None, help="comma-separated row keys or groups (presets, gan, dcgan, translation)"
    )
    how_long = parser.add_mutually_exclusive_group()
    how_long.add_argument(
        "--budget",
        default=None,
        help="wall-clock training per row: 90s, 5m, 1.5h (default 5m on CPU, 2m on CUDA)",
    )
    how_long.add_argument("--epochs", type=int, default=None, help="train each row this many epochs instead")
    how_long.add_argument(
        "--full", action="store_true", help="each preset's own length (targets at full length)"
    )
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cuda or cpu")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where MNIST is (data/MNIST/raw)")
    parser.add_argument("--out", type=Path, default=Path("logs/quality"), help="results, tables, grids, runs")
    parser.add_argument("--num-samples", type=int, default=10_000, help="samples per FID (default 10000)")
    parser.add_argument(
        "--time-to-quality",
        action="store_true",
        help="seconds from launch to the first checkpoint at the bar (FID ≤ 3 × floor, every digit 7–13 %%); "
        f"default row {MAKE_TRAIN_EXPERIMENT} (make train's), --budget caps each run (default 30m on CPU, "
        "5m on CUDA)",
    )
    parser.add_argument(
        "--eval-every", type=int, default=500, help="time-to-quality: metrics every N batches (default 500)"
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a train override added to every row, repeatable (e.g. --override model.g_optimizer.lr=2e-4 "
        "to measure a recipe's alternative)",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds (e.g. 1,2,3): each row trains once per seed (rows/<row>/seed<s>) and "
        "its table row shows the mean ± standard deviation; default: one run at the row's own seed",
    )
    parser.add_argument("--rerun", action="store_true", help="train rows again that quality.json already has")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="--full/--epochs: continue a row's interrupted run from its last.ckpt instead of starting "
        "over, when the row's training (overrides, metric schedule) is the one that wrote it",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="debug=smoke on synthetic MNIST: checks the wiring only"
    )
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device: expected auto, cuda or cpu, got {args.device!r}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs: expected an integer >= 1, got {args.epochs}")
    if args.time_to_quality and (args.full or args.epochs is not None):
        parser.error("--time-to-quality runs until the bar is met; cap it with --budget, not --full/--epochs")
    if args.eval_every < 1:
        parser.error(f"--eval-every: expected an integer >= 1, got {args.eval_every}")
    if args.time_to_quality and args.only is None:
        args.only = MAKE_TRAIN_EXPERIMENT
    try:
        args.rows = select(matrix(), args.only)
        if args.tiny:
            args.budget_ = Budget(epochs=args.epochs or 1)
        elif args.full:
            args.budget_ = Budget()
        elif args.epochs is not None:
            args.budget_ = Budget(epochs=args.epochs)
        else:
            defaults = TIME_TO_QUALITY_CAP if args.time_to_quality else DEFAULT_BUDGET
            args.budget_ = Budget(seconds=parse_duration(args.budget or defaults[args.device]))
    except ValueError as error:
        parser.error(str(error))
    if args.resume and (args.time_to_quality or args.budget_.seconds is not None):
        parser.error("--resume continues runs of a fixed length (--full or --epochs); a time budget restarts")
    if args.resume and args.rerun:
        parser.error("--rerun trains rows again from the start; --resume continues unfinished ones: use one")
    if args.tiny:
        args.num_samples = min(args.num_samples, 64)
    try:
        args.seed_list = parse_seeds(args.seeds)
    except ValueError as error:
        parser.error(str(error))
    return args


def parse_seeds(text: str | None) -> list[int] | None:
    """`--seeds 1,2,3` → [1, 2, 3]; None without the option."""
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--seeds: expected comma-separated integers such as 1,2,3, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: expected distinct integers such as 1,2,3, got {text!r}")
    return seeds


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def common_overrides(row: Row, args: argparse.Namespace) -> list[str]:
    """Where the data is, which accelerator, no live progress bar (each row logs to a file)."""
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    overrides = [
        f"data.data_dir={args.data_dir}",
        f"trainer.accelerator={accelerator}",
        "callbacks.progress_bar=null",
        "++trainer.enable_progress_bar=false",
    ]
    if args.tiny:
        small = {
            "paired": ["data.eval_size=16", "data.val_size=32"],
            "unpaired": ["data.eval_size=16", "data.val_size=32"],
            "modes": ["data.num_train=64", "data.num_reference=64", "data.num_val=16"],
        }.get(row.kind, ["data.val_size=32"])
        overrides += ["debug=smoke", "data.download=false", *small]
    return overrides


def runner_overrides(row: Row, args: argparse.Namespace, schedule: list[str]) -> list[str]:
    """The runner's own overrides (data, accelerator, metric schedule), then the user's `--override`s:
    an explicit value (e.g. `callbacks.metrics.every_n_epochs=2` with `--epochs`) wins."""
    return [*common_overrides(row, args), *schedule, *args.override]


def continues(run_dir: Path, training: list[str]) -> bool:
    """Whether the checkpoints in `run_dir` were written by this training (the same overrides and metric
    schedule; the length and the data's location may differ), so that --resume may continue them."""
    identity = run_dir / IDENTITY_FILE
    return identity.is_file() and json.loads(identity.read_text()) == training


def samples_of(row: Row, args: argparse.Namespace) -> int:
    """The row's own sample count (the mode metrics': the papers'), or the runner's; --tiny caps both."""
    if row.num_samples is None:
        return args.num_samples
    return min(row.num_samples, args.num_samples) if args.tiny else row.num_samples


def run_row(
    row: Row, args: argparse.Namespace, settings: MetricSettings, seed: int | None = None
) -> dict[str, Any]:
    """Train, score and draw one row (at `seed`, in its own run directory, when given)."""
    run_dir = args.out / "rows" / row.key / (f"seed{seed}" if seed is not None else "")
    settings = dataclasses.replace(settings, num_samples=samples_of(row, args))
    eval_every = args.eval_every if args.time_to_quality else None
    budget = args.budget_ if args.time_to_quality else args.budget_.scaled(row.time_scale)
    schedule = metric_schedule(budget, eval_every, settings.num_samples, has_bar=row.kind in BAR_KINDS)
    extra = runner_overrides(row, args, schedule) + ([f"seed={seed}"] if seed is not None else [])
    last = run_dir / "checkpoints" / "last.ckpt"
    # what the run trains, apart from where the data lies and how long, in the order the train command
    # applies it (the user's overrides last, so they win): a resume continues only that
    training = [*row.command(args.device == "cpu"), *schedule, *args.override]
    if seed is not None:
        training.append(f"seed={seed}")
    identity = run_dir / IDENTITY_FILE
    resuming = args.resume and last.is_file() and continues(run_dir, training)
    if args.resume and last.is_file() and not resuming:
        print(f"[{row.key}] {last} was written by another training of this row: starting over", flush=True)
    if resuming:  # the same command from where it stopped (train's exact resume)
        extra.append(f"ckpt_path={last}")
    command = train_command(row, run_dir, budget, extra, cpu=args.device == "cpu")
    entry: dict[str, Any] = {
        "title": row.title, "group": row.group, "kind": row.kind, "command": shown_command(command),
        "budget": budget.describe(), "run_dir": str(run_dir),
    }  # fmt: skip
    if budget.seconds is not None:
        entry["budget_minutes"] = round(budget.seconds / 60, 2)
    if seed is not None:
        entry["seed"] = seed
    print(f"[{row.key}] {entry['command']}", flush=True)
    if run_dir.exists() and not resuming:
        shutil.rmtree(
            run_dir
        )  # a rerun: nothing of the previous run (bar.json, checkpoints) is read as this one's
    run_dir.mkdir(parents=True, exist_ok=True)
    identity.write_text(json.dumps(training))
    log_name = f"train.resumed-{len(list(run_dir.glob('train*.out')))}.out" if resuming else "train.out"
    seconds, status = run_training(command, run_dir / log_name)
    entry["train_minutes"] = round(seconds / 60, 2)
    if resuming:
        entry["resumed"] = True  # train_minutes and seconds_to_bar count only the last part
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    bar = run_dir / "checkpoints" / "bar.json"
    if bar.is_file():  # any run with metrics during training records when it first met the bar
        entry["bar"] = json.loads(bar.read_text())
        entry["seconds_to_bar"] = entry["bar"]["seconds_since_launch"]
        print(f"[{row.key}] bar met {entry['seconds_to_bar']:.0f} s after launch", flush=True)
        if args.time_to_quality:
            checkpoint = checkpoint.with_name("bar.ckpt")
    elif args.time_to_quality:
        entry["seconds_to_bar"] = None
        print(f"[{row.key}] bar not met within {budget.describe()}", flush=True)
    if status != 0 or not checkpoint.is_file():
        entry["status"] = f"exit status {status}: {last_lines(run_dir / log_name)}"
        print(f"[{row.key}] failed: {entry['status']}", flush=True)
        return entry
    device = torch.device(args.device)
    model, datamodule = load(checkpoint, device, args.data_dir)
    entry.update(progress_of(checkpoint))
    scores = score(model, datamodule, settings, device)
    entry["metrics"] = scores
    # the bar of a full-length run is also what time-to-quality waits for
    targets = row.full_targets if args.budget_.full or args.time_to_quality else row.targets
    entry["targets"] = [{"text": t.text, "met": t.met(scores)} for t in targets]
    grid = draw_grid(model, datamodule, args.out / "grids" / f"{row.key}.png")
    entry["grid"] = str(grid.relative_to(args.out))
    entry["status"] = "ok"
    print(f"[{row.key}] {report.summary(entry)}", flush=True)
    return entry


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gan-quality-") as scratch:
        if args.tiny:
            args.data_dir = write_fake_mnist(Path(scratch) / "mnist")
        settings = MetricSettings(num_samples=args.num_samples, batch_size=500)
        results = report.load_results(args.out)
        given = list(argv) if argv is not None else sys.argv[1:]
        matrix_time_budget = args.budget_.seconds is not None and not args.time_to_quality
        scaled_note = " (× the row's time scale, see each row)"
        results["settings"] = {
            "command": " ".join(["python -m gan_lab.quality", *given]),
            "budget": args.budget_.describe() + (scaled_note if matrix_time_budget else ""),
            "device": device_name(args.device),
            "num_samples": args.num_samples,
            "torch": torch.__version__,
            "lightning": lightning.__version__,
        }  # fmt: skip
        for row in args.rows:
            if (
                row.key in results["rows"]
                and results["rows"][row.key].get("status") == "ok"
                and not args.rerun
            ):
                print(f"[{row.key}] kept from {args.out / report.RESULTS_FILE} (--rerun trains it again)")
                continue
            if args.seed_list is None:
                results["rows"][row.key] = run_row(row, args, settings)
            else:
                runs = [run_row(row, args, settings, seed) for seed in args.seed_list]
                results["rows"][row.key] = report.over_seeds(runs)
            report.save_results(args.out, results)
            report.write_table(args.out, results)
    report.save_results(args.out, results)
    table = report.write_table(args.out, results)
    print(f"results: {args.out / report.RESULTS_FILE}, table: {table}")
    failed = [row.key for row in args.rows if results["rows"][row.key].get("status") != "ok"]
    if failed:
        print(f"failed rows: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)
    return results


if __name__ == "__main__":
    main()
