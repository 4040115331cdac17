"""`import_official`: generator weights of junyanz/pytorch-CycleGAN-and-pix2pix as a project checkpoint.

The official networks are stood in for by `official_reference` (built from the official layer order, in
its key layout, with random weights): the imported generator must compute what they compute, in eval mode
and in test.py's protocol (train mode: dropout on, batch statistics), and the written file must go through
translate, export and evaluate like a checkpoint of the project's own.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from pathlib import Path

import pytest
import torch
from conftest import make_config
from official_reference import (
    N_BLOCKS,
    NUM_DOWNS,
    ReferenceResnetGenerator,
    ReferenceUnetGenerator,
    legacy_instance_norm_entries,
    reference_generator,
)
from synthetic_images import random_image, truncate, write_image, write_paired_dataset

from gan_experiments.callbacks.run_config import CHECKPOINT_KEY, IMPORTED_KEY
from gan_experiments.checkpoints import load_model, read_checkpoint
from gan_experiments.data.image_folders import ImageFolderDataset, read_image, to_image
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.evaluate import evaluate
from gan_experiments.export import export
from gan_experiments.import_official import (
    GeneratorOptions,
    import_official,
    main,
    official_layout,
    parse_args,
)
from gan_experiments.train import train
from gan_experiments.translate import translate

PREVIOUS_FORMAT = Path(__file__).parent / "data" / "gan_smoke_2026-11-23.ckpt"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks: one intra-op thread is faster than two waiting on each other on 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_import(*argv: str | Path) -> Path:
    return import_official(parse_args([str(a) for a in argv]))


def save_official(net: torch.nn.Module, path: Path, extra: dict | None = None, **kwargs) -> Path:
    """What the official save_networks writes: the generator's state dict (OrderedDict with _metadata)."""
    state = net.state_dict()
    state.update(extra or {})
    torch.save(state, path, **kwargs)
    return path


def size_of(net_g: str) -> int:
    return {"unet_256": 256, "unet_128": 128}.get(net_g, 32)


# ---------------------------------------------------------------- the layout, at full size
@pytest.mark.parametrize("net_g", ["resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"])
def test_every_official_layout_maps_one_to_one_at_full_size(net_g):
    """ngf 64, RGB, on the meta device: the official key, shape and order of every tensor is the one the
    mapping assigns, for every norm and with or without dropout; parameter counts are the official ones."""
    for norm in ("batch", "instance", "none"):
        for dropout in (False, True):
            with torch.device("meta"):
                if net_g in N_BLOCKS:
                    official = ReferenceResnetGenerator(3, 3, 64, norm, dropout, N_BLOCKS[net_g])
                else:
                    official = ReferenceUnetGenerator(3, 3, 64, norm, dropout, NUM_DOWNS[net_g])
                project = GeneratorOptions(net_g, norm, not dropout, 3, 3, 64).build(3, 3)
            layout = official_layout(project, norm)
            assert [(s.official, s.shape) for s in layout.slots] == [
                (key, tuple(t.shape)) for key, t in official.state_dict().items()
            ], (net_g, norm, dropout)
            official_count = sum(p.numel() for p in official.parameters())
            zeros = sum(torch.Size(shape).numel() for shape in layout.zero_biases.values())
            assert sum(p.numel() for p in project.parameters()) == official_count + zeros
            assert bool(zeros) == (norm == "none")
            if (net_g, norm) == ("unet_256", "batch"):
                assert official_count == 54_413_955
            if (net_g, norm) == ("resnet_9blocks", "instance"):
                assert official_count == 11_378_179


# ---------------------------------------------------------------- parity
PARITY_CASES = [
    # netG, norm, dropout, input_nc, output_nc, direction
    ("resnet_9blocks", "instance", False, 3, 3, "AtoB"),
    ("resnet_6blocks", "batch", True, 1, 1, "AtoB"),
    ("resnet_6blocks", "none", True, 1, 3, "BtoA"),
    ("unet_256", "batch", True, 3, 3, "AtoB"),
    ("unet_128", "instance", False, 1, 1, "AtoB"),
    ("unet_128", "batch", True, 1, 3, "BtoA"),
    ("unet_256", "none", False, 3, 1, "AtoB"),
]


