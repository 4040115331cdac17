"""The measurement lab of gan_experiments: the harnesses that produced the numbers in docs/ and the
shipped weights, kept apart from what a user needs to train, evaluate and sample.

    python -m gan_lab.quality            # the quality matrix and time-to-quality (docs/quality.md)
    python -m gan_lab.bench              # one training step timed three ways (docs/benchmarks.md)
    python -m gan_lab.pretrained …       # pack a checkpoint into gan_experiments/weights, scored
    python -m gan_lab.train_classifier … # retrain the MNIST classifier the metrics use
    python -m gan_lab.analysis.<name> …  # one-off analyses quoted in docs/quality.md

The dependency runs one way: the lab imports the core (`gan_experiments`), the core never imports the
lab, so the core installs, runs and is tested without it. `lint-imports` (pyproject.toml,
[tool.importlinter]) enforces that.
"""
