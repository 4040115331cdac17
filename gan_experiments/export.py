"""`python -m gan_experiments.export ckpt_path=… [format=onnx|torchscript] [out=…] [direction=AtoB|BtoA]
[ema=true] [image_size=…] [opset=…] [seed=0] [device=cpu]`: the trained generator of a checkpoint as one
self-contained file that runs without this project (onnxruntime, or torch.jit.load).

What is exported is what the model's `forward` runs, in eval mode (BatchNorm's running statistics,
dropout off), so the file is deterministic:

- GAN, DCGAN, conv GAN: `image = G(z)`; cGAN: `image = G(z, labels)`; through the EMA generator when the run
  kept one (`ema=false`: the last trained weights, as in `generate`);
- pix2pix: `image = G(source)` (eval mode, where `translate` defaults to the paper's train-mode test);
- CycleGAN: `image = G_AB(source)` and `G_BA(source)`, two files `<stem>_AtoB<suffix>` and
  `<stem>_BtoA<suffix>` (or one, with `direction=`).

The batch axis is dynamic; height and width are those of training (or `image_size=`), fixed in the graph:
torch.export cannot keep them symbolic through a U-Net whose innermost level is 1×1. The file carries
metadata (`metadata(…)`): input names and shapes, the noise prior and z_dim, the classes, the value ranges
(images in [-1, 1]), the checkpoint, EMA and direction. Each file is written under a temporary name in
its folder, loaded back and compared with the eager model on a seeded batch of another size (the max
|difference| is logged in one line), then renamed into place: an interrupted export leaves no
half-written file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from lightning.pytorch import LightningModule
from omegaconf import DictConfig
from torch import Tensor, nn

from gan_experiments.atomic import atomic_path, check_output_file
from gan_experiments.checkpoints import load_model
from gan_experiments.cli import hydra_command
from gan_experiments.config import validate
from gan_experiments.devices import resolve_device
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.models.base import AdversarialModule

if TYPE_CHECKING:  # types only: export chooses by the model's declared data_layout
    from gan_experiments.models.cyclegan import CycleGAN
    from gan_experiments.models.gan import GAN
    from gan_experiments.models.pix2pix import Pix2Pix

log = logging.getLogger("gan_experiments.export")

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
DIRECTIONS = ("AtoB", "BtoA")
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
#: the dynamo exporter targets opset 18 and newer; older ones go through a lossy version converter
MIN_OPSET = 18
#: the batch sizes of the traced example and of the parity check: different, so that a batch size baked
#: into the graph shows as a failed check (and both > 1: torch.export specializes sizes 0 and 1)
EXPORT_BATCH, PARITY_BATCH = 2, 3
#: the TorchScript archive's extra file that holds the metadata (ONNX: one metadata_props entry per key)
METADATA_FILE = "metadata.json"
#: a parity difference above this is reported as a warning (fp32 graphs differ by ~1e-6) …
PARITY_WARN = 1e-3
#: … and above this (or a wrong output shape) the file is not written: it would compute something else
PARITY_FAIL = 1e-2
#: torch 2.14 marks all of torch.jit deprecated (a FutureWarning on every trace, save and load); the user
#: chose format=torchscript, and the suggested torch.export is not a format this command writes
JIT_DEPRECATION = r"`torch\.jit\.\w+` is (deprecated|not supported in Python)"
#: the ONNX graph optimizer logs every pass at INFO ("Removed 29 unused nodes", one line per initializer)
CHATTY_ONNX_LOGGERS = ("onnxscript", "onnx_ir")


@dataclass(frozen=True)
class Input:
    """One input of the exported graph: its name, shape after the batch axis, and how to draw it."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    description: dict[str, Any]
    draw: Callable[[int, torch.Generator], Tensor]


@dataclass(frozen=True)
class Target:
    """One exported file: the network that is written, its inputs, the model's own forward on the same
    inputs (the parity reference) and what the metadata says about it."""

    network: nn.Module
    inputs: tuple[Input, ...]
    reference: Callable[..., Tensor]
    image_shape: tuple[int, int, int]
    direction: str | None
    ema: bool
    extra: dict[str, Any]


class Exported(NamedTuple):
    """One written file, its parity error against the eager model and the metadata read back from it."""

    path: Path
    max_abs_diff: float
    metadata: dict[str, Any]


# ---------------------------------------------------------------- configuration
def check_format(fmt: object) -> str:
    """The format, checked before the checkpoint is read. ONNX's packages are an optional extra; find_spec
    tells whether they are installed without importing them (onnxscript alone takes about a second)."""
    if fmt not in FORMATS:
        raise ConfigError(f"format must be onnx or torchscript, got {fmt!r}")
    if fmt == "onnx":
        missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
        if missing:
            raise UserError(
                "format=onnx needs the optional packages onnx, onnxscript and onnxruntime: "
                f"pip install -e '.[export]' (missing: {', '.join(missing)})"
            )
    return str(fmt)