@pytest.mark.parametrize("net_g, norm, dropout, input_nc, output_nc, direction", PARITY_CASES)
def test_the_imported_generator_computes_what_the_official_one_does(
    tmp_path, net_g, norm, dropout, input_nc, output_nc, direction
):
    official = reference_generator(net_g, input_nc, output_nc, 4, norm, dropout, seed=1)
    legacy = legacy_instance_norm_entries(official)  # a file of PyTorch < 0.4 (empty unless InstanceNorm)
    source = save_official(official, tmp_path / "latest_net_G.pth", legacy)
    flags = ["--no_dropout"] if not dropout else []
    side = size_of(net_g)
    out = run_import(
        "--G", source, "--netG", net_g, "--norm", norm, "--input_nc", input_nc, "--output_nc", output_nc,
        "--ngf", 4, "--crop_size", side, "--direction", direction, *flags,
    )  # fmt: skip
    assert out == tmp_path / "latest_net_G.ckpt"
    model, run = load_model(out)
    assert run.model._target_.endswith("Pix2Pix") and run.data.direction == direction
    assert (model.in_channels, model.out_channels) == (input_nc, output_nc)
    x = torch.rand(2, input_nc, side, side, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        official.eval()
        expected = official(x)
        torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-6)
        assert expected.std() > 1e-3  # outputs that vary, not a constant
        model.train()
        official.train()
        for seed in (0, 1):  # test.py without --eval: dropout on, BatchNorm on the batch (of 1)
            torch.manual_seed(seed)
            got = model(x[:1])
            torch.manual_seed(seed)
            torch.testing.assert_close(got, official(x[:1]), rtol=0, atol=1e-6)
    record = torch.load(out, weights_only=True)[IMPORTED_KEY]["mapping"]["G"]
    assert record["legacy_instance_norm_entries_dropped"] == len(legacy)
    assert bool(record["zero_biases"]) == (norm == "none")


def test_both_cyclegan_directions_import_into_one_cyclegan_checkpoint(tmp_path):
    """G_A (A→B) and G_B (B→A) of a CycleGAN run with gray A and RGB B; CycleGAN trains without dropout
    (--model cycle_gan, the default for --G_A/--G_B, implies --no_dropout)."""
    g_a = reference_generator("resnet_6blocks", 1, 3, 4, "instance", False, seed=3)
    g_b = reference_generator("resnet_6blocks", 3, 1, 4, "instance", False, seed=4)
    out = run_import(
        "--G_A", save_official(g_a, tmp_path / "latest_net_G_A.pth"),
        "--G_B", save_official(g_b, tmp_path / "latest_net_G_B.pth"),
        "--netG", "resnet_6blocks", "--ngf", 4, "--input_nc", 1, "--output_nc", 3, "--crop_size", 32,
    )  # fmt: skip
    assert out == tmp_path / "latest_net_G.ckpt"
    model, run = load_model(out)
    assert run.model._target_.endswith("CycleGAN") and run.model.lambda_identity == 0
    a, b = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(a, direction="AtoB"), g_a.eval()(a), rtol=0, atol=1e-6)
        torch.testing.assert_close(model(b, direction="BtoA"), g_b.eval()(b), rtol=0, atol=1e-6)


def test_files_of_older_pytorch_and_of_dataparallel_import(tmp_path):
    """The legacy (non-zip) format, BatchNorm without num_batches_tracked (PyTorch < 0.4.1: counted 0,
    as torch's loader does) and a `module.` prefix (saved from inside nn.DataParallel)."""
    official = reference_generator("resnet_6blocks", 3, 3, 4, "batch", True, seed=5)
    state = {
        f"module.{key}": value for key, value in official.state_dict().items() if "num_batches" not in key
    }
    source = tmp_path / "old_net_G.pth"
    torch.save(state, source, _use_new_zipfile_serialization=False)
    out = run_import(
        "--G", source, "--netG", "resnet_6blocks", "--norm", "batch", "--ngf", 4, "--crop_size", 32
    )
    model, _ = load_model(out)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(x), official.eval()(x), rtol=0, atol=1e-6)
    record = torch.load(out, weights_only=True)[IMPORTED_KEY]["mapping"]["G"]
    assert record["module_prefix_stripped"] and record["batch_norm_counters_filled"] == 17


