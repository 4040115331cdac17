"""The benchmark's synthetic data in the real on-disk formats (fake MNIST, pix2pix/CycleGAN folders)."""

from __future__ import annotations

from pathlib import Path

from gan_experiments.data.synthetic import write_fake_mnist, write_paired_dataset, write_unpaired_dataset
from gan_lab.bench.configs import Sizes


def write_data(root: Path, sizes: Sizes) -> None:
    """Enough synthetic images that no variant wraps around within the timed batches."""
    mnist_batch = sizes.batch_size_of("dcgan")
    write_fake_mnist(root / "mnist", n_train=mnist_batch * (sizes.batches + 1) + 64, n_test=64)
    n = sizes.batch_size_of("pix2pix") * (sizes.batches + 1)
    write_paired_dataset(root / "paired", n_train=n, n_val=1, size=sizes.image_size)
    write_unpaired_dataset(root / "unpaired", n_a=n, n_b=n, n_test_a=1, n_test_b=1, size=sizes.image_size)