def check_options(cfg: DictConfig) -> None:
    """The options `config.validate` does not know, checked before the checkpoint is read."""
    if cfg.direction is not None and cfg.direction not in DIRECTIONS:
        raise ConfigError(f"direction must be AtoB, BtoA or null (CycleGAN: both), got {cfg.direction!r}")
    if not isinstance(cfg.ema, bool):
        raise ConfigError(f"ema must be true or false, got {cfg.ema!r}")
    opset = cfg.opset
    if opset is not None and (not isinstance(opset, int) or isinstance(opset, bool) or opset < MIN_OPSET):
        raise ConfigError(f"opset must be null or an integer >= {MIN_OPSET}, got {opset!r}")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool):
        raise ConfigError(f"seed must be an integer, got {cfg.seed!r}")


def output_path(cfg: DictConfig, fmt: str) -> Path:
    """`out`, or `<checkpoint stem>_generator<suffix>` beside the checkpoint, checked before the checkpoint
    is read (`atomic.check_output_file`); a `.onnx` name with the other format (or the reverse) is
    refused: the file would not open with the tool its name suggests."""
    suffix = FORMATS[fmt]
    if cfg.out is None:
        ckpt = Path(cfg.ckpt_path)
        return check_output_file("out", ckpt.with_name(f"{ckpt.stem}_generator{suffix}"))
    out = check_output_file("out", cfg.out, example=f"generator{suffix}")
    if out.resolve() == Path(str(cfg.ckpt_path)).expanduser().resolve():
        raise ConfigError(f"out={out}: that is the checkpoint itself; give the exported file another name")
    if (out.suffix == ".onnx") != (fmt == "onnx"):
        example = out.with_suffix(suffix)
        raise ConfigError(f"out={out}: format={fmt} writes {suffix} files (e.g. out={example})")
    return out


def with_direction(path: Path, direction: str) -> Path:
    """`out` of one CycleGAN direction when both are written: `h2z.onnx` → `h2z_AtoB.onnx`."""
    return path.with_name(f"{path.stem}_{direction}{path.suffix}")


# ---------------------------------------------------------------- what gets exported
def uniform(shape: tuple[int, ...], device: torch.device) -> Callable[[int, torch.Generator], Tensor]:
    return lambda n, rng: torch.rand(n, *shape, device=device, generator=rng) * 2 - 1


def noise_targets(model: GAN, ema: bool) -> list[Target]:
    """G(z) or G(z, labels): the model's `sampler`, i.e. the EMA copy unless `ema` is false."""
    if not ema:
        model.discard_ema()
    description = {"distribution": model.noise_distribution(), "noise": model.noise}
    extra: dict[str, Any] = model.noise_facts()
    z = Input(
        name="z",
        shape=(model.z_dim,),
        dtype=torch.float32,
        description=description,
        draw=lambda n, rng: model.sample_noise(n, rng),
    )
    inputs = [z]
    if getattr(model, "requires_labels", False):
        classes = model.num_classes
        labels = Input(
            name="labels",
            shape=(),
            dtype=torch.int64,
            description={"range": [0, classes - 1], "num_classes": classes},
            draw=lambda n, rng: torch.randint(classes, (n,), device=model.device, generator=rng),
        )
        inputs.append(labels)
        extra["num_classes"] = classes
    target = Target(
        network=model.sampler,
        inputs=tuple(inputs),
        reference=model,
        image_shape=tuple(model.image_shape),
        direction=None,
        ema=model.generator_ema is not None,
        extra=extra,
    )
    return [target]


