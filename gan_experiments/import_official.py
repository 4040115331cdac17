"""`python -m gan_experiments.import_official --G latest_net_G.pth [--netG …] [--norm …] [--no_dropout] …`:
generator weights trained with junyanz/pytorch-CycleGAN-and-pix2pix (the official pix2pix/CycleGAN code)
as a checkpoint of this project, which `translate`, `export` and `evaluate` open like their own.

The options are the official test.py's, spelled as there (an argparse command, so that a test.py command
line can be pasted): `--netG resnet_9blocks|resnet_6blocks|unet_256|unet_128`, `--norm batch|instance|none`,
`--no_dropout`, `--input_nc`, `--output_nc`, `--ngf`, `--model test|pix2pix|cycle_gan` (whose defaults
they take, as test.py does), `--direction`, `--crop_size`, `--load_size`, `--preprocess`, `--dataroot`,
`--phase`; the files are `--G` (one generator: a pix2pix model, or one direction of a CycleGAN) or
`--G_A` and `--G_B` (both CycleGAN directions), or found as test.py finds them
(`--checkpoints_dir/--name/--epoch`, `<epoch>_net_G.pth`).

What it writes: a normal project checkpoint (`--out`, default `<first file's stem>.ckpt` beside it):

- `--G_A` + `--G_B`: a CycleGAN checkpoint (`model=cyclegan data=unpaired_folder`), G_A → G_AB and
  G_B → G_BA; `--G`: a pix2pix checkpoint (`model=pix2pix data=paired_folder`) with that one generator,
  also for a one-direction CycleGAN test model (translate and export need nothing else; evaluate then
  reports l1/psnr/ssim against the targets of a paired folder);
- the run config train would store for that model, with the generator built from the official options
  and the data options (direction, channels, crop size, preprocessing, the dataset folder when given);
- the discriminator(s) freshly initialized (seeded): the official generator files hold none, and
  translate, export and evaluate never use one;
- `imported_from`: the source files with their sha256, the options, what the mapping did, the command.

The official parameters and buffers are mapped by structure: the project generator is built from the
options and walked in layer order; each of its tensors has one official key (the official ResNet puts
its reflection padding in modules of its own, so its indices shift past each padded conv; its blocks
call their layers `conv_block`; the U-Net's nesting is the same). Every tensor's shape is checked and the
first mismatch, in layer order, is named in one line (with the official options that fit the file, when
some do); nothing is written then. Legacy InstanceNorm `running_mean`/`running_var`/`num_batches_tracked`
entries are dropped as the official loader drops them; a BatchNorm `num_batches_tracked` missing from a
file of PyTorch < 0.4.1 counts 0, as torch's loader fills it. With `--norm none` the official convs have
no bias (its `use_bias` is true only for InstanceNorm) where the project's have one: those biases are
zeros, the same function. Files are opened weights-only; a pickle that asks for code, a truncated file, a
discriminator's weights or a project checkpoint are refused in one line.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import pickle
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from gan_experiments import CONF_DIR
from gan_experiments.atomic import atomic_path, check_output_file
from gan_experiments.callbacks.run_config import CHECKPOINT_KEY, DATA_SPEC_KEY, IMPORTED_KEY
from gan_experiments.checkpoints import (
    _first_line,
    _refused_global,
    _unpickler_reason,
    model_config_and_spec,
    model_from_checkpoint,
    read_checkpoint,
)
from gan_experiments.cli import RUN_FOLDER_LINE, run_command
from gan_experiments.data.spec import spec_of
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.instantiation import build_model
from gan_experiments.networks.resnet import ResidualBlock, ResnetGenerator

log = logging.getLogger("gan_experiments.import_official")

OFFICIAL_REPOSITORY = "junyanz/pytorch-CycleGAN-and-pix2pix"
#: official --netG → the project network and its depth (ResNet blocks, U-Net levels)
NET_G = {
    "resnet_9blocks": ("resnet", 9),
    "resnet_6blocks": ("resnet", 6),
    "unet_256": ("unet", 8),
    "unet_128": ("unet", 7),
}
NORMS = ("batch", "instance", "none")
MODELS = ("test", "pix2pix", "cycle_gan")
DIRECTIONS = ("AtoB", "BtoA")
PREPROCESS = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
#: official dropout probability (`nn.Dropout(0.5)`) unless --no_dropout
DROPOUT = 0.5
#: buffers the official loader removes from InstanceNorm layers (files of PyTorch < 0.4 hold them)
LEGACY_INSTANCE_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
#: the project's generators under the official module names (the rest keep their names)
OFFICIAL_NAMES = {(ResnetGenerator, "body"): "model", (ResidualBlock, "body"): "conv_block"}
#: official test.py options that concern running test.py, not the weights, and what to use instead
IGNORED_WITH_VALUE = {
    "gpu_ids": "translate device=… (cpu, cuda, cuda:1)",
    "num_test": "translate translates every image of input_dir",
    "results_dir": "translate output_dir=…",
    "batch_size": "translate batch_size=…",
    "num_threads": "translate num_workers=…",
    "dataset_mode": None,
    "max_dataset_size": None,
    "aspect_ratio": None,
    "display_winsize": None,
    "display_id": None,
    "suffix": None,
    "load_iter": None,
    "init_type": "the weights come from the file",
    "init_gain": "the weights come from the file",
    "netD": "the discriminator is freshly initialized with the project's defaults",
    "ndf": "the discriminator is freshly initialized with the project's defaults",
    "n_layers_D": "the discriminator is freshly initialized with the project's defaults",
}
IGNORED_FLAGS = {
    "eval": "translate's default (eval mode); translate eval_mode=false is test.py without --eval",
    "serial_batches": None,
    "no_flip": None,
    "verbose": None,
    "use_wandb": None,
}


class OfficialFileError(UserError):
    """An official file that cannot be imported with the given options; nothing is written."""


@dataclass(frozen=True)
class GeneratorOptions:
    """The official options that decide a generator's layers and weights."""

    netG: str  # the official spelling
    norm: str
    no_dropout: bool
    input_nc: int
    output_nc: int
    ngf: int

    @property
    def family(self) -> str:
        return NET_G[self.netG][0]

    def flags(self) -> str:
        """These options as on the official command line."""
        dropout = " --no_dropout" if self.no_dropout else ""
        return (
            f"--netG {self.netG} --norm {self.norm}{dropout} --input_nc {self.input_nc} "
            f"--output_nc {self.output_nc} --ngf {self.ngf}"
        )

    def network_config(self) -> dict[str, Any]:
        """The project generator of these options, as the model config's `generator` node."""
        family, depth = NET_G[self.netG]
        dropout = 0.0 if self.no_dropout else DROPOUT
        common = {"_partial_": True, "width": self.ngf, "norm": self.norm, "dropout": dropout}
        if family == "resnet":
            return {
                "_target_": "gan_experiments.networks.resnet.ResnetGenerator",
                **common,
                "n_blocks": depth,
                "padding": "reflect",  # the official ResnetBlock's padding_type
                "upsample": "transposed",  # ConvTranspose2d(3, stride 2, padding 1, output_padding 1)
                "init": "normal",
                "init_gain": 0.02,
            }
        return {
            "_target_": "gan_experiments.networks.unet.UnetGenerator",
            **common,
            "depth": depth,
            "init": "normal",
            "init_gain": 0.02,
        }

    def size_multiple(self) -> int:
        family, depth = NET_G[self.netG]
        return 4 if family == "resnet" else 2**depth

    def build(self, in_channels: int, out_channels: int) -> nn.Module:
        """The project generator (e.g. on the meta device, to compare layouts)."""
        factory = instantiate(OmegaConf.create(self.network_config()))
        return factory(in_channels=in_channels, out_channels=out_channels, image_size=self.size_multiple())


