"""The benchmark's tiny CPU mode end to end, and its reference loops computing what the modules compute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gan_experiments.train import build
from gan_lab import bench


def test_tiny_benchmark_measures_every_variant_and_prints_the_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = [
        "--tiny",
        "--models",
        "gan",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--device",
        "cpu",
        "--json",
        str(out),
    ]
    results = bench.main(argv)

    assert [(r.model, r.variant) for r in results] == [("gan", v) for v in bench.VARIANTS]
    for r in results:
        assert r.ms_per_iter > 0 and r.peak_memory_mib > 0
        assert r.images_per_s == pytest.approx(r.batch_size * 1000 / r.ms_per_iter)
        assert (r.batch_size, r.image_size, r.steps, r.device) == (4, 32, 2, "cpu")
    printed = capsys.readouterr().out
    assert "b/a" in printed and "a/c" in printed
    ratio_header = printed.splitlines().index(next(line for line in printed.splitlines() if "b/a" in line))
    ratio_line = printed.splitlines()[ratio_header + 1]
    assert ratio_line.split()[0] == "gan"
    by_variant = {r.variant: r.ms_per_iter for r in results}
    assert f"{by_variant['trainer'] / by_variant['reference']:.2f}" in ratio_line
    written = json.loads(out.read_text())
    assert written[-1] == {"failed": {}} and len(written) == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "gan,stylegan"], "--models: expected a comma-separated subset of gan, dcgan"),
        (["--variants", "slow"], "--variants: expected a comma-separated subset of reference"),
        (["--steps", "0"], "--steps and --warmup must be >= 1"),
        (["--device", "tpu"], "--device: expected auto, cuda or cpu"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert message in capsys.readouterr().err


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench-data")
    bench.write_data(root, bench.Sizes(steps=1, warmup=1, tiny=True, batch_size=None))
    return root


@pytest.mark.parametrize("model", ["gan", "dcgan", "pix2pix", "cyclegan"])
def test_reference_step_trains_exactly_like_the_module(model, bench_data, tmp_path):
    """One reference step and one module step from the same weights, noise and batch: same weights.
    (pix2pix's G and the MLP GAN's D without dropout, whose masks would differ; CycleGAN's pools pass
    the first fakes through.)"""
    sizes = bench.Sizes(steps=1, warmup=1, tiny=True, batch_size=None)
    cfg = bench.bench_config(model, "trainer", bench_data, sizes, "cpu", tmp_path)
    if model == "pix2pix":
        cfg.model.generator.dropout = 0.0
    if model == "gan":
        cfg.model.discriminator.dropout = 0.0
    datamodule, module, trainer = build(cfg)
    trainer.limit_train_batches = 1
    reference_module = build(cfg)[1]
    reference_module.load_state_dict(module.state_dict())

    datamodule.prepare_data()
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    optimizers = [
        reference_module.g_optimizer_factory(reference_module.generator_parameters()),
        reference_module.d_optimizer_factory(reference_module.discriminator_parameters()),
    ]
    reference_module.train()
    bench.REFERENCE_STEPS[model](reference_module, *optimizers)(batch)

    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader([batch], batch_size=None))
    trained, reference = module.state_dict(), reference_module.state_dict()
    start = build(cfg)[1].state_dict()
    assert any(not torch.equal(start[k], reference[k]) for k in reference), "the reference must train"
    for key in trained:
        torch.testing.assert_close(reference[key], trained[key], rtol=1e-5, atol=1e-6, msg=key)
