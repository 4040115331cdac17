"""The rows of the quality matrix: what is trained (the command-line overrides a user would type) and
the targets each row is held to.

Rows are built from the CLI's own config names, so "dcgan × hinge" is exactly
`python -m gan_experiments.train experiment=dcgan_mnist loss=hinge`: the preset's data and sampling
settings (32 px, EMA of G) with the loss's recipe (its optimizer defaults, see conf/loss/*.yaml).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["noise", "conditional", "paired", "unpaired", "modes"]
#: the kinds whose rows are measured against the bar: their experiments (conf/experiment/*_mnist*.yaml)
#: switch callbacks.quality_bar on; the translation rows have no such callback
BAR_KINDS: tuple[Kind, ...] = ("noise", "conditional")
Scores = dict[str, float]

LOSSES = ("bce", "minimax", "lsgan", "hinge", "wgan_gp")
#: the loss each noise preset brings (its row is that family's row for this loss)
PRESET_LOSS = {"gan_mnist": "bce", "dcgan_mnist": "bce"}


@dataclass(frozen=True)
class Target:
    """One bar a row must clear, with the words the table prints for it."""

    text: str
    check: Callable[[Scores], bool]

    def met(self, scores: Scores) -> bool | None:
        """True/False, or None when a metric it needs was not measured."""
        try:
            return bool(self.check(scores))
        except KeyError:
            return None


def fid_within(times: float) -> Target:
    return Target(f"FID ≤ {times:g} × floor", lambda s: s["fid"] <= times * s["fid_floor"])


def rarest_digit_at_least(share: float) -> Target:
    return Target(f"no digit under {share:.0%}", lambda s: s["coverage_min"] >= share)


def every_digit_between(low: float, high: float) -> Target:
    return Target(
        f"every digit {low:.0%}–{high:.0%}", lambda s: s["coverage_min"] >= low and s["coverage_max"] <= high
    )


def at_least(key: str, value: float, text: str) -> Target:
    return Target(text, lambda s: s[key] >= value)


#: at each preset's full length (`--full`): the bar of docs/results/README.md
FULL_LENGTH_NOISE = (fid_within(3), every_digit_between(0.07, 0.13))
FULL_LENGTH_CONDITIONAL = (*FULL_LENGTH_NOISE, at_least("label_accuracy", 0.98, "label accuracy ≥ 98 %"))
#: within the matrix budget
BUDGET_DCGAN = (fid_within(10), rarest_digit_at_least(0.05))
BUDGET_GAN = (rarest_digit_at_least(0.03),)
#: Stacked MNIST: PacGAN's PacDCGAN2 (Table 2: 1000.0 ± 0.00 modes, KL 0.06 ± 0.003, 26,000 samples)
PACDCGAN2 = (
    at_least("modes", 1000, "all 1,000 modes"),
    Target("KL ≤ 0.06", lambda s: s["kl"] <= 0.06),
)
#: the papers' sample count for the mode metrics
MODE_SAMPLES = 26_000
BUDGET_PIX2PIX = (at_least("digit_accuracy", 0.95, "digit read in ≥ 95 %"),)
BUDGET_CYCLEGAN = (
    at_least("digit_accuracy", 0.90, "digit read in ≥ 90 %"),
    Target(
        "≥ 90 % on the target side of core ink (both ways)",
        lambda s: min(s["target_side_a"], s["target_side_b"]) >= 0.9,
    ),
)


@dataclass(frozen=True)
class Row:
    """One training of the matrix. `key` selects it (`--only`), `group` selects a family."""

    key: str
    title: str
    group: str
    kind: Kind
    overrides: tuple[str, ...]
    targets: tuple[Target, ...] = ()
    full_targets: tuple[Target, ...] = ()
    #: extra overrides of the CPU mode only (smaller networks where the paper's do not fit the budget)
    cpu_overrides: tuple[str, ...] = field(default=())
    #: a time budget is this many times the matrix's (conv GANs take 2-4× an MLP's time per step)
    time_scale: float = 1.0
    #: samples the row is scored on when not the runner's --num-samples (the mode metrics: the papers')
    num_samples: int | None = None

    def command(self, cpu: bool) -> list[str]:
        return [*self.overrides, *(self.cpu_overrides if cpu else ())]


#: time scale of the rows whose steps cost most (DCGAN-sized convolutional G and D at 32 px)
CONV_TIME_SCALE = 2.0


def _noise_preset(
    name: str, kind: Kind = "noise", targets: Sequence[Target] = (), time_scale: float = 1.0
) -> Row:
    full = FULL_LENGTH_CONDITIONAL if kind == "conditional" else FULL_LENGTH_NOISE
    return Row(
        name,
        f"`{name}`",
        "presets",
        kind,
        (f"experiment={name}",),
        tuple(targets),
        full,
        time_scale=time_scale,
    )


def _family_row(family: str, preset: str, loss: str, targets: Sequence[Target], time_scale: float) -> Row:
    return Row(
        f"{family}-{loss}", f"{family} × {loss}", family, "noise",
        (f"experiment={preset}", f"loss={loss}"), tuple(targets), time_scale=time_scale,
    )  # fmt: skip


def matrix() -> list[Row]:
    """Every row, in the order of the table: presets, gan × loss, dcgan × loss, translation."""
    rows = [
        _noise_preset("gan_mnist", targets=BUDGET_GAN),
        _noise_preset("gan_mnist_assignment"),
        _noise_preset("dcgan_mnist", targets=BUDGET_DCGAN, time_scale=CONV_TIME_SCALE),
        _noise_preset("conv_gan_mnist"),
        _noise_preset("cgan_mnist", kind="conditional", time_scale=CONV_TIME_SCALE),
    ]
    for family, preset, targets, scale in (
        ("gan", "gan_mnist", BUDGET_GAN, 1.0),
        ("dcgan", "dcgan_mnist", BUDGET_DCGAN, CONV_TIME_SCALE),
    ):
        # the preset's own loss is its row above (same command), not repeated here
        rows += [
            _family_row(family, preset, loss, targets, scale)
            for loss in LOSSES
            if loss != PRESET_LOSS[preset]
        ]
    rows += [
        Row(
            "pix2pix-mnist_outlines", "pix2pix: outline → digit", "translation", "paired",
            ("experiment=pix2pix_mnist_outlines",), BUDGET_PIX2PIX,
        ),
        Row(
            "cyclegan-mnist_strokes", "CycleGAN: thin ↔ bold", "translation", "unpaired",
            ("experiment=cyclegan_mnist_strokes",), BUDGET_CYCLEGAN,
        ),
    ]  # fmt: skip
    rows += [
        _stacked_row("stacked-pacgan-pack1", "their DCGAN (VEEGAN/PacGAN), pack 1", (), PAPERS),
        _stacked_row("stacked-pacgan-pack2", "their DCGAN, pack 2", ("model.pack=2",), PAPERS),
        _stacked_row("stacked-dcgan", "DCGAN recipe (the preset)", ()),
        _stacked_row("stacked-dcgan-pack2", "DCGAN recipe, pack 2", ("model.pack=2",)),
        _stacked_row(
            "stacked-rpgan-r1r2", "DCGAN recipe, rpgan + R1/R2",
            ("loss=rpgan", "regularizer=[r1,r2]", "model.discriminator.norm=none"),
        ),
    ]  # fmt: skip
    return rows


#: the papers' protocol on Stacked MNIST (their network, optimizer and length)
PAPERS = "pacgan_stacked_mnist"


def _stacked_row(
    key: str, title: str, overrides: tuple[str, ...], experiment: str = "dcgan_stacked_mnist"
) -> Row:
    return Row(
        key, f"Stacked MNIST: {title}", "stacked", "modes", (f"experiment={experiment}", *overrides),
        full_targets=PACDCGAN2, time_scale=CONV_TIME_SCALE, num_samples=MODE_SAMPLES,
    )  # fmt: skip


def select(rows: list[Row], only: str | None) -> list[Row]:
    """`--only`: comma-separated row keys or groups (presets, gan, dcgan, translation)."""
    if not only:
        return rows
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    known = {row.key for row in rows} | {row.group for row in rows}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"--only: unknown {', '.join(unknown)}; expected row keys or groups: {', '.join(sorted(known))}"
        )
    return [row for row in rows if row.key in wanted or row.group in wanted]