# ---------------------------------------------------------------- the structural mapping
@dataclass(frozen=True)
class Slot:
    """One tensor of the project generator and its key in an official file."""

    official: str
    project: str
    shape: tuple[int, ...]
    #: a BatchNorm counter that files of PyTorch < 0.4.1 lack (filled with 0, as torch's loader does)
    may_be_missing: bool = False


@dataclass
class Layout:
    """The official layout of one project generator."""

    slots: list[Slot]
    #: official module paths of InstanceNorm layers (their legacy buffers are dropped)
    instance_norms: set[str]
    #: project keys (and shapes) of conv biases the official network lacks (--norm none): written as zeros
    zero_biases: dict[str, tuple[int, ...]]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def module_pairs(
    module: nn.Module, project: str = "", official: str = ""
) -> Iterator[tuple[str, str, nn.Module]]:
    """(project path, official path, module) of every module, in layer order. In a Sequential the
    official index of a layer counts one more module before each conv that pads by itself (reflection
    padding): the official networks pad in a `nn.ReflectionPad2d` of their own, with padding=0 in the conv."""
    yield project, official, module
    if isinstance(module, nn.Sequential):
        index = 0
        for name, child in module.named_children():
            if isinstance(child, nn.Conv2d) and child.padding_mode != "zeros":
                index += 1  # the official padding module before this conv
            yield from module_pairs(child, _join(project, name), _join(official, str(index)))
            index += 1
        return
    for name, child in module.named_children():
        renamed = OFFICIAL_NAMES.get((type(module), name), name)
        yield from module_pairs(child, _join(project, name), _join(official, renamed))