def test_the_checkpoint_records_its_origin_and_a_fresh_discriminator(tmp_path):
    official = reference_generator("unet_128", 3, 3, 4, "batch", True, seed=6)
    source = save_official(official, tmp_path / "latest_net_G.pth")
    out = run_import(
        "--G", source, "--model", "pix2pix", "--netG", "unet_128", "--ngf", 4, "--crop_size", 128,
        "--direction", "BtoA", "--dataroot", tmp_path / "facades", "--out", tmp_path / "facades.ckpt",
    )  # fmt: skip
    checkpoint = read_checkpoint(out)  # the gate translate, export and evaluate open files through
    origin = checkpoint[IMPORTED_KEY]
    assert origin["repository"] == "junyanz/pytorch-CycleGAN-and-pix2pix"
    assert origin["files"]["G"] == {
        "path": str(source.resolve()),
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "bytes": source.stat().st_size,
    }
    assert (
        origin["options"] | {"netG": "unet_128", "norm": "batch", "no_dropout": False, "ngf": 4}
        == origin["options"]
    )
    assert origin["command"].startswith("python -m gan_experiments.import_official --G ")
    assert "freshly initialized" in origin["discriminator"]
    run = checkpoint[CHECKPOINT_KEY]
    generator = run["model"]["generator"]
    assert generator["_target_"] == "gan_experiments.networks.unet.UnetGenerator"
    assert (generator["width"], generator["depth"], generator["norm"], generator["dropout"]) == (
        4,
        7,
        "batch",
        0.5,
    )
    data = run["data"]
    assert data["root"] == str((tmp_path / "facades").resolve()) and data["image_size"] == 128
    assert data["direction"] == "BtoA" and data["test_split"] == "test"
    assert any(key.startswith("discriminator.") for key in checkpoint["state_dict"])
    # the same inputs give the same file (the discriminator is seeded)
    again = run_import(
        "--G", source, "--model", "pix2pix", "--netG", "unet_128", "--ngf", 4, "--crop_size", 128,
        "--out", tmp_path / "again.ckpt",
    )  # fmt: skip
    first, second = checkpoint["state_dict"], read_checkpoint(again)["state_dict"]
    assert all(torch.equal(first[key], second[key]) for key in first if key.startswith("discriminator."))


# ---------------------------------------------------------------- refusals
class RunsCodeWhenUnpickled:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


def discriminator_weights() -> dict[str, torch.Tensor]:
    """The official PatchGAN's keys (model.0 conv, model.2 conv, model.3 BatchNorm, …, 1 channel out)."""
    patch = torch.nn.Sequential(
        torch.nn.Conv2d(6, 8, 4, 2, 1), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(8, 16, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(16, 1, 4, 1, 1),
    )  # fmt: skip
    return {f"model.{key}": value for key, value in patch.state_dict().items()}


def make_refused(kind: str, folder: Path) -> tuple[Path, list[str]]:
    """A file that is not what the options describe, and the options given with it."""
    path = folder / "latest_net_G.pth"
    resnet = ["--netG", "resnet_6blocks", "--ngf", "4", "--crop_size", "32"]
    official = reference_generator("resnet_6blocks", 3, 3, 4, "instance", True, seed=7)
    if kind == "discriminator":
        torch.save(discriminator_weights(), path)
        return path, ["--model", "pix2pix"]
    if kind == "project checkpoint":
        return PREVIOUS_FORMAT, []
    if kind == "code":
        torch.save({"model.1.weight": RunsCodeWhenUnpickled(folder / "payload-ran")}, path)
    elif kind == "truncated":
        truncate(save_official(official, path))
    elif kind == "whole network":
        torch.save(official, path)
    elif kind == "nan":
        state = official.state_dict()
        state["model.1.weight"][0, 0, 0, 0] = float("nan")
        torch.save(state, path)
    elif kind == "not a state dict":
        torch.save([torch.zeros(3)], path)
    else:
        save_official(official, path)
        return path, {
            "no_dropout": [*resnet, "--no_dropout"],
            "netG": ["--netG", "resnet_9blocks", "--ngf", "4"],
            "ngf": ["--netG", "resnet_6blocks", "--crop_size", "32"],
            "norm": [*resnet, "--norm", "batch"],
            "input_nc": [*resnet, "--input_nc", "1"],
        }[kind]
    return path, resnet


@pytest.mark.parametrize(
    "kind, message",
    [
        ("discriminator", r"it holds a discriminator's weights \(latest_net_D\*\.pth\)"),
        (
            "project checkpoint",
            "a gan_experiments checkpoint already; translate, export and evaluate open it",
        ),
        (
            "code",
            r"refused: its pickle asks for (io|builtins)\.open; official weight files .* hold tensors only",
        ),
        ("truncated", r"not a readable weights file \(.*\); truncated or damaged\?"),
        ("whole network", "refused: its pickle asks for official_reference.ReferenceResnetGenerator"),
        ("nan", r"weights hold NaN/Inf \(model.1.weight\)"),
        ("not a state dict", "holds a list, not a generator's state dict"),
        (
            "no_dropout",
            r"model\.10\.conv_block\.5\.weight \[16, 16, 3, 3\] is missing; the file fits with dropout",
        ),
        ("netG", r"model\.16\.conv_block\.1\.weight .* is missing; the file fits --netG resnet_6blocks;"),
        (
            "ngf",
            r"model\.1\.weight has shape \[4, 3, 7, 7\] where \[64, 3, 7, 7\] belongs; .* fits --ngf 4;",
        ),
        ("norm", r"model\.2\.weight \[4\] is missing; the file fits --norm instance;"),
        (
            "input_nc",
            r"model\.1\.weight has shape \[4, 3, 7, 7\] where \[4, 1, 7, 7\] belongs; .*--input_nc 3",
        ),
    ],
)
def test_files_that_are_not_the_official_generator_are_refused_in_one_line(tmp_path, kind, message):
    path, options = make_refused(kind, tmp_path)
    out = tmp_path / "out" / "imported.ckpt"
    out.parent.mkdir()
    out.write_text("the previous file")
    with pytest.raises(UserError, match=message) as raised:
        run_import("--G", path, *options, "--out", out)
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"--G {path}")
    assert out.read_text() == "the previous file"  # nothing written, nothing half-written beside it
    assert [p.name for p in out.parent.iterdir()] == ["imported.ckpt"]
    assert not (tmp_path / "payload-ran").exists()


