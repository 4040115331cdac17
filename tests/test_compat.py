"""Former names (gan_experiments/compat.py): what a user types still works with a one-line hint that names
the removal version, and files of older versions load into today's classes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from gan_experiments import compat
from gan_experiments.callbacks.run_config import CHECKPOINT_KEY
from gan_experiments.checkpoints import load_model
from gan_experiments.losses import GradientPenalty, WassersteinLoss
from gan_experiments.models.extensions import CategoricalCode, TopK
from gan_experiments.networks.conditional import ConditionalDiscriminator, ConditionalGenerator
from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator
from gan_experiments.pretrained import load_pretrained
from gan_experiments.train import build, train

PACKAGE = Path(__file__).parents[1] / "gan_experiments"


@pytest.fixture(autouse=True)
def fresh_hints():
    compat._hint.cache_clear()  # one hint per process: each test starts afresh
    yield
    compat._hint.cache_clear()


def hints(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]


def test_the_renamed_model_option_composes_the_new_one_with_one_hint(smoke_config, caplog):
    old, new = (
        OmegaConf.to_container(smoke_config(f"model={name}").model, resolve=True)
        for name in ("lsgan", "conv_gan")
    )
    assert old == new
    with caplog.at_level(logging.WARNING):
        build(smoke_config("model=lsgan"))
    assert hints(caplog) == [
        "model=lsgan is deprecated and will be removed in 0.3.0: use model=conv_gan (the course notes' "
        "convolutional GAN; lsgan names the loss (loss=lsgan), its default loss)"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build(smoke_config("model=conv_gan"))
    assert hints(caplog) == []


def test_the_renamed_experiment_composes_the_new_one(smoke_config):
    old, new = (smoke_config(f"experiment={name}") for name in ("lsgan_mnist", "conv_gan_mnist"))
    assert OmegaConf.to_container(old.model, resolve=True) == OmegaConf.to_container(new.model, resolve=True)
    assert old.trainer.max_epochs == new.trainer.max_epochs


def test_the_renamed_backbone_builds_the_conv_gan_with_one_hint(caplog):
    with caplog.at_level(logging.WARNING):
        generator = ConditionalGenerator(8, (1, 32, 32), 10, backbone="lsgan", width=4)
        ConditionalDiscriminator((1, 32, 32), 10, backbone="lsgan", width=4)
    assert isinstance(generator.net, ConvGANGenerator)
    assert len(hints(caplog)) == 1 and hints(caplog)[0].startswith("backbone=lsgan is deprecated")


def test_the_renamed_shipped_generator_loads_under_its_old_name(caplog):
    with caplog.at_level(logging.WARNING):
        model = load_pretrained("lsgan_mnist")
    assert isinstance(model.generator, ConvGANGenerator)
    assert hints(caplog)[0].startswith("pretrained=lsgan_mnist is deprecated")


def test_the_old_exact_resume_switch_still_decides(smoke_config, caplog):
    from gan_experiments.train import wants_exact_resume

    with caplog.at_level(logging.WARNING):
        assert wants_exact_resume(smoke_config("callbacks.preemption.exact_resume=false")) is False
    assert "callbacks.preemption.exact_resume is deprecated and will be removed in 0.3.0" in caplog.text
    assert wants_exact_resume(smoke_config()) is True


def as_older_version(config: dict) -> dict:
    """A run config as versions before the compat names were retired wrote it."""
    model = config["model"]
    for node in (model["generator"], model["discriminator"]):
        node["_target_"] = node["_target_"].replace("conv_gan.ConvGAN", "lsgan.LSGAN")
    for loss in (config["loss"], model["loss"]):
        loss["_target_"] = "gan_experiments.losses.WassersteinGPLoss"
        loss["gp_weight"] = 5.0
        loss.pop("regularizers")
    extensions = model.pop("extensions")
    model["categorical_code"] = extensions["categorical_code"]["values"]
    model["info_weight"] = extensions["categorical_code"]["weight"]
    model["top_k_decay"] = extensions["top_k"]["decay"]
    model["top_k_min"] = extensions["top_k"]["min_share"]
    return config


def test_a_checkpoint_of_an_older_version_loads_into_todays_classes(smoke_config, tmp_path):
    """Old network and loss names, the research options as model keys and Q's old weight names: upgraded
    on load, before the safety checks (which refuse names that no longer exist)."""
    extras = ("extension=[categorical_code,top_k]", "model.extensions.categorical_code.values=4")
    train(smoke_config("model=conv_gan", "loss=wgan_gp", *extras))
    path = tmp_path / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    weights = checkpoint["state_dict"]
    checkpoint[CHECKPOINT_KEY] = as_older_version(checkpoint[CHECKPOINT_KEY])
    checkpoint["state_dict"] = {
        key.replace("extensions.categorical_code.reader.", "code_reader."): value
        for key, value in weights.items()
    }
    old = tmp_path / "old.ckpt"
    torch.save(checkpoint, old)
    model, _ = load_model(old)
    assert isinstance(model.generator, ConvGANGenerator) and isinstance(
        model.discriminator, ConvGANDiscriminator
    )
    assert isinstance(model.loss, WassersteinLoss) and model.loss.regularizers["gp"].weight == 5.0
    assert isinstance(model.loss.regularizers["gp"], GradientPenalty)
    assert isinstance(model.extensions["categorical_code"], CategoricalCode)
    assert isinstance(model.extensions["top_k"], TopK)
    state = model.state_dict()
    assert all(torch.equal(state[key], weights[key]) for key in weights)


def test_no_module_but_compat_knows_a_former_name():
    former = [*compat.RENAMED_TARGETS, "LSGANGenerator", "LSGANDiscriminator", "top_k_decay", "code_reader"]
    former += [f"{option}={old}" for option, renamed in compat.RENAMED_OPTIONS.items() for old in renamed]
    pattern = re.compile("|".join(re.escape(name) for name in former))
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "compat.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_a_free_size_checkpoint_of_an_older_version_rounds_as_it_was_trained(smoke_config, tmp_path):
    """Before data.size_multiple, free-size images were rounded to the generator's stride behind the
    user's back; such a checkpoint gets the multiple it was trained with."""
    from synthetic_images import write_paired_dataset

    from gan_experiments.callbacks.run_config import DATA_SPEC_KEY
    from gan_experiments.checkpoints import build_datamodule

    root = write_paired_dataset(tmp_path / "odd", n_train=2, n_val=2, size=40)
    options = ("model=pix2pix", "data=paired_folder", f"data.root={root}", "data.preprocess=none")
    train(smoke_config(*options, "data.size_multiple=32", "model.generator.depth=5", "data.num_workers=0"))
    path = tmp_path / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint[CHECKPOINT_KEY]["data"]["size_multiple"]
    del checkpoint[DATA_SPEC_KEY]["size_multiple"]
    torch.save(checkpoint, tmp_path / "old.ckpt")
    model, run = load_model(tmp_path / "old.ckpt")
    assert model.data_spec.size_multiple == 32 and build_datamodule(run).size_multiple == 32


def test_training_resumes_from_a_checkpoint_with_former_weight_names(smoke_config, tmp_path):
    """Lightning reads the file itself on resume; the module renames the weights before it loads them."""
    code = ("extension=[categorical_code]", "model.extensions.categorical_code.values=4")
    train(smoke_config(*code, output_dir=tmp_path / "first"))
    checkpoint = torch.load(tmp_path / "first" / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["state_dict"] = {
        key.replace("extensions.categorical_code.reader.", "code_reader."): value
        for key, value in checkpoint["state_dict"].items()
    }
    assert any(key.startswith("code_reader.") for key in checkpoint["state_dict"])
    torch.save(checkpoint, tmp_path / "old.ckpt")
    train(smoke_config(*code, "trainer.max_epochs=2", f"ckpt_path={tmp_path / 'old.ckpt'}"))
    resumed = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["adversarial_state"]["batches_seen"] == 4
