"""Each measurement in its own process (so peak memory, compile caches and thread pools do not leak into
the next): the worker's command line and the result line it prints back."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from gan_lab.bench.timing import Measurement

RESULT_PREFIX = "BENCH_RESULT "


def run_isolated(model: str, variant: str, data_root: Path, args: argparse.Namespace) -> Measurement | str:
    """One measurement in a fresh process; its result, or the one-line reason it failed."""
    command = [
        sys.executable, "-m", "gan_lab.bench", "--worker", f"{model}:{variant}",
        "--data-root", str(data_root), "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--device", args.device,
    ]  # fmt: skip
    command += ["--tiny"] if args.tiny else []
    command += ["--batch-size", str(args.batch_size)] if args.batch_size else []
    for override in args.override:
        command += ["--override", override]
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return Measurement(**json.loads(line[len(RESULT_PREFIX) :]))
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"