def test_a_mismatch_of_g_b_names_the_options_as_given_for_g_a(tmp_path):
    """G_B maps output_nc → input_nc; the options that fit are still spelled as the command line has them."""
    g_a = reference_generator("resnet_6blocks", 1, 3, 4, "instance", False, seed=12)
    g_b = reference_generator("resnet_6blocks", 3, 1, 8, "instance", False, seed=13)
    with pytest.raises(UserError) as raised:
        run_import(
            "--G_A", save_official(g_a, tmp_path / "latest_net_G_A.pth"),
            "--G_B", save_official(g_b, tmp_path / "latest_net_G_B.pth"),
            "--netG", "resnet_6blocks", "--ngf", 4, "--input_nc", 1, "--output_nc", 3, "--crop_size", 32,
        )  # fmt: skip
    message = str(raised.value)
    assert message.startswith("--G_B ") and "--input_nc 1 --output_nc 3 --ngf 4:" in message
    assert message.endswith("the file fits --ngf 8; nothing was written")
    assert not (tmp_path / "latest_net_G.ckpt").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "give the generator file"),
        (["--G_A", "a.pth"], "--G_B is missing: a CycleGAN import takes both generators"),
        (["--G", "g.pth", "--model", "cycle_gan"], "--model cycle_gan loads G_A and G_B"),
        (["--G", "g.pth", "--input_nc", "4"], r"--input_nc 4: this project's images have 1 \(gray\) or 3"),
        (
            ["--G", "g.pth", "--crop_size", "200", "--netG", "unet_256"],
            "--crop_size 200: unet_256 needs image",
        ),
        (["--G", "missing.pth"], "--G missing.pth: no such file"),
        (["--name", "horse2zebra"], r"--G checkpoints/horse2zebra/latest_net_G\.pth: no such file"),
    ],
)
def test_bad_options_are_one_line(tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message):
        run_import(*argv)