def translation_size(model: Pix2Pix | CycleGAN, run: DictConfig, image_size: int | None) -> int:
    """The side of the exported input: `image_size`, else the training size (rounded up to the
    generator's stride, as training rounds sizes that follow the images)."""
    multiple = model.input_size_multiple()
    if image_size is None:
        trained = run.data.get("image_size")
        if trained is None:
            raise ConfigError("image_size must be set: the checkpoint's run config has no data.image_size")
        return -(-int(trained) // multiple) * multiple
    if image_size % multiple:
        lower = max(multiple, image_size // multiple * multiple)
        raise ConfigError(
            f"image_size={image_size}: the generator needs sizes divisible by {multiple}; "
            f"use {lower} or {lower + multiple}"
        )
    return int(image_size)


def translation_targets(
    model: Pix2Pix | CycleGAN, run: DictConfig, direction: str | None, image_size: int | None
) -> list[Target]:
    """pix2pix: its one generator (the run's data.direction tells which half of a pair it reads);
    CycleGAN: G_AB and/or G_BA."""
    if model.data_layout == "paired":  # pix2pix
        if direction is not None:
            raise ConfigError(
                f"direction={direction}: only a CycleGAN checkpoint has two directions; a Pix2Pix "
                "checkpoint has one generator (leave direction unset)"
            )
        plan = [
            (run.data.get("direction", "AtoB"), model.generator, model, model.in_channels, model.out_channels)
        ]
    else:
        plan = [
            (name, network, partial(model, direction=name), channels_in, channels_out)
            for name, network, channels_in, channels_out in (
                ("AtoB", model.generator_ab, model.in_channels, model.out_channels),
                ("BtoA", model.generator_ba, model.out_channels, model.in_channels),
            )
            if direction in (None, name)
        ]
    side, multiple = translation_size(model, run, image_size), model.input_size_multiple()
    targets = []
    for name, network, reference, channels_in, channels_out in plan:
        shape = (channels_in, side, side)
        source = Input("source", shape, torch.float32, {"range": [-1, 1]}, uniform(shape, model.device))
        extra = {"input_range": [-1, 1], "input_channels": channels_in, "size_multiple": multiple}
        targets.append(Target(network, (source,), reference, (channels_out, side, side), name, False, extra))
    return targets


def export_targets(model: AdversarialModule, run: DictConfig, cfg: DictConfig) -> list[Target]:
    """What to export, by the model's declared data layout (models/base.py)."""
    if model.data_layout == "images":  # noise → image
        if cfg.direction is not None:
            raise ConfigError(
                f"direction={cfg.direction}: only a CycleGAN checkpoint has two directions; a "
                f"{type(model).__name__} generates from noise (leave direction unset)"
            )
        return noise_targets(model, cfg.ema)
    return translation_targets(model, run, cfg.direction, cfg.image_size)


# ---------------------------------------------------------------- metadata
def metadata(
    model: LightningModule, target: Target, fmt: str, ckpt_path: str | Path, opset: int | None = None
) -> dict[str, Any]:
    """What a user of the file needs to call it, and where it came from; both formats store this dict
    (ONNX: one metadata_props entry per key, JSON-coded; TorchScript: extra file metadata.json)."""
    batch_shape = lambda shape: ["batch", *shape]  # noqa: E731
    channels = target.image_shape[0]
    return {
        "producer": "gan_experiments.export",
        "format": fmt,
        **({"opset": opset} if fmt == "onnx" else {}),
        "model": type(model).__name__,
        "generator": type(target.network).__name__,
        "checkpoint": str(Path(ckpt_path).resolve()),
        "ema": target.ema,
        "direction": target.direction,
        "eval_mode": True,
        "inputs": [
            {
                "name": i.name,
                "shape": batch_shape(i.shape),
                "dtype": str(i.dtype).removeprefix("torch."),
                **i.description,
            }
            for i in target.inputs
        ],
        "outputs": [
            {"name": "image", "shape": batch_shape(target.image_shape), "dtype": "float32", "range": [-1, 1]}
        ],
        "image_shape": list(target.image_shape),
        "channels": channels,
        "output_range": [-1, 1],
        "activation": "tanh",
        **target.extra,
    }


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata dict of an exported file of either format (TorchScript files are zip archives)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        files = {METADATA_FILE: ""}
        with jit_quietly():
            torch.jit.load(str(path), map_location="cpu", _extra_files=files)
        return json.loads(files[METADATA_FILE])
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {entry.key: json.loads(entry.value) for entry in proto.metadata_props}


# ---------------------------------------------------------------- writing
@contextlib.contextmanager
def jit_quietly() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATION, category=FutureWarning)
        yield


@contextlib.contextmanager
def onnx_quietly() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in CHATTY_ONNX_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def example_inputs(target: Target, batch: int, seed: int, device: torch.device) -> tuple[Tensor, ...]:
    """A seeded batch of every input of the graph, drawn as the model draws them (noise, labels, images)."""
    rng = torch.Generator(device=device).manual_seed(seed)
    return tuple(i.draw(batch, rng) for i in target.inputs)


def write_torchscript(target: Target, example: tuple[Tensor, ...], meta: dict[str, Any], path: Path) -> None:
    """Traced, not scripted: the generators are plain feed-forward code, and tracing needs no type
    annotations on every network; `x.shape[0]` is recorded as a size op, so the batch stays dynamic.
    No check_trace: it reruns the network on the same example (1-4 s for a smoke CycleGAN), where the
    parity check afterwards runs the saved file on another batch size. TracerWarnings are dropped: they
    flag InstanceNorm's checks of channels and spatial size, constants of the exported graph."""
    with jit_quietly(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(target.network, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={METADATA_FILE: json.dumps(meta)})


def write_onnx(
    target: Target, example: tuple[Tensor, ...], meta: dict[str, Any], path: Path, opset: int | None
) -> None:
    """torch.export-based (dynamo) exporter: measured 1.3-2.8 s per smoke generator on a busy 2-core CPU;
    the TorchScript-based `dynamo=False` path is 10× faster but torch 2.14 warns that it will be removed.
    The first input's batch is `batch`; the others (labels) follow it, as Dim.DYNAMIC: naming one Dim twice
    makes the exporter warn that the second name goes unused."""
    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch if k == 0 else torch.export.Dim.DYNAMIC} for k in range(len(example)))
    with torch.no_grad(), onnx_quietly():
        program = torch.onnx.export(
            target.network, example, dynamo=True, verbose=False, opset_version=opset,
            input_names=[i.name for i in target.inputs], output_names=["image"], dynamic_shapes=dynamic,
        )  # fmt: skip
    model = program.model
    meta = {**meta, "opset": model.opset_imports.get("", opset)}
    model.metadata_props.update({key: json.dumps(value) for key, value in meta.items()})
    model.doc_string = f"gan_experiments {meta['model']} generator; metadata_props describe its inputs"
    # one file, so the rename moves all of it (a generator is far below protobuf's 2 GB)
    program.save(str(path), external_data=False)


