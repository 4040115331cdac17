"""Bad input stops early with one clear line and loses nothing."""

from __future__ import annotations

import pytest
import torch

from gan_experiments.data.mnist import MNISTDataModule
from gan_experiments.errors import ConfigError, NonFiniteLossError
from gan_experiments.losses import NonSaturatingLoss
from gan_experiments.train import build, train


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(smoke_config, tmp_path, monkeypatch):
    train(smoke_config("trainer.max_epochs=1"))
    last = tmp_path / "checkpoints" / "last.ckpt"
    good_bytes = last.read_bytes()

    calls = {"n": 0}
    original = NonSaturatingLoss.fake_term

    def d_fake_turning_nan(self, logits):
        calls["n"] += 1
        value = original(self, logits)
        return value * float("nan") if calls["n"] == 2 else value

    monkeypatch.setattr(NonSaturatingLoss, "fake_term", d_fake_turning_nan)
    with pytest.raises(NonFiniteLossError, match=r"loss/d is nan at batch 3 \(epoch 1\)"):
        train(smoke_config("trainer.max_epochs=2", f"ckpt_path={last}"))
    assert last.read_bytes() == good_bytes


def test_checkpoint_with_nan_weights_is_refused(smoke_config, tmp_path):
    datamodule, model, trainer = build(smoke_config("trainer.max_epochs=1"))
    trainer.fit(model, datamodule=datamodule)
    last = tmp_path / "checkpoints" / "last.ckpt"
    good_bytes = last.read_bytes()
    with torch.no_grad():
        next(model.generator.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"refusing to write a checkpoint: generator\..* NaN/Inf"):
        trainer.save_checkpoint(last)
    assert last.read_bytes() == good_bytes


def test_model_that_needs_labels_refuses_unlabeled_data(smoke_config, monkeypatch):
    monkeypatch.setattr(MNISTDataModule, "num_classes", None)
    with pytest.raises(ConfigError, match=r"model=cgan needs class labels, but data=mnist has none"):
        build(smoke_config("model=cgan"))


def test_unconditional_models_do_not_need_labels(smoke_config, monkeypatch):
    monkeypatch.setattr(MNISTDataModule, "num_classes", None)
    datamodule, model, _ = build(smoke_config("model=dcgan"))
    assert not datamodule.spec.labelled and not model.requires_labels
    images = torch.rand(2, *model.image_shape)
    loss, _ = model.generator_loss(
        model.prepare_batch(images), model.generate(model.prepare_batch(images), None)
    )
    assert torch.isfinite(loss)


def test_required_option_left_unset_is_named(smoke_config):
    with pytest.raises(
        ConfigError, match=r"data\.root must be set \(e\.g\. data\.root=…\); the config leaves it \?\?\?"
    ):
        build(smoke_config("data=paired_folder"))


def test_constructor_errors_surface_as_one_line(smoke_config):
    with pytest.raises(ConfigError, match=r"^model\.noise must be 'normal' or 'uniform', got 'gaussian'$"):
        build(smoke_config("model.noise=gaussian"))


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (
            "pix2pix",
            "mnist",
            r"model=pix2pix trains on paired images \(A → B\), but data=mnist holds single "
            r"images \(noise → image\): use data=edges2shoes, data=mnist_outlines or data=paired_folder",
        ),
        (
            "cyclegan",
            "mnist_outlines",
            r"model=cyclegan trains on two unpaired image domains \(A ↔ B\), but "
            r"data=mnist_outlines holds paired images .*: use data=horse2zebra, data=mnist_strokes or "
            r"data=unpaired_folder data\.root=…$",
        ),
        (
            "dcgan",
            "mnist_strokes",
            r"model=dcgan trains on single images \(noise → image\), but "
            r"data=mnist_strokes holds two unpaired image domains .*: use data=mnist or data=image_folder "
            r"data\.root=…$",
        ),
        ("cgan", "mnist_outlines", r"model=cgan trains on single images"),
    ],
)
def test_a_model_on_data_of_another_layout_names_the_data_it_needs(smoke_config, model, data, message):
    with pytest.raises(ConfigError, match=message):
        build(smoke_config(f"model={model}", f"data={data}"))