def test_the_command_line_logs_one_line_and_exits_1(tmp_path, caplog):
    path, _ = make_refused("discriminator", tmp_path)
    with (
        caplog.at_level(logging.INFO, logger="gan_experiments.import_official"),
        pytest.raises(SystemExit) as exited,
    ):
        main(["--G", str(path), "--gpu_ids", "-1", "--eval", "--dataroot", "datasets/horse2zebra/testA"])
    assert exited.value.code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "discriminator" in errors[0]
    (ignored,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ignored")]
    assert "--eval: translate's default (eval mode)" in ignored and "--gpu_ids: translate device=" in ignored
    assert (
        "--dataroot: with --model test a folder of inputs; translate input_dir=datasets/horse2zebra/testA"
        in ignored
    )


def test_an_imported_checkpoint_is_not_resumed(tmp_path):
    official = reference_generator("resnet_6blocks", 3, 3, 8, "instance", False, seed=8)
    source = save_official(official, tmp_path / "latest_net_G.pth")
    out = run_import("--G", source, "--netG", "resnet_6blocks", "--ngf", 8, "--crop_size", 32, "--no_dropout")
    cfg = make_config(
        ["debug=smoke", "model=pix2pix", "data=paired_folder", f"data.root={tmp_path}", f"ckpt_path={out}"],
        tmp_path / "run",
    )
    with pytest.raises(ConfigError, match="weights imported from the official repository"):
        train(cfg)


# ---------------------------------------------------------------- through translate, export, evaluate
def image_folder(folder: Path, channels: int, side: int, count: int = 2) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        image = random_image(side, side, seed=10 + i)
        write_image(folder / f"im{i}.png", image if channels == 3 else image[:1])
    return folder


@pytest.mark.slow  # the ONNX export: ~2-4 s on a busy 2-core CPU
@pytest.mark.parametrize("net_g", ["resnet_6blocks", "resnet_9blocks"])
def test_a_cyclegan_import_translates_a_folder_and_exports_to_onnx(tmp_path, net_g):
    for package in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(package)
    g_a = reference_generator(net_g, 3, 3, 4, "instance", False, seed=9)
    g_b = reference_generator(net_g, 3, 3, 4, "instance", False, seed=10)
    out = run_import(
        "--G_A", save_official(g_a, tmp_path / "latest_net_G_A.pth", legacy_instance_norm_entries(g_a)),
        "--G_B", save_official(g_b, tmp_path / "latest_net_G_B.pth"),
        "--netG", net_g, "--ngf", 4, "--crop_size", 32,
    )  # fmt: skip
    source = image_folder(tmp_path / "testB", 3, 32)
    translated = tmp_path / "fake_A"
    cfg = make_config(
        [f"ckpt_path={out}", f"input_dir={source}", f"output_dir={translated}", "direction=BtoA"],
        tmp_path, "translate",
    )  # fmt: skip
    assert sorted(p.name for p in translate(cfg)) == ["im0.png", "im1.png"]
    x = ImageFolderDataset(source, image_size=32)[0]["image"]
    with torch.no_grad():
        expected = g_b.eval()(x[None])[0]
    got = to_image(read_image(translated / "im0.png"), 3).float() / 127.5 - 1
    assert (got - expected).abs().max() < 0.01  # 8-bit rounding
    (exported,) = export(
        make_config(
            [f"ckpt_path={out}", f"out={tmp_path / 'h2z.onnx'}", "direction=AtoB"], tmp_path, "export"
        )
    )
    assert exported.max_abs_diff < 1e-3 and exported.metadata["direction"] == "AtoB"
    import onnxruntime

    session = onnxruntime.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    a = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        official = g_a.eval()(a)
    onnx_out = torch.from_numpy(session.run(["image"], {"source": a.numpy()})[0])
    assert (onnx_out - official).abs().max() < 1e-3


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Inception FID/KID skipped")  # l1/psnr/ssim are enough here
@pytest.mark.parametrize(("net_g", "size"), [("unet_128", 128), ("unet_256", 256)])
def test_a_pix2pix_import_translates_exports_and_evaluates(tmp_path, net_g, size):
    for package in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(package)
    facades = write_paired_dataset(tmp_path / "facades", n_train=2, n_val=2, size=40)
    official = reference_generator(net_g, 3, 3, 4, "batch", True, seed=11)
    out = run_import(
        "--G", save_official(official, tmp_path / "latest_net_G.pth"), "--model", "pix2pix",
        "--netG", net_g, "--ngf", 4, "--crop_size", size, "--dataroot", facades, "--phase", "val",
    )  # fmt: skip
    source = image_folder(tmp_path / "labels", 3, size)
    for protocol in ("eval_mode=false", "eval_mode=true"):  # test.py without and with --eval
        translated = tmp_path / protocol.replace("=", "_")
        cfg = make_config(
            [f"ckpt_path={out}", f"input_dir={source}", f"output_dir={translated}", protocol],
            tmp_path,
            "translate",
        )
        assert len(translate(cfg)) == 2
    x = ImageFolderDataset(source, image_size=size)[1]["image"]
    with torch.no_grad():
        expected = official.eval()(x[None])[0]
    got = to_image(read_image(tmp_path / "eval_mode_true" / "im1.png"), 3).float() / 127.5 - 1
    assert (got - expected).abs().max() < 0.01
    (exported,) = export(
        make_config([f"ckpt_path={out}", f"out={tmp_path / 'facades.onnx'}"], tmp_path, "export")
    )
    assert exported.max_abs_diff < 1e-3 and exported.metadata["model"] == "Pix2Pix"
    report = evaluate(
        make_config(
            [f"ckpt_path={out}", f"output={tmp_path / 'metrics.json'}", "device=cpu", "+data.num_workers=0"],
            tmp_path,
            "eval",
        )
    )
    assert {"l1", "psnr", "ssim"} <= set(report["metrics"])