def run_exported(path: Path, fmt: str, inputs: tuple[Tensor, ...]) -> Tensor:
    """The exported file's output, loaded the way a user would (onnxruntime on CPU, torch.jit.load)."""
    if fmt == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the eager side's budget, not every core
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feeds = {i.name: x.cpu().numpy() for i, x in zip(session.get_inputs(), inputs, strict=True)}
        return torch.from_numpy(session.run(None, feeds)[0])
    with jit_quietly(), torch.no_grad():
        module = torch.jit.load(str(path), map_location=inputs[0].device)
        return module(*inputs).cpu()


def parity(path: str | Path, fmt: str, target: Target, batch: int = PARITY_BATCH, seed: int = 1) -> float:
    """max |exported(x) − model.forward(x)| on a seeded batch of `batch` inputs (a size other than the
    traced example's, so a batch size baked into the graph shows)."""
    device = next(target.network.parameters()).device
    inputs = example_inputs(target, batch, seed, device)
    with torch.no_grad():
        expected = target.reference(*inputs).float().cpu()
    got = run_exported(Path(path), fmt, inputs)
    if got.shape != expected.shape:
        return float("inf")
    return float((got.float() - expected).abs().max())


def export_one(
    model: LightningModule, target: Target, fmt: str, out: Path, cfg: DictConfig, device: torch.device
) -> Exported:
    """Write one target atomically: traced/exported, loaded back, compared with the eager model on
    another batch size; refused (nothing written) when the comparison fails."""
    meta = metadata(model, target, fmt, cfg.ckpt_path, cfg.opset)
    target.network.eval()
    example = example_inputs(target, EXPORT_BATCH, int(cfg.seed), device)
    with atomic_path(out) as tmp:
        if fmt == "onnx":
            write_onnx(target, example, meta, tmp, cfg.opset)
        else:
            write_torchscript(target, example, meta, tmp)
        diff = parity(tmp, fmt, target, PARITY_BATCH, int(cfg.seed) + 1)
        if not math.isfinite(diff) or diff > PARITY_FAIL:
            raise UserError(
                f"export to {out} failed its parity check: max |{fmt} - eager| = {diff:.3g} on a batch of "
                f"{PARITY_BATCH} (the limit is {PARITY_FAIL:g}); nothing was written"
            )
    what = f"{meta['model']} generator" + (f" {target.direction}" if target.direction else "")
    log.info(
        "%s%s of %s written to %s (%s, %.1f kB)", what, " (EMA)" if target.ema else "", cfg.ckpt_path, out,
        fmt, out.stat().st_size / 1e3,
    )  # fmt: skip
    level = logging.INFO if diff <= PARITY_WARN else logging.WARNING
    log.log(level, "parity %s: max |%s - eager| = %.3g on a batch of %d", out.name, fmt, diff, PARITY_BATCH)
    return Exported(out, diff, read_metadata(out))


def export(cfg: DictConfig) -> list[Exported]:
    """Write the generator(s) of `ckpt_path` in `format`; one entry per file, with its parity error."""
    validate(cfg)
    fmt = check_format(cfg.format)
    check_options(cfg)
    out = output_path(cfg, fmt)
    device = resolve_device(cfg.device)
    model, run = load_model(cfg.ckpt_path, device, trust=cfg.trust_checkpoint)
    model.requires_grad_(False)
    targets = export_targets(model, run, cfg)
    both = len(targets) > 1
    return [
        export_one(model, t, fmt, with_direction(out, t.direction) if both else out, cfg, device)
        for t in targets
    ]


main = hydra_command(export, "export", log)


if __name__ == "__main__":
    main()