def test_images_of_their_own_size_are_rounded_to_the_generators_stride(smoke_config, tmp_path):
    """preprocess=none keeps each image's size; 33 px would come back as 36 from the ResNet generator."""
    from synthetic_images import write_unpaired_dataset

    from gan_experiments.train import train

    root = write_unpaired_dataset(tmp_path / "odd", n_a=2, n_b=2, n_test_a=2, n_test_b=2, size=33)
    cfg = smoke_config(
        "model=cyclegan", "data=unpaired_folder", f"data.root={root}", "data.preprocess=none",
        "data.flip=false", "data.num_workers=0", output_dir=tmp_path / "run",
    )  # fmt: skip
    train(cfg)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_a_free_image_size_the_generator_cannot_return_names_the_option_that_fits(smoke_config, tmp_path):
    """preprocess=none keeps each image's size, rounded to data.size_multiple (4, as the official code):
    a U-Net of depth 5 needs multiples of 32. The model refuses the pair in one line naming the option;
    the data is never changed behind the user's back."""
    from synthetic_images import write_paired_dataset

    root = write_paired_dataset(tmp_path / "odd", n_train=2, n_val=2, size=40)
    options = ("model=pix2pix", "data=paired_folder", f"data.root={root}", "data.preprocess=none")
    with pytest.raises(
        ConfigError, match=r"^data\.size_multiple=4: .* divisible by 32; set data\.size_multiple=32$"
    ):
        build(smoke_config(*options, "model.generator.depth=5"))


def test_evaluate_rounds_the_images_as_training_did(smoke_config, tmp_path, monkeypatch):
    """With data.size_multiple=32 training rounds 40 px to 32, and `evaluate`, which rebuilds the data from
    the checkpoint, rounds the same way (its run config holds the option)."""
    from conftest import make_config
    from synthetic_images import write_paired_dataset

    from gan_experiments.evaluate import evaluate
    from gan_experiments.metrics import inception
    from gan_experiments.train import train

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))  # no Inception weights: quick
    monkeypatch.setattr(inception, "_warned", False)
    root = write_paired_dataset(tmp_path / "odd", n_train=2, n_val=2, size=40)
    train(
        smoke_config(
            "model=pix2pix", "data=paired_folder", f"data.root={root}", "data.preprocess=none",
            "data.size_multiple=32", "data.flip=false", "data.num_workers=0", "model.generator.depth=5",
            output_dir=tmp_path / "run",
        )
    )  # fmt: skip
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    scores = evaluate(make_config([f"ckpt_path={checkpoint}", "device=cpu"], tmp_path / "eval", "eval"))
    assert "l1" in scores["metrics"]


def test_a_fixed_size_the_generator_cannot_return_is_refused(smoke_config, tmp_path):
    from synthetic_images import write_unpaired_dataset

    root = write_unpaired_dataset(tmp_path / "odd", n_a=2, n_b=2, n_test_a=2, n_test_b=2, size=40)
    with pytest.raises(ConfigError, match=r"^data\.image_size=33: the generator needs sizes "
                       r"divisible by 4 .*; use 32 or 36$"):  # fmt: skip
        build(
            smoke_config("model=cyclegan", "data=unpaired_folder", f"data.root={root}", "data.image_size=33")
        )


def test_a_validation_split_larger_than_the_training_set_is_named(fake_mnist_dir):
    data = MNISTDataModule(str(fake_mnist_dir), image_size=28, val_size=5000, download=False)
    expected = r"^data\.val_size=5000: expected 0 ≤ val_size < \d+, the number of training images"
    with pytest.raises(ConfigError, match=expected):
        data.setup("fit")


