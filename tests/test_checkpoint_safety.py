"""A checkpoint is a trust boundary: hostile pickles and hostile `_target_`s are refused with one line
and execute nothing; `train ckpt_path=…` says in one line what is wrong with the file."""

from __future__ import annotations

import builtins
import copy
import fractions
import shutil
from pathlib import Path

import pytest
import torch
from conftest import make_config

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY
from gan_experiments.checkpoints import CheckpointError, load_model, read_checkpoint, target_is_allowed
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.generate import generate
from gan_experiments.train import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fake_mnist_dir) -> dict[str, Path]:
    """A smoke dcgan checkpoint and the synthetic MNIST it was trained on."""
    root = tmp_path_factory.mktemp("safety")
    mnist = shutil.copytree(fake_mnist_dir, root / "mnist")
    overrides = ["debug=smoke", "data.download=false", "model=dcgan", f"data.data_dir={mnist}"]
    train(make_config([*overrides, "data.val_size=32"], root / "run"))
    return {"checkpoint": root / "run" / "checkpoints" / "last.ckpt", "mnist": mnist, "root": root}


class WritesAFileWhenUnpickled:
    """What a hostile pickle does: its reduction calls a function of the attacker's choice."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


def with_config(checkpoint: Path, out: Path, edit) -> Path:
    """A copy of `checkpoint` whose stored run config `edit` changed."""
    content = torch.load(checkpoint, weights_only=True)
    content[CHECKPOINT_KEY] = copy.deepcopy(content[CHECKPOINT_KEY])
    edit(content[CHECKPOINT_KEY])
    torch.save(content, out)
    return out


def generate_from(checkpoint: Path, tmp_path: Path, *extra: str):
    out = tmp_path / "samples.png"
    cfg = make_config([f"ckpt_path={checkpoint}", f"out={out}", "num=4", *extra], tmp_path, "generate")
    return generate(cfg), out


def test_checkpoints_the_project_writes_load_weights_only(trained):
    checkpoint = read_checkpoint(trained["checkpoint"])
    assert CHECKPOINT_KEY in checkpoint and "state_dict" in checkpoint
    model, cfg = load_model(trained["checkpoint"])
    assert cfg.model._target_ == "gan_experiments.models.gan.GAN" and not model.training


PREVIOUS_FORMAT = Path(__file__).parent / "data" / "gan_smoke_2026-11-23.ckpt"


def test_a_checkpoint_of_the_previous_format_loads_and_samples(tmp_path):
    """Written before the safe loader existed (tests/data/README.md): it opens weights-only and its
    generator samples through `generate`."""
    model, cfg = load_model(PREVIOUS_FORMAT)
    assert cfg.model.z_dim == 4 and not model.training
    path, out = generate_from(PREVIOUS_FORMAT, tmp_path)
    assert out.is_file() and path == out


def test_a_pickle_payload_is_refused_and_never_runs(trained, tmp_path):
    marker = tmp_path / "payload-ran"
    hostile = tmp_path / "hostile.ckpt"
    content = torch.load(trained["checkpoint"], weights_only=True)
    content["extra"] = WritesAFileWhenUnpickled(marker)
    torch.save(content, hostile)
    with pytest.raises(
        CheckpointError, match=r"^ckpt_path=.*hostile\.ckpt: refused to load: its pickle asks for io\.open"
    ):
        generate_from(hostile, tmp_path)
    assert not marker.exists(), "the payload ran"
    assert not (tmp_path / "samples.png").exists()


@pytest.mark.parametrize(
    ("target", "args"),
    [
        ("builtins.open", ["VICTIM", "w"]),
        ("os.system", ["echo ran > VICTIM"]),
        ("gan_experiments.checkpoints.pickle.loads", [b"x"]),  # inside the package's name, not its class
        # a class of Lightning, reached through a callback module's imports: not a callback
        ("lightning.pytorch.callbacks.model_checkpoint.pl.cli.LightningCLI", []),
        ("torch.nn.functional.torch.save", ["x", "VICTIM"]),
    ],
)
def test_a_run_config_naming_other_code_is_refused_and_never_runs(trained, tmp_path, target, args):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    arguments = [a.replace("VICTIM", str(victim)) if isinstance(a, str) else a for a in args]

    def edit(config):
        config["model"]["generator"] = {"_target_": target, "_args_": arguments}

    hostile = with_config(trained["checkpoint"], tmp_path / "hostile.ckpt", edit)
    with pytest.raises(
        CheckpointError,
        match=rf"^ckpt_path=.*: refused to load: its run config sets model\.generator\._target_={target}, ",
    ):
        generate_from(hostile, tmp_path)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        (
            "a YAML string",  # OmegaConf.create would parse it and build what it names
            lambda c: "model: {_target_: os.system, _args_: [echo ran > VICTIM]}",
            r"its run config is not the mapping gan_experiments\.train stores",
        ),
        (
            "a node built by a resolver",
            lambda c: {**c, "model": {**c["model"], "x": "${oc.create:{_target_: os.system, _args_: [x]}}"}},
            r"its run config has an interpolation at model\.x",
        ),
        (
            "an environment variable read into an argument",
            lambda c: {**c, "data": {**c["data"], "data_dir": "/tmp/${oc.env:HOME}"}},
            r"its run config has an interpolation at data\.data_dir",
        ),
        (
            "a download source of its own",
            lambda c: {**c, "data": {**c["data"], "download_url": "http://example.invalid/x.zip"}},
            r"its run config sets data\.download_url=http://example\.invalid/x\.zip",
        ),
        (
            "a tensor where a value belongs",
            lambda c: {**c, "model": {**c["model"], "z_dim": torch.zeros(1)}},
            r"its run config is not a valid config",
        ),
    ],
)
def test_a_run_config_that_is_not_the_plain_tree_train_stores_is_refused(
    trained, tmp_path, name, edit, message
):
    hostile = tmp_path / "hostile.ckpt"
    content = torch.load(trained["checkpoint"], weights_only=True)
    content[CHECKPOINT_KEY] = edit(copy.deepcopy(content[CHECKPOINT_KEY]))
    torch.save(content, hostile)
    with pytest.raises(CheckpointError, match=rf"^ckpt_path=.*hostile\.ckpt: refused to load: {message}"):
        generate_from(hostile, tmp_path)
    assert not (tmp_path / "samples.png").exists()


def test_allowed_targets_are_the_projects_building_blocks():
    for target in (
        "gan_experiments.models.gan.GAN",
        "gan_experiments.networks.dcgan.DCGANGenerator",
        "gan_experiments.models.schedules.linear_decay",
        "torch.optim.Adam",
        "torch.nn.BatchNorm2d",
        "lightning.pytorch.Trainer",
        "lightning.pytorch.callbacks.ModelCheckpoint",
    ):
        assert target_is_allowed(target), target
    for target in ("builtins.eval", "subprocess.run", "gan_experiments.data.download.fetch", 42, None):
        assert not target_is_allowed(target), target


def test_trust_checkpoint_opens_a_file_the_checks_refuse(trained, tmp_path):
    odd = tmp_path / "odd.ckpt"
    content = torch.load(trained["checkpoint"], weights_only=True)
    content["extra"] = fractions.Fraction(1, 3)  # harmless, but not a type the project writes
    torch.save(content, odd)
    with pytest.raises(CheckpointError, match=r"asks for fractions\.Fraction.*trust_checkpoint=true"):
        generate_from(odd, tmp_path)
    generate_from(odd, tmp_path, "trust_checkpoint=true")
    assert (tmp_path / "samples.png").stat().st_size > 0


# ---------------------------------------------------------------- train ckpt_path=…
def resume(trained, tmp_path, *overrides: str):
    base = ["debug=smoke", "data.download=false", f"data.data_dir={trained['mnist']}", "data.val_size=32"]
    return train(make_config([*base, *overrides], tmp_path / "resumed"))


def test_resume_from_a_missing_file_is_one_line(trained, tmp_path):
    with pytest.raises(UserError, match=r"^ckpt_path=.*nowhere\.ckpt: no such checkpoint file$"):
        resume(trained, tmp_path, "model=dcgan", f"ckpt_path={tmp_path / 'nowhere.ckpt'}")


def test_resume_from_a_file_that_is_no_checkpoint_is_one_line(trained, tmp_path):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(UserError, match=r"^ckpt_path=.*junk\.ckpt: not a readable checkpoint"):
        resume(trained, tmp_path, "model=dcgan", f"ckpt_path={junk}")
    assert not (tmp_path / "resumed" / "checkpoints").exists()


def test_resume_with_another_model_is_one_line(trained, tmp_path):
    with pytest.raises(ConfigError, match=r"a checkpoint of GAN, but this command trains ConditionalGAN"):
        resume(trained, tmp_path, "model=cgan", f"ckpt_path={trained['checkpoint']}")
    with pytest.raises(
        ConfigError, match=r"does not fit model=gan as configured: generator\..* in the checkpoint"
    ):
        resume(trained, tmp_path, "model=gan", f"ckpt_path={trained['checkpoint']}")
    with pytest.raises(ConfigError, match=r"does not fit model=dcgan as configured"):
        resume(
            trained, tmp_path, "model=dcgan", "model.generator.width=16", f"ckpt_path={trained['checkpoint']}"
        )
    with pytest.raises(
        ConfigError, match=r"generator_ema\..* is missing in the checkpoint"
    ):  # trained without EMA
        resume(
            trained, tmp_path, "model=dcgan", "model.ema_decay=0.999", f"ckpt_path={trained['checkpoint']}"
        )


def test_resume_of_a_hostile_checkpoint_is_refused(trained, tmp_path):
    marker = tmp_path / "payload-ran"
    hostile = tmp_path / "hostile.ckpt"
    content = torch.load(trained["checkpoint"], weights_only=True)
    content["extra"] = WritesAFileWhenUnpickled(marker)
    torch.save(content, hostile)
    with pytest.raises(CheckpointError, match="refused to load"):
        resume(trained, tmp_path, "model=dcgan", f"ckpt_path={hostile}", "trainer.max_epochs=2")
    assert not marker.exists()
