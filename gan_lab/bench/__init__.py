"""`python -m gan_lab.bench`: one training step of gan, dcgan, pix2pix and CycleGAN timed as a plain
PyTorch loop, under the Trainer and with perf=fast (docs/benchmarks.md).

- `cli`: the command line (options, the driver loop, the printed and JSON results);
- `configs`: the models, variants and sizes measured, as composed Hydra configs;
- `synthetic`: the synthetic data every measurement reads;
- `timing`: the step clock, peak memory and what one measurement records;
- `reference`: the plain PyTorch training loops (variant ``reference``);
- `run`: one measurement in this process (reference loop or Trainer);
- `isolation`: each measurement in its own process, and the result line it sends back;
- `report`: the table of measurements and their ratios.
"""

from gan_lab.bench.cli import main, parse_args
from gan_lab.bench.configs import MODELS, VARIANTS, Sizes, bench_config
from gan_lab.bench.reference import REFERENCE_STEPS
from gan_lab.bench.synthetic import write_data
from gan_lab.bench.timing import Measurement

__all__ = [
    "MODELS",
    "REFERENCE_STEPS",
    "VARIANTS",
    "Measurement",
    "Sizes",
    "bench_config",
    "main",
    "parse_args",
    "write_data",
]