def test_every_hint_of_the_model_data_check_names_data_that_passes_it(tmp_path):
    """Each model config against each data config: where `check_model_fits` refuses the pair, every data
    option its hint names passes the same check with that model (a cGAN is not sent to unlabelled
    images); and the facts the hints are drawn from are the data modules' own."""
    import re

    from conftest import CONF_DIR
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from gan_experiments.data.spec import DATA_OPTIONS, check_model_fits
    from gan_experiments.instantiation import instantiate_checked
    from gan_experiments.train import model_class_of

    names = {group: sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")) for group in ("model", "data")}
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        models = {name: model_class_of(compose("train", [f"model={name}"])) for name in names["model"]}
        specs = {}
        for name in names["data"]:
            data = compose("train", [f"data={name}"]).data
            if OmegaConf.is_missing(data, "root"):
                with open_dict(data):
                    data.root = str(tmp_path)
            specs[name] = instantiate_checked(data).spec
    GlobalHydra.instance().clear()

    for layout, options in DATA_OPTIONS.items():
        for option, labelled in options:
            spec = specs[option.split()[0].removeprefix("data=")]
            assert (spec.layout, spec.labelled) == (layout, labelled), option
    followed = set()
    for model_name, model in models.items():
        facts = (model.data_layout, model.requires_labels)
        for data_name, spec in specs.items():
            try:
                check_model_fits(spec, *facts, model_name, data_name)
            except ConfigError as error:
                hint = re.split(r"[;:] use ", str(error))[-1]
                suggested = re.findall(r"data=(\w+)", hint)
                assert suggested, error
                for name in suggested:
                    check_model_fits(specs[name], *facts, model_name, name)  # the hint passes
                    followed.add((model_name, name))
    assert ("cgan", "mnist") in followed and ("cgan", "image_folder") not in followed


def test_a_conditional_gan_on_data_of_another_layout_is_sent_to_labelled_data(smoke_config, tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"^model=cgan trains on single images \(noise → image\) with class labels, but "
        r"data=unpaired_folder holds two unpaired image domains \(A ↔ B\): use data=mnist$",
    ):
        build(smoke_config("model=cgan", "data=unpaired_folder", f"data.root={tmp_path}"))


MNIST = "data.data_dir={mnist}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            ["data.image_size=20"],
            r"^data\.image_size=20: padding needs an even size >= 28; use data\.resize_mode=resize$",
            id="mnist-pad",
        ),
        pytest.param(
            ["data=stacked_mnist", MNIST, "data.image_size=29"],
            r"^data\.image_size=29: Stacked MNIST pads the 28 px digits, so it needs an even size >= 28",
            id="stacked-pad",
        ),
        pytest.param(
            ["+model.g_optimizer.weight_decay=-1"],
            r"^model\.g_optimizer: Invalid weight_decay value: -1$",
            id="optimizer-value",
        ),
        pytest.param(
            ["+model.d_optimizer.foo=1"],
            r"^model\.d_optimizer: .*unexpected keyword argument 'foo'$",
            id="optimizer-key",
        ),
        pytest.param(
            ["model=pix2pix", "data=mnist_outlines", MNIST, "model.lr_scheduler.n_epochs=-1"],
            r"^model\.lr_scheduler: n_epochs and n_epochs_decay must be >= 0, got -1, 100$",
            id="schedule",
        ),
        pytest.param(
            ["+trainer.gradient_clip_val=1"],
            r"^trainer\.gradient_clip_val must be null .* set model\.grad_clip_norm",
            id="clipping",
        ),
        pytest.param(
            ["+trainer.val_check_interval=1000"],
            r"^trainer: `val_check_interval` \(1000\) must be less than or equal",
            id="lightning-in-fit",
        ),
    ],
)
def test_a_config_error_is_one_line_wherever_it_is_found(
    smoke_config, fake_mnist_dir, tmp_path, overrides, message
):
    """Found in a data module's setup (MNIST's padding), in `configure_optimizers` (the optimizers and the
    schedule), or by Lightning inside fit (val_check_interval against the batches): each is a ConfigError
    (one line from every command) and is found before anything is written."""
    with pytest.raises(ConfigError, match=message):
        train(smoke_config(*(o.format(mnist=fake_mnist_dir) for o in overrides)))
    assert not (tmp_path / "checkpoints").exists()


def test_a_check_that_names_an_option_raises_a_config_error():
    """The rule behind one line per bad value: a check whose message names a config option (`data.…`,
    `model.…`, …) raises ConfigError, which every command reports as one line wherever the check runs (a
    constructor, a data module's setup, a hook inside fit); a plain ValueError is one line only when a
    constructor raises it, so library checks (a network's arguments, a tensor's shape) keep it."""
    import ast
    import re

    from conftest import ROOT

    option = re.compile(r"^(data|model|loss|callbacks|trainer|perf|logger|regularizer|extension)\.\w")
    offenders = []
    for path in sorted((ROOT / "gan_experiments").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            call = node.exc if isinstance(node, ast.Raise) else None
            if not (
                isinstance(call, ast.Call) and getattr(call.func, "id", None) == "ValueError" and call.args
            ):
                continue
            first = call.args[0] if call.args else None
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]
            if isinstance(first, ast.Constant) and option.match(str(first.value)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