def official_layout(generator: nn.Module, norm: str) -> Layout:
    """Every state-dict entry of `generator` with its official key and shape, in layer order."""
    slots: list[Slot] = []
    instance_norms: set[str] = set()
    zero_biases: dict[str, tuple[int, ...]] = {}
    modules = list(module_pairs(generator))
    convs = [path for path, _, m in modules if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    for project, official, module in modules:
        if isinstance(module, nn.InstanceNorm2d):
            instance_norms.add(official)
        entries = [*module.named_parameters(recurse=False)]
        entries += [
            (name, buffer)
            for name, buffer in module.named_buffers(recurse=False)
            if name not in module._non_persistent_buffers_set
        ]
        for name, tensor in entries:
            project_key = _join(project, name)
            # official: use_bias = (norm is InstanceNorm2d), so with --norm none only the output conv
            # (which passes no bias argument) has one
            if norm == "none" and name == "bias" and project in convs and project != convs[-1]:
                zero_biases[project_key] = tuple(tensor.shape)
                continue
            may_be_missing = isinstance(module, nn.BatchNorm2d) and name == "num_batches_tracked"
            slots.append(Slot(_join(official, name), project_key, tuple(tensor.shape), may_be_missing))
    return Layout(slots, instance_norms, zero_biases)


@dataclass
class Mapped:
    """A project generator's state dict from one official file, and what the mapping did."""

    state_dict: dict[str, Tensor]
    tensors: int
    legacy_instance_norm_entries: list[str] = field(default_factory=list)
    filled_counters: list[str] = field(default_factory=list)
    zero_biases: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "tensors": self.tensors,
            "legacy_instance_norm_entries_dropped": len(self.legacy_instance_norm_entries),
            "batch_norm_counters_filled": len(self.filled_counters),
            "zero_biases": len(self.zero_biases),
        }


class Mismatch(Exception):
    """The first difference between a file and the layout the options describe (one line)."""


def drop_legacy_entries(weights: dict[str, Tensor], layout: Layout) -> list[str]:
    """What the official loader's InstanceNorm patch removes: running statistics and counters of
    InstanceNorm layers (affine=False, track_running_stats=False), written by PyTorch < 0.4."""
    dropped = [
        key
        for key in weights
        if "." in key
        and key.rsplit(".", 1)[0] in layout.instance_norms
        and key.rsplit(".", 1)[1] in LEGACY_INSTANCE_NORM_BUFFERS
    ]
    for key in dropped:
        del weights[key]
    return dropped


def match(weights: dict[str, Tensor], layout: Layout) -> Mapped:
    """The project state dict of `weights` (legacy entries already dropped); raises Mismatch at the first
    entry, in layer order, that is missing or has another shape, then at the first unexpected one."""
    state: dict[str, Tensor] = {}
    filled: list[str] = []
    for slot in layout.slots:
        tensor = weights.get(slot.official)
        if tensor is None:
            if slot.may_be_missing:
                state[slot.project] = torch.zeros((), dtype=torch.long)
                filled.append(slot.official)
                continue
            raise Mismatch(f"{slot.official} {list(slot.shape)} is missing")
        if tuple(tensor.shape) != slot.shape:
            raise Mismatch(f"{slot.official} has shape {list(tensor.shape)} where {list(slot.shape)} belongs")
        state[slot.project] = tensor
    expected = {slot.official for slot in layout.slots}
    unexpected = [key for key in weights if key not in expected]
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        tensor = weights[unexpected[0]]
        raise Mismatch(f"{unexpected[0]} {list(tensor.shape)} has no place in it{more}")
    return Mapped(state, len(state), filled_counters=filled)


