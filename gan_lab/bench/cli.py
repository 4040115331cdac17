"""`python -m gan_lab.bench`: ms/iter, images/s and peak memory of one training step.

For each model (gan, dcgan, pix2pix, cyclegan) three variants train the same networks with the same
losses and optimizers on the same batches:

- ``reference``: a plain PyTorch loop written here, shaped like the official code and course notebooks
  (D step then G step, or CycleGAN's G step then D step with image pools);
- ``trainer``: the project's LightningModule under the Trainer with the default settings (``perf=default``;
  TensorBoard logging every 50 steps, no progress bar, checkpoints or grids while timing);
- ``fast``: the same with ``perf=fast`` (device-resident MNIST, fused Adam, channels_last, compile).

Every (model, variant) runs in its own process, so peak memory, compile caches and thread pools do not
leak from one measurement into the next. Data is synthetic in the real on-disk formats (fake MNIST IDX
files, pix2pix/CycleGAN JPEG folders at the real image size), so nothing is downloaded. The first
``--warmup`` steps (cuDNN autotuning, compilation, CUDA graph capture) are not timed.

    python -m gan_lab.bench                         # all models and variants, real sizes
    python -m gan_lab.bench --models dcgan --steps 200 --json bench.json
    python -m gan_lab.bench --tiny --device cpu     # seconds on a laptop (the test suite)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from gan_lab.bench.configs import MODELS, VARIANTS, Sizes
from gan_lab.bench.isolation import RESULT_PREFIX, run_isolated
from gan_lab.bench.report import table
from gan_lab.bench.run import measure
from gan_lab.bench.synthetic import write_data
from gan_lab.bench.timing import Measurement


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gan_lab.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {MODELS}")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {VARIANTS}"
    )
    parser.add_argument("--steps", type=int, default=50, help="timed training steps (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before (default 10)")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cuda or cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 MNIST, 1 image-to-image")
    parser.add_argument("--tiny", action="store_true", help="width 8, 32 px, batch 4/1: a quick CPU check")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a Hydra override for every run, repeatable (e.g. --override trainer.precision=bf16-mixed)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, allowed in (("models", MODELS), ("variants", VARIANTS)):
        chosen = [v for v in getattr(args, name).split(",") if v]
        unknown = [v for v in chosen if v not in allowed]
        if unknown or not chosen:
            given = getattr(args, name)
            parser.error(
                f"--{name}: expected a comma-separated subset of {', '.join(allowed)}, got {given!r}"
            )
        setattr(args, name, chosen)
    if args.steps < 1 or args.warmup < 1:
        parser.error(f"--steps and --warmup must be >= 1, got {args.steps} and {args.warmup}")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device: expected auto, cuda or cpu, got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to torch")
    return args


def main(argv: Sequence[str] | None = None) -> list[Measurement]:
    args = parse_args(argv)
    sizes = Sizes(args.steps, args.warmup, args.tiny, args.batch_size, tuple(args.override))
    if args.worker:
        model, variant = args.worker.split(":")
        result = measure(model, variant, args.data_root, sizes, args.device)
        print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
        return [result]
    results: list[Measurement] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gan-bench-data-") as data_root:
        write_data(Path(data_root), sizes)
        for model in args.models:
            for variant in args.variants:
                outcome = run_isolated(model, variant, Path(data_root), args)
                if isinstance(outcome, Measurement):
                    results.append(outcome)
                    print(f"{model}/{variant}: {outcome.ms_per_iter:.2f} ms/iter", flush=True)
                else:
                    failures[f"{model}/{variant}"] = outcome
                    print(f"{model}/{variant}: failed: {outcome}", flush=True)
    print()
    extra = f", overrides: {' '.join(args.override)}" if args.override else ", fp32"
    print(f"device {args.device}, {args.steps} timed steps after {args.warmup} warmup steps{extra}")
    print(table(results, failures))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results] + [{"failed": failures}], indent=2))
    if failures:
        sys.exit(1)
    return results
