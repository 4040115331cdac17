"""The declared contract between data, models, callbacks and metrics: the data's spec (data/spec.py)
and what a model declares (models/base.py), each checked in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import LightningDataModule
from omegaconf import OmegaConf

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY, DATA_SPEC_KEY
from gan_experiments.checkpoints import model_config_and_spec, model_from_checkpoint
from gan_experiments.data.spec import DataSpec, SpecifiedDataModule, check_model_fits, spec_of
from gan_experiments.errors import ConfigError
from gan_experiments.instantiation import build_model
from gan_experiments.train import build, train

CONF_MODEL = Path(__file__).parents[1] / "conf" / "model"


def test_the_model_is_built_from_the_data_spec_and_the_checkpoint_keeps_it(smoke_config, tmp_path):
    datamodule, model, _ = build(smoke_config("model=cgan"))
    spec = datamodule.spec
    assert spec == DataSpec(
        "images", (1, 32, 32), num_classes=10, sample_metrics="mnist_classifier", resize_mode="pad"
    )
    assert model.image_shape == spec.image_shape and model.num_classes == spec.num_classes
    train(smoke_config("model=cgan"))
    stored = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)[DATA_SPEC_KEY]
    assert DataSpec.from_dict(stored) == spec


def test_the_spec_is_immutable_and_its_views_agree():
    spec = DataSpec("paired", [3, 64, 64], in_channels=1, out_channels=3, digit_labels=True)
    assert spec.image_shape == (3, 64, 64) and not spec.labelled
    assert DataSpec.from_dict({**spec.to_dict(), "added_later": 1}) == spec
    with pytest.raises(AttributeError):
        spec.layout = "unpaired"  # type: ignore[misc]
    with pytest.raises(ValueError, match="layout must be one of images, paired, unpaired"):
        DataSpec("pairs", (1, 8, 8))


def test_a_model_and_data_that_cannot_train_together_fail_in_one_line():
    images = DataSpec("images", (1, 28, 28))
    paired_refused = r"^model=pix2pix trains on paired images \(A → B\), but data=mnist"
    with pytest.raises(ConfigError, match=paired_refused):
        check_model_fits(images, "paired", False, "pix2pix", "mnist")
    with pytest.raises(ConfigError, match=r"^model=cgan needs class labels, but data=faces has none"):
        check_model_fits(images, "images", True, "cgan", "faces")
    check_model_fits(images, "images", False, "dcgan", "faces")


class NoSpec(LightningDataModule):
    pass


class WithSpec(SpecifiedDataModule):
    @property
    def spec(self) -> DataSpec:
        return DataSpec("unpaired", (3, 16, 16), in_channels=3, out_channels=3)


def test_a_data_module_must_state_its_facts():
    with pytest.raises(ConfigError, match=r"^data=mine: NoSpec does not state its facts"):
        spec_of(NoSpec(), "mine")
    module = WithSpec()
    assert spec_of(module, "mine") is not None
    assert (module.layout, module.image_shape, module.in_channels, module.num_classes) == (
        "unpaired", (3, 16, 16), 3, None,
    )  # fmt: skip


def test_a_model_target_outside_the_contract_is_refused(smoke_config):
    cfg = smoke_config("model._target_=torch.nn.Linear")
    with pytest.raises(ConfigError, match=r"^model\._target_=torch\.nn\.Linear: not a .*AdversarialModule"):
        build(cfg)


def test_grids_take_noise_or_the_validation_examples_passed_in(smoke_config, fake_mnist_dir):
    _, noise_model, _ = build(smoke_config())
    assert noise_model.grid_source == "noise"
    images, columns = noise_model.eval().grid_images(noise_model.grid_inputs(4, torch.Generator(), None))
    assert images.shape == (4, 1, 32, 32) and columns == 2

    cfg = smoke_config(
        "model=pix2pix", "data=mnist_outlines", f"data.data_dir={fake_mnist_dir}", "data.download=false",
        "data.eval_size=8", "data.val_size=32",
    )  # fmt: skip
    datamodule, model, _ = build(cfg)
    assert model.grid_source == "examples"
    with pytest.raises(ValueError, match="grids are made of validation examples; none were given"):
        model.grid_inputs(2, torch.Generator(), None)
    datamodule.prepare_data()
    datamodule.setup("validate")
    examples = datamodule.validation_examples(3)
    inputs = model.grid_inputs(2, torch.Generator(), examples)
    assert torch.equal(inputs["A"][1], examples[1]["A"]) and inputs["B"].shape == (2, 1, 32, 32)
    images, columns = model.eval().grid_images(inputs)
    assert columns == 3 and images.shape == (6, 3, 32, 32)  # input | output | target, as RGB


def test_no_model_config_holds_a_fact_of_the_data():
    """Image shape, classes and channels reach the model as its DataSpec, never through its config."""
    for path in sorted(CONF_MODEL.rglob("*.yaml")):
        text = path.read_text()
        for fact in ("???", "image_shape", "num_classes", "in_channels", "out_channels", "${data."):
            assert fact not in text.split("#")[0] and f"  {fact}" not in text, (path.name, fact)


@pytest.mark.parametrize("model_name", ["dcgan", "cgan", "pix2pix", "cyclegan"])
def test_the_config_is_not_changed_by_building_the_model(smoke_config, model_name, fake_mnist_dir):
    cfg = smoke_config(*data_for(model_name, fake_mnist_dir))
    before = OmegaConf.to_container(cfg, resolve=False)
    datamodule, model, _ = build(cfg)
    assert OmegaConf.to_container(cfg, resolve=False) == before
    assert model.data_spec == datamodule.spec


def data_for(model_name: str, fake_mnist_dir: Path) -> list[str]:
    data = {"pix2pix": "mnist_outlines", "cyclegan": "mnist_strokes"}.get(model_name)
    if data is None:
        return [f"model={model_name}"]
    return [
        f"model={model_name}", f"data={data}", f"data.data_dir={fake_mnist_dir}", "data.download=false",
        "data.eval_size=8", "data.val_size=32",
    ]  # fmt: skip


def legacy_run_config(cfg: Any, spec: DataSpec) -> dict[str, Any]:
    """The run config as `train` stored it before models were built from the spec: the data's facts as
    model keys, resolved into fully configured network nodes."""
    run = OmegaConf.to_container(cfg, resolve=True)
    model = run["model"]
    generator, discriminator = model["generator"], model["discriminator"]
    if spec.layout == "images":
        model["image_shape"] = list(spec.image_shape)
        for node in (generator, discriminator):
            del node["_partial_"]
            node["image_shape"] = list(spec.image_shape)
        generator["z_dim"] = model["z_dim"]
        if spec.num_classes:
            model["num_classes"] = generator["num_classes"] = discriminator["num_classes"] = spec.num_classes
    else:
        model["in_channels"], model["out_channels"] = spec.in_channels, spec.out_channels
        if generator["_target_"].endswith("UnetGenerator"):
            generator["image_size"] = spec.image_shape[-1]
    return run


@pytest.mark.parametrize("model_name", ["dcgan", "cgan", "pix2pix", "cyclegan"])
def test_checkpoints_written_before_the_spec_load_into_the_same_networks(
    smoke_config, model_name, fake_mnist_dir
):
    cfg = smoke_config(*data_for(model_name, fake_mnist_dir))
    datamodule, model, _ = build(cfg)
    weights = model.state_dict()
    for stored_spec in (None, datamodule.spec):  # before the spec was stored, and the stop that added it
        checkpoint = {CHECKPOINT_KEY: legacy_run_config(cfg, datamodule.spec), "state_dict": weights}
        if stored_spec is not None:
            checkpoint[DATA_SPEC_KEY] = stored_spec.to_dict()
        loaded = model_from_checkpoint(checkpoint)
        assert type(loaded) is type(model)
        assert loaded.data_spec.image_shape == datamodule.spec.image_shape
        assert loaded.data_spec.num_classes == datamodule.spec.num_classes
        assert loaded.data_spec.in_channels == datamodule.spec.in_channels
        state = loaded.state_dict()
        assert state.keys() == weights.keys()
        assert all(torch.equal(state[key], weights[key]) for key in weights)


def test_a_new_checkpoint_rebuilds_its_model_from_the_stored_spec(smoke_config, tmp_path):
    train(smoke_config("model=cgan"))
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert not {"image_shape", "num_classes"} & set(checkpoint[CHECKPOINT_KEY]["model"])
    assert model_from_checkpoint(checkpoint).num_classes == 10
    checkpoint[DATA_SPEC_KEY]["num_classes"] = 7  # the stored spec, not the config, decides the networks
    model = build_model(*model_config_and_spec(checkpoint))
    assert model.num_classes == 7 and model.generator.labels.num_classes == 7