def fits(weights: dict[str, Tensor], options: GeneratorOptions, channels: tuple[int, int]) -> bool:
    """Whether `weights` (an official file's) map onto the generator of `options` with those channels."""
    with torch.device("meta"):
        generator = options.build(*channels)
    layout = official_layout(generator, options.norm)
    remaining = dict(weights)
    drop_legacy_entries(remaining, layout)
    try:
        match(remaining, layout)
    except Mismatch:
        return False
    return True


def weight_shapes(weights: dict[str, Tensor]) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for key, t in weights.items() if key.endswith("weight") and t.dim() == 4]


def options_that_fit(weights: dict[str, Tensor], given: GeneratorOptions) -> GeneratorOptions | None:
    """Official options whose generator the file fits (preferring the given dropout), or None: the
    generator families, norms and dropout are tried with ngf and the channels read off the first and the
    last conv (a U-Net's last one is transposed: its weight is (in, out, k, k))."""
    shapes = weight_shapes(weights)
    if not shapes:
        return None
    ngf, input_nc = shapes[0][0], shapes[0][1]
    outputs = dict.fromkeys((shapes[-1][0], shapes[-1][1]))
    for net_g in NET_G:
        for norm in NORMS:
            for no_dropout in (given.no_dropout, not given.no_dropout):
                for output_nc in outputs:
                    candidate = GeneratorOptions(net_g, norm, no_dropout, input_nc, output_nc, ngf)
                    if fits(weights, candidate, (input_nc, output_nc)):
                        return candidate
    return None


def looks_like_a_discriminator(weights: dict[str, Tensor]) -> bool:
    """The official PatchGAN (`model.<i>.…`, 4×4 convs) or pixel discriminator (`net.<i>.…`): a flat
    sequence of convs whose last one gives one channel."""
    flat = all(re.fullmatch(r"(model|net)\.\d+\.\w+", key) for key in weights)
    shapes = weight_shapes(weights)
    return flat and bool(shapes) and shapes[-1][0] == 1 and shapes[0][-1] in (1, 4)


def differing_flags(found: GeneratorOptions, given: GeneratorOptions) -> str:
    flags = []
    for name in ("netG", "norm", "input_nc", "output_nc", "ngf"):
        if getattr(found, name) != getattr(given, name):
            flags.append(f"--{name} {getattr(found, name)}")
    if found.no_dropout != given.no_dropout and found.family == "resnet":
        flags.append(
            "--no_dropout"
            if found.no_dropout
            else "with dropout (leave out --no_dropout; --model cycle_gan implies it)"
        )
    return " ".join(flags)


def map_file(
    weights: dict[str, Tensor], generator: nn.Module, options: GeneratorOptions, what: str
) -> Mapped:
    """The project state dict of `generator` from an official file's `weights`, or an OfficialFileError that
    names the first mismatch (and the options that fit the file, when some do)."""
    layout = official_layout(generator, options.norm)
    remaining = dict(weights)
    dropped = drop_legacy_entries(remaining, layout)
    try:
        mapped = match(remaining, layout)
    except Mismatch as mismatch:
        expected = f"{options.flags()}{'' if options.no_dropout else ' (dropout)'}"
        hint = ""
        if looks_like_a_discriminator(weights):
            hint = (
                "; it holds a discriminator's weights (latest_net_D*.pth): import the generator files "
                "(latest_net_G*.pth)"
            )
        else:
            # G_B maps output_nc → input_nc: the file's channels are compared (and named) the other way
            in_nc, out_nc = generator_channels(generator)
            swapped = (in_nc, out_nc) != (options.input_nc, options.output_nc)
            found = options_that_fit(weights, replace(options, input_nc=in_nc, output_nc=out_nc))
            if found is not None:
                if swapped:
                    found = replace(found, input_nc=found.output_nc, output_nc=found.input_nc)
                hint = f"; the file fits {differing_flags(found, options) or found.flags()}"
        raise OfficialFileError(
            f"{what}: not the official generator of {expected}: {mismatch}{hint}; nothing was written"
        ) from None
    mapped.legacy_instance_norm_entries = dropped
    mapped.zero_biases = list(layout.zero_biases)
    for key, shape in layout.zero_biases.items():
        mapped.state_dict[key] = torch.zeros(shape)
    return mapped


def generator_channels(generator: nn.Module) -> tuple[int, int]:
    """(in, out) channels of a project generator: its first conv's input, its last conv's output."""
    convs = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    return convs[0].in_channels, convs[-1].out_channels


