"""`export`: every model family's generator as TorchScript and ONNX, loaded back the way a user would,
equal to the eager model at another batch size, with its metadata; the EMA switch; one-line errors."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from conftest import make_config
from synthetic_images import write_paired_dataset, write_unpaired_dataset

import gan_experiments.export as export_module
from gan_experiments.checkpoints import load_model
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.export import export
from gan_experiments.train import train

#: max |exported − eager|: TorchScript runs the same kernels; onnxruntime fp32 kernels differ slightly
TOLERANCE = {"torchscript": 1e-4, "onnx": 1e-3}
SUFFIX = {"torchscript": ".pt", "onnx": ".onnx"}
#: what the metadata must say about each smoke checkpoint (MNIST 32 px gray, image folders 32 px RGB)
EXPECTED = {
    "gan": {"model": "GAN", "generator": "MLPGenerator", "noise": "normal", "z_dim": 100, "ema": False},
    "dcgan": {"model": "GAN", "generator": "DCGANGenerator", "noise": "normal", "z_dim": 100, "ema": True},
    "conv_gan": {
        "model": "GAN",
        "generator": "ConvGANGenerator",
        "noise": "uniform",
        "z_dim": 96,
        "ema": False,
    },
    "cgan": {"model": "ConditionalGAN", "generator": "ConditionalGenerator", "num_classes": 10, "ema": False},
    "pix2pix": {
        "model": "Pix2Pix",
        "generator": "UnetGenerator",
        "direction": "AtoB",
        "input_range": [-1, 1],
    },
    "cyclegan": {"model": "CycleGAN", "generator": "ResnetGenerator", "input_range": [-1, 1]},
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The smoke networks are far too small for intra-op threads; on a busy 2-core machine two threads
    wait on each other (measured: 1.4 s instead of 7 ms per CycleGAN forward)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, fake_mnist_dir, one_thread) -> dict[str, Path]:
    """One smoke checkpoint per family (DCGAN with an EMA generator), metrics and grids off."""
    root = tmp_path_factory.mktemp("export")
    paired = write_paired_dataset(root / "pairs", n_train=4, n_val=2, size=40)
    unpaired = write_unpaired_dataset(root / "h2z", n_a=4, n_b=4, n_test_a=2, n_test_b=2, size=40)
    mnist = [f"data.data_dir={fake_mnist_dir}", "data.val_size=32"]
    fast = ["debug=smoke", "data.download=false", "callbacks.metrics.every_n_epochs=0"]
    fast += ["~callbacks.sample_grid", "~callbacks.best_checkpoint"]
    runs = {
        "gan": ["model=gan", *mnist],
        "dcgan": ["model=dcgan", "model.ema_decay=0.9", *mnist],
        "conv_gan": ["model=conv_gan", *mnist],
        "cgan": ["model=cgan", *mnist],
        "pix2pix": ["model=pix2pix", "data=paired_folder", f"data.root={paired}"],
        "cyclegan": ["model=cyclegan", "data=unpaired_folder", f"data.root={unpaired}"],
    }
    for name, overrides in runs.items():
        train(make_config([*fast, *overrides], root / name))
    return {name: root / name / "checkpoints" / "last.ckpt" for name in runs}


def export_config(tmp_path: Path, ckpt: Path | str, *overrides: str):
    return make_config([f"ckpt_path={ckpt}", *overrides], tmp_path, config_name="export")


def needs_onnx(fmt: str) -> None:
    if fmt == "onnx":
        for package in ("onnx", "onnxscript", "onnxruntime"):
            pytest.importorskip(package)


def inputs_for(model, family: str, batch: int, seed: int = 7) -> tuple[torch.Tensor, ...]:
    rng = torch.Generator().manual_seed(seed)
    if family in ("pix2pix", "cyclegan"):
        return (torch.rand(batch, 3, 32, 32, generator=rng) * 2 - 1,)
    z = model.sample_noise(batch, rng)
    if family == "cgan":
        return z, torch.randint(model.num_classes, (batch,), generator=rng)
    return (z,)


def run_file(path: Path, fmt: str, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict]:
    """(output, metadata) through the public loaders only, as the docs show a user."""
    if fmt == "torchscript":
        files = {"metadata.json": ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit
            module = torch.jit.load(str(path), _extra_files=files)
        with torch.no_grad():
            return module(*inputs), json.loads(files["metadata.json"])
    import onnx
    import onnxruntime

    meta = {p.key: json.loads(p.value) for p in onnx.load(str(path)).metadata_props}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert all(i.shape[0] == "batch" for i in session.get_inputs())  # the dynamic batch axis, named
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs, strict=True)}
    return torch.from_numpy(session.run(["image"], feeds)[0]), meta


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("family", list(EXPECTED))
def test_every_family_exports_loads_back_and_matches_the_eager_model(checkpoints, tmp_path, family, fmt):
    needs_onnx(fmt)
    out = tmp_path / f"{family}{SUFFIX[fmt]}"
    results = export(export_config(tmp_path, checkpoints[family], f"format={fmt}", f"out={out}"))
    directions = ["AtoB", "BtoA"] if family == "cyclegan" else [None]
    paths = [out.with_name(f"{family}_{d}{out.suffix}") if family == "cyclegan" else out for d in directions]
    assert [r.path for r in results] == paths
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # and no temporary file left behind
    model, _ = load_model(checkpoints[family])
    for result, direction in zip(results, directions, strict=True):
        assert result.max_abs_diff < TOLERANCE[fmt]  # the command's own check (batch 3, traced at 2)
        inputs = inputs_for(model, family, batch=4)
        got, meta = run_file(result.path, fmt, inputs)
        with torch.no_grad():
            expected = model(*inputs, **({"direction": direction} if direction else {}))
        assert got.shape == expected.shape and (got - expected).abs().max() < TOLERANCE[fmt]

        assert meta == result.metadata
        assert {k: meta[k] for k in EXPECTED[family]} == EXPECTED[family]
        assert meta["format"] == fmt and meta["producer"] == "gan_experiments.export"
        assert meta["checkpoint"] == str(checkpoints[family].resolve())
        assert meta["output_range"] == [-1, 1] and meta["outputs"][0]["name"] == "image"
        assert meta["outputs"][0]["shape"] == ["batch", *meta["image_shape"]]
        names = [(i["name"], i["shape"], i["dtype"]) for i in meta["inputs"]]
        if family in ("pix2pix", "cyclegan"):
            assert meta["direction"] == direction or family == "pix2pix"
            assert names == [("source", ["batch", 3, 32, 32], "float32")] and meta["image_shape"] == [
                3,
                32,
                32,
            ]
        else:
            assert meta["direction"] is None and meta["image_shape"] == [1, 32, 32]
            z_dim = model.z_dim
            assert names[0] == ("z", ["batch", z_dim], "float32") and meta["z_dim"] == z_dim
            assert meta["inputs"][0]["distribution"] == ("N(0, 1)" if model.noise == "normal" else "U[-1, 1)")
            if family == "cgan":
                assert names[1] == ("labels", ["batch"], "int64") and meta["inputs"][1]["range"] == [0, 9]
        if fmt == "onnx":
            assert meta["opset"] >= 18


def test_ema_switch_exports_the_average_or_the_last_weights(checkpoints, tmp_path):
    ckpt = checkpoints["dcgan"]
    model, _ = load_model(ckpt)
    z = inputs_for(model, "dcgan", batch=5)
    outputs = {}
    for ema in (True, False):
        out = tmp_path / f"ema_{ema}.pt"
        (result,) = export(export_config(tmp_path, ckpt, "format=torchscript", f"out={out}", f"ema={ema}"))
        outputs[ema], meta = run_file(out, "torchscript", z)
        assert meta["ema"] is ema and result.max_abs_diff < 1e-4
    with torch.no_grad():
        assert (outputs[True] - model.generator_ema.module(*z)).abs().max() < 1e-6
        assert (outputs[False] - model.generator(*z)).abs().max() < 1e-6
    # two smoke steps barely move G (outputs ~4e-3), yet the average and the last weights differ far
    # beyond the exports' error
    assert (outputs[True] - outputs[False]).abs().max() > 1e-4


def test_cyclegan_one_direction_and_the_default_name_beside_the_checkpoint(checkpoints, tmp_path):
    ckpt = shutil.copy(checkpoints["cyclegan"], tmp_path / "run.ckpt")
    (result,) = export(export_config(tmp_path, ckpt, "format=torchscript", "direction=BtoA"))
    assert result.path == tmp_path / "run_generator.pt" and result.metadata["direction"] == "BtoA"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt", "run_generator.pt"]
    umask = os.umask(0)
    os.umask(umask)
    assert result.path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not a temp file's 0600
    model, _ = load_model(ckpt)
    source = inputs_for(model, "cyclegan", batch=2)
    got, _ = run_file(result.path, "torchscript", source)
    with torch.no_grad():
        assert (got - model.generator_ba(*source)).abs().max() < 1e-5


def test_an_interrupted_export_keeps_the_previous_file_and_leaves_no_partial_one(
    checkpoints, tmp_path, monkeypatch
):
    out = tmp_path / "generator.pt"
    out.write_bytes(b"previous export")

    def write_half_then_fail(target, example, meta, path):
        path.write_bytes(b"half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(export_module, "write_torchscript", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export(export_config(tmp_path, checkpoints["gan"], "format=torchscript", f"out={out}"))
    assert out.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["generator.pt"]


@pytest.mark.parametrize(
    "family, overrides, error, message",
    [
        ("gan", ["format=tflite"], ConfigError, r"format must be onnx or torchscript, got 'tflite'"),
        ("pix2pix", ["direction=AtoB"], ConfigError, r"direction=AtoB: only a CycleGAN checkpoint has two"),
        ("gan", ["direction=BtoA"], ConfigError, r"direction=BtoA: only a CycleGAN .* a GAN generates from"),
        ("cyclegan", ["direction=sideways"], ConfigError, r"direction must be AtoB, BtoA or null"),
        (None, ["ckpt_path=nowhere.ckpt"], UserError, r"ckpt_path=nowhere.ckpt: no such checkpoint file"),
        (None, [], ConfigError, r"ckpt_path must be set"),
        ("gan", ["out=g.onnx"], ConfigError, r"out=g.onnx: format=torchscript writes \.pt files"),
        ("gan", ["opset=11"], ConfigError, r"opset must be null or an integer >= 18, got 11"),
        ("cyclegan", ["image_size=30"], ConfigError, r"image_size=30: .* divisible by 4; use 28 or 32"),
        ("gan", ["out=<ckpt>"], ConfigError, r"that is the checkpoint itself"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(checkpoints, tmp_path, family, overrides, error, message):
    """format=torchscript unless the case sets one, so that no case depends on the optional packages."""
    ckpt = [f"ckpt_path={checkpoints[family]}"] if family else []
    if family:
        overrides = [o.replace("<ckpt>", str(checkpoints[family])) for o in overrides]
    fmt = [] if any(o.startswith("format=") for o in overrides) else ["format=torchscript"]
    cfg = make_config([*ckpt, *fmt, *overrides], tmp_path, config_name="export")
    with pytest.raises(error, match=message) as raised:
        export(cfg)
    assert "\n" not in str(raised.value)


def test_onnx_without_its_packages_says_what_to_install(checkpoints, tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxruntime" else real_find_spec(name, *a),
    )
    cfg = export_config(tmp_path, checkpoints["gan"], "format=onnx", f"out={tmp_path / 'g.onnx'}")
    with pytest.raises(UserError) as raised:
        export(cfg)
    message = str(raised.value)
    assert message.startswith(
        "format=onnx needs the optional packages onnx, onnxscript and onnxruntime: pip install -e '.[export]'"
    )
    assert message.endswith("onnxruntime)") and "\n" not in message  # "(missing: …)" names the absent ones
    assert not (tmp_path / "g.onnx").exists()


def test_the_entry_point_writes_the_file_and_logs_the_parity(checkpoints, tmp_path, caplog):
    """`main` as Hydra calls it with the composed config (a subprocess would add ~8 s of imports)."""
    caplog.set_level(logging.INFO, logger="gan_experiments.export")
    out = tmp_path / "g.pt"
    export_module.main(export_config(tmp_path, checkpoints["cgan"], "format=torchscript", f"out={out}"))
    assert "parity g.pt: max |torchscript - eager| = 0 on a batch of 3" in caplog.messages
    assert export_module.read_metadata(out)["num_classes"] == 10


def test_the_entry_point_logs_bad_input_in_one_line_and_exits_1(checkpoints, tmp_path, caplog):
    cfg = export_config(tmp_path, checkpoints["pix2pix"], "format=torchscript", "direction=BtoA")
    with pytest.raises(SystemExit) as exited:
        export_module.main(cfg)  # Hydra hands a composed config straight to the function
    assert exited.value.code == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].getMessage().startswith("direction=BtoA: only a CycleGAN")
    assert not list(tmp_path.glob("*.pt"))


def test_parity_sees_weights_that_differ_from_the_file(checkpoints, tmp_path):
    """The check is not vacuous: the same file against a changed model reads a large difference."""
    out = tmp_path / "g.pt"
    cfg = export_config(tmp_path, checkpoints["conv_gan"], "format=torchscript", f"out={out}")
    export(cfg)
    model, run = load_model(checkpoints["conv_gan"])
    (target,) = export_module.export_targets(model, run, cfg)
    assert export_module.parity(out, "torchscript", target, batch=4) == 0
    with torch.no_grad():
        model.generator.project[0].bias.add_(1.0)
    assert export_module.parity(out, "torchscript", target, batch=4) > 1e-2


def test_a_file_that_fails_the_parity_check_is_not_written(checkpoints, tmp_path, monkeypatch):
    """A graph that computes something else (here: the parity check reads 0.5) is refused in one line and
    leaves neither the file nor a temporary one."""
    monkeypatch.setattr(export_module, "parity", lambda *args, **kwargs: 0.5)
    out = tmp_path / "g.pt"
    with pytest.raises(UserError, match=r"failed its parity check: max \|torchscript - eager\| = 0\.5"):
        export(export_config(tmp_path, checkpoints["gan"], "format=torchscript", f"out={out}"))
    assert not out.exists() and not list(tmp_path.glob(".g.pt.*.part"))