# ---------------------------------------------------------------- reading official files
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_official(path: Path, what: str) -> tuple[dict[str, Tensor], bool]:
    """The state dict of an official weights file, unpickled weights-only, and whether a DataParallel
    `module.` prefix was stripped; refuses anything else in one line."""
    if not path.is_file():
        raise OfficialFileError(f"{what}: no such file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_global(error)
        if refused is not None:
            raise OfficialFileError(
                f"{what}: refused: its pickle asks for {refused}; official weight files "
                "(torch.save(net.state_dict())) hold tensors only, and they are opened weights-only"
            ) from None
        raise OfficialFileError(
            f"{what}: not a readable weights file "
            f"(weights-only unpickling stopped: {_unpickler_reason(error)})"
        ) from None
    except Exception as error:  # truncated or foreign files raise several types
        reason = _first_line(error).split(". ", 1)[0]  # torch appends advice sentences
        raise OfficialFileError(
            f"{what}: not a readable weights file ({reason}); truncated or damaged?"
        ) from None
    if not isinstance(loaded, dict):
        raise OfficialFileError(
            f"{what}: holds a {type(loaded).__name__}, not a generator's state dict "
            "(torch.save(net.state_dict()))"
        )
    if CHECKPOINT_KEY in loaded:
        raise OfficialFileError(
            f"{what}: a gan_experiments checkpoint already; translate, export and evaluate open it as it is "
            "(ckpt_path=…)"
        )
    if "state_dict" in loaded:
        raise OfficialFileError(
            f"{what}: a training checkpoint (it holds a 'state_dict'), not the official repository's "
            "generator weights (latest_net_G*.pth)"
        )
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise OfficialFileError(
                f"{what}: holds {key!r}: {type(value).__name__}, not a generator's state dict of tensors"
            )
    if not loaded:
        raise OfficialFileError(f"{what}: an empty state dict")
    weights = dict(loaded)
    stripped = all(key.startswith("module.") for key in weights)
    if stripped:  # saved from inside nn.DataParallel
        weights = {key.removeprefix("module."): value for key, value in weights.items()}
    for key, value in weights.items():
        if torch.is_floating_point(value) and not bool(torch.isfinite(value).all()):
            raise OfficialFileError(f"{what}: weights hold NaN/Inf ({key}); the file is damaged")
    return weights, stripped


# ---------------------------------------------------------------- options
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gan_experiments.import_official",
        description="Import generator weights trained with junyanz/pytorch-CycleGAN-and-pix2pix as a "
        "checkpoint that translate, export and evaluate open (docs/from_official_repo.md). The options "
        "are the official test.py's, with its defaults.",
    )
    files = parser.add_argument_group("files (one generator, both CycleGAN generators, or test.py's lookup)")
    files.add_argument("--G", type=Path, help="one generator file: pix2pix, or one CycleGAN direction")
    files.add_argument("--G_A", type=Path, help="CycleGAN's A→B generator (latest_net_G_A.pth)")
    files.add_argument("--G_B", type=Path, help="CycleGAN's B→A generator (latest_net_G_B.pth)")
    files.add_argument("--checkpoints_dir", type=Path, default=Path("checkpoints"), help="with --name")
    files.add_argument("--name", help="<checkpoints_dir>/<name>/<epoch>_net_G*.pth, as test.py looks")
    files.add_argument("--epoch", default="latest", help="with --name (default: latest)")
    files.add_argument(
        "--model_suffix", default="", help="--model test with --name: <epoch>_net_G<suffix>.pth"
    )
    net = parser.add_argument_group("the generator (official defaults; --model sets them as test.py does)")
    net.add_argument(
        "--model",
        choices=MODELS,
        help="test (one G; default for --G), pix2pix (unet_256, batch), "
        "cycle_gan (G_A and G_B, --no_dropout; default for --G_A/--G_B)",
    )
    net.add_argument("--netG", choices=list(NET_G), help="default resnet_9blocks (pix2pix: unet_256)")
    net.add_argument("--norm", choices=NORMS, help="default instance (pix2pix: batch)")
    net.add_argument("--no_dropout", action="store_true", default=None, help="no dropout (cycle_gan: always)")
    net.add_argument("--input_nc", type=int, default=3)
    net.add_argument("--output_nc", type=int, default=3)
    net.add_argument("--ngf", type=int, default=64)
    data = parser.add_argument_group("the data config stored in the checkpoint (translate, export, evaluate)")
    data.add_argument("--direction", choices=DIRECTIONS, default="AtoB")
    data.add_argument("--crop_size", type=int, default=256, help="the image side (data.image_size)")
    data.add_argument("--load_size", type=int, help="data.load_size (training); default: the project's")
    data.add_argument("--preprocess", choices=PREPROCESS, default="resize_and_crop")
    data.add_argument("--dataroot", type=Path, help="the dataset folder (data.root; evaluate reads it)")
    data.add_argument("--phase", default="test", help="the split evaluate reports on (data.test_split)")
    parser.add_argument(
        "--out", type=Path, help="the checkpoint to write (default: <first file>.ckpt beside it)"
    )
    for name in IGNORED_WITH_VALUE:
        parser.add_argument(f"--{name}", dest=f"ignored_{name}", help=argparse.SUPPRESS)
    for name in IGNORED_FLAGS:
        parser.add_argument(f"--{name}", dest=f"ignored_{name}", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def model_kind(args: argparse.Namespace) -> str:
    """cycle_gan for both generators, test or pix2pix for one (given, or inferred from the files)."""
    if args.model is not None:
        return args.model
    return "cycle_gan" if args.G_A is not None or args.G_B is not None else "test"


def generator_options(args: argparse.Namespace, model: str) -> GeneratorOptions:
    """test.py's option values: its defaults, those --model sets (pix2pix: unet_256 and batch norm;
    cycle_gan: no dropout), then the command line's."""
    net_g = args.netG or ("unet_256" if model == "pix2pix" else "resnet_9blocks")
    norm = args.norm or ("batch" if model == "pix2pix" else "instance")
    no_dropout = bool(args.no_dropout) or model == "cycle_gan"
    for name in ("input_nc", "output_nc"):
        if getattr(args, name) not in (1, 3):
            raise ConfigError(
                f"--{name} {getattr(args, name)}: this project's images have 1 (gray) or 3 (RGB) channels"
            )
    if args.ngf < 1:
        raise ConfigError(f"--ngf must be >= 1, got {args.ngf}")
    return GeneratorOptions(net_g, norm, no_dropout, args.input_nc, args.output_nc, args.ngf)


def source_files(args: argparse.Namespace, model: str) -> dict[str, Path]:
    """{'G': path} or {'G_A': path, 'G_B': path}: the files given, or those test.py would load."""
    given = {role: getattr(args, role) for role in ("G", "G_A", "G_B") if getattr(args, role) is not None}
    if not given and args.name:  # test.py's lookup: <checkpoints_dir>/<name>/<epoch>_net_<G…>.pth
        folder = args.checkpoints_dir / args.name
        if model == "cycle_gan":
            given = {role: folder / f"{args.epoch}_net_{role}.pth" for role in ("G_A", "G_B")}
        else:
            given = {"G": folder / f"{args.epoch}_net_G{args.model_suffix}.pth"}
    if not given:
        raise ConfigError("give the generator file(s): --G latest_net_G.pth, or --G_A … --G_B …, or --name …")
    if "G" in given and len(given) > 1:
        raise ConfigError("--G is one generator; --G_A and --G_B are CycleGAN's two: give one or the other")
    if "G" not in given and set(given) != {"G_A", "G_B"}:
        missing = "--G_B" if "G_A" in given else "--G_A"
        raise ConfigError(
            f"{missing} is missing: a CycleGAN import takes both generators (one direction alone: --G …)"
        )
    if model == "cycle_gan" and "G" in given:
        raise ConfigError(
            "--model cycle_gan loads G_A and G_B (--G_A … --G_B …); one direction: --model test --G …"
        )
    if model == "pix2pix" and "G" not in given:
        raise ConfigError("--model pix2pix has one generator: --G latest_net_G.pth")
    return given


def output_file(args: argparse.Namespace, files: dict[str, Path]) -> Path:
    """--out, or `<first file's stem>.ckpt` beside it (`latest_net_G_A.pth` + `_B` → `latest_net_G.ckpt`),
    checked before any file is read; never one of the inputs."""
    first = next(iter(files.values()))
    stem = first.stem.removesuffix("_A") if "G_A" in files else first.stem
    out = check_output_file("--out", args.out or first.with_name(f"{stem}.ckpt"), example="imported.ckpt")
    for path in files.values():
        if path.expanduser().resolve() == out.resolve():
            raise ConfigError(f"--out {out}: that is an input file; give the checkpoint another name")
    return out


def ignored_options(args: argparse.Namespace) -> list[str]:
    notes = []
    for name, instead in {**IGNORED_WITH_VALUE, **IGNORED_FLAGS}.items():
        if getattr(args, f"ignored_{name}") not in (None, False):
            notes.append(f"--{name}" + (f": {instead}" if instead else ""))
    return notes


# ---------------------------------------------------------------- the checkpoint
def compose_run_config(
    cycle: bool, options: GeneratorOptions, args: argparse.Namespace, output_dir: Path
) -> dict[str, Any]:
    """The resolved run config `train` would store for this model and data (composed from conf/ with the
    project's defaults), its generator the official options' and its data the given ones."""
    overrides = (
        ["model=cyclegan", "data=unpaired_folder"] if cycle else ["model=pix2pix", "data=paired_folder"]
    )
    backup = get_gh_backup()  # a caller's Hydra state (a test, an app) is put back afterwards
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg: DictConfig = compose(config_name="train", overrides=overrides)
    finally:
        restore_gh_from_backup(backup)
    cfg.paths.output_dir = str(output_dir)
    cfg.model.generator = options.network_config()
    cfg.model.discriminator.norm = options.norm  # the official D takes --norm too
    if cycle and options.input_nc != options.output_nc:
        cfg.model.lambda_identity = 0.0  # identity loss needs equal channels (the official code asserts it)
    channels = (options.input_nc, options.output_nc)[:: 1 if args.direction == "AtoB" else -1]
    data = cfg.data
    root = args.dataroot if args.dataroot and model_kind(args) != "test" else None
    data.root = str(root.expanduser().resolve()) if root else None
    data.direction = args.direction
    data.channels_a, data.channels_b = channels
    data.image_size = args.crop_size
    data.load_size = args.load_size
    data.preprocess = args.preprocess
    data.size_multiple = options.size_multiple()
    data.test_split = args.phase
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def data_spec_of(run: dict[str, Any], kind: str) -> dict[str, Any]:
    """The DataSpec the data config states (the data module reads no file for it)."""
    node = OmegaConf.create(run["data"])
    datamodule = instantiate(node, root=node.root or "unset")  # the spec does not read the folder
    return spec_of(datamodule, kind).to_dict()


def check_sizes(options: GeneratorOptions, args: argparse.Namespace) -> None:
    multiple = options.size_multiple()
    if args.crop_size < multiple or args.crop_size % multiple:
        lower = max(multiple, args.crop_size // multiple * multiple)
        raise ConfigError(
            f"--crop_size {args.crop_size}: {options.netG} needs image sides divisible by {multiple}; "
            f"use {lower}" + (f" or {lower + multiple}" if lower + multiple != lower else "")
        )


def import_official(args: argparse.Namespace) -> Path:
    """Write the checkpoint of the official generator file(s) named by `args`; returns its path."""
    kind = model_kind(args)
    options = generator_options(args, kind)
    check_sizes(options, args)
    files = source_files(args, kind)
    out = output_file(args, files)
    ignored = ignored_options(args)
    if kind == "test" and args.dataroot:  # test.py's single dataset: a folder of inputs, not a data root
        ignored.append(
            f"--dataroot: with --model test a folder of inputs; translate input_dir={args.dataroot}"
        )
    if ignored:
        log.info("ignored (they concern running test.py, not the weights): %s", "; ".join(ignored))
    cycle = "G" not in files
    sources, mapped = {}, {}
    for role, path in files.items():  # every file read and mapped before anything is built or written
        path = path.expanduser()
        weights, stripped = read_official(path, f"--{role} {path}")
        channels = (
            (options.output_nc, options.input_nc) if role == "G_B" else (options.input_nc, options.output_nc)
        )
        with torch.device("meta"):  # the layout only: no memory, no initialization
            layout_of = options.build(*channels)
        mapped[role] = map_file(weights, layout_of, options, f"--{role} {path}")
        sources[role] = (path, weights, stripped)

    run = compose_run_config(cycle, options, args, out.parent.resolve())
    checkpoint: dict[str, Any] = {
        CHECKPOINT_KEY: run,
        DATA_SPEC_KEY: data_spec_of(run, "unpaired_folder" if cycle else "paired_folder"),
    }
    torch.manual_seed(int(run["seed"]))  # the fresh discriminator(s): the same file from the same inputs
    model = build_model(*model_config_and_spec(checkpoint))
    targets = {"G_A": "generator_ab", "G_B": "generator_ba"} if cycle else {"G": "generator"}
    mapping = {}
    for role, attribute in targets.items():
        getattr(model, attribute).load_state_dict(mapped[role].state_dict, strict=True)
        stripped = sources[role][2]
        mapping[role] = {"generator": attribute, "module_prefix_stripped": stripped, **mapped[role].record()}
    checkpoint["state_dict"] = {
        key: value.detach().cpu().clone() for key, value in model.state_dict().items()
    }
    checkpoint[IMPORTED_KEY] = origin(args, kind, options, sources, mapping, int(run["seed"]))
    with atomic_path(out) as tmp:
        torch.save(checkpoint, tmp)
        check_written(tmp, model, targets.values())
    describe(out, model, options, mapping, cycle)
    return out


def origin(
    args: argparse.Namespace,
    kind: str,
    options: GeneratorOptions,
    sources: dict[str, tuple[Path, dict[str, Tensor], bool]],
    mapping: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Where the weights came from: plain types only (the checkpoint is read weights-only)."""
    return {
        "producer": "gan_experiments.import_official",
        "repository": OFFICIAL_REPOSITORY,
        "files": {
            role: {"path": str(path.resolve()), "sha256": sha256_of(path), "bytes": path.stat().st_size}
            for role, (path, _, _) in sources.items()
        },
        "options": {
            "model": kind,
            "netG": options.netG,
            "norm": options.norm,
            "no_dropout": options.no_dropout,
            "input_nc": options.input_nc,
            "output_nc": options.output_nc,
            "ngf": options.ngf,
            "direction": args.direction,
            "crop_size": args.crop_size,
            "load_size": args.load_size,
            "preprocess": args.preprocess,
            "phase": args.phase,
            "dataroot": str(args.dataroot) if args.dataroot else None,
        },
        "mapping": mapping,
        "discriminator": f"freshly initialized (seed {seed}), not trained: the official generator files hold "
        "no discriminator; translate, export and evaluate do not use it",
        "command": shlex.join(["python", "-m", "gan_experiments.import_official", *args.argv]),
        "torch_version": str(torch.__version__),
    }


def check_written(path: Path, model: nn.Module, attributes: Any) -> None:
    """The written file opens as translate, export and evaluate open a checkpoint (weights-only, its run
    config checked) and rebuilds the same generators."""
    rebuilt = model_from_checkpoint(read_checkpoint(path))
    for attribute in attributes:
        expected, got = getattr(model, attribute).state_dict(), getattr(rebuilt, attribute).state_dict()
        if any(not torch.equal(expected[key], got[key]) for key in expected):
            raise UserError(f"the written checkpoint does not rebuild {attribute}; nothing was written")


def describe(
    out: Path, model: nn.Module, options: GeneratorOptions, mapping: dict[str, Any], cycle: bool
) -> None:
    log.info("official options: %s", options.flags())
    for role, record in mapping.items():
        generator = getattr(model, record["generator"])
        in_nc, out_nc = generator_channels(generator)
        parameters = sum(p.numel() for p in generator.parameters())
        notes = [f"{record['tensors']} tensors"]
        if record["legacy_instance_norm_entries_dropped"]:
            notes.append(
                f"{record['legacy_instance_norm_entries_dropped']} legacy InstanceNorm entries dropped"
            )
        if record["batch_norm_counters_filled"]:
            notes.append(f"{record['batch_norm_counters_filled']} BatchNorm counters filled")
        if record["zero_biases"]:
            notes.append(f"{record['zero_biases']} conv biases the official net lacks set to 0")
        log.info(
            "%s → %s (%d → %d channels): %s parameters (%s)", role, record["generator"], in_nc, out_nc,
            f"{parameters:,}", ", ".join(notes),
        )  # fmt: skip
    what = "CycleGAN (G_AB, G_BA)" if cycle else "pix2pix (one generator)"
    log.info("wrote %s: a %s checkpoint; its discriminator is freshly initialized, not trained", out, what)
    direction = " direction=AtoB" if cycle else ""
    log.info(
        "next: python -m gan_experiments.translate ckpt_path=%s input_dir=… output_dir=…%s", out, direction
    )


def main(argv: list[str] | None = None) -> Path | None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=RUN_FOLDER_LINE._fmt, stream=sys.stdout)
    args = parse_args(argv)
    return run_command(import_official, args, log)


if __name__ == "__main__":
    main()
