"""The loss contract every model trains with, and the one place each phase's terms are assembled.

An `AdversarialLoss` is the objective of both players as pure, AMP-safe functions of the critic's
scores (logits) on real *and* fake images:

- `discriminator_terms(real_scores, fake_scores)`: named terms that sum to D's loss (`real` and
  `fake` for the classic losses; one paired term for a relativistic one);
- `generator_term(fake_scores, real_scores)`: G's loss; `real_scores` is computed only for losses that
  set `generator_reads_real` (a relativistic loss compares each fake with a real image; the other losses
  would pay one more critic forward for nothing).

Regularizers (WGAN-GP's penalty, R1 on real, R2 on fake) are separate pieces (`Regularizer`) that any
loss takes through its `regularizers` option, a mapping of names to pieces, listed in the loss config:

    python -m gan_experiments.train loss=hinge regularizer=[r1]

`discriminator_objective` and `generator_objective` assemble each phase once for every model family,
under one naming scheme (as NVlabs' stylegan2-ada-pytorch `training/loss.py` does): `loss/d_<term>`
for each of D's terms and regularizers (`loss/d_real`, `loss/d_fake`, `loss/d_gp`, …; with a domain:
`loss/d_a_real`, …) and `d/real`, `d/fake` for the critic's mean output. A regularizer sits inside the
phase's weight, so its λ means the same whatever weight a model gives its D loss.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from gan_experiments.errors import ConfigError

#: the discriminator as a function of images alone (conditioned on the batch where the model needs it)
Critic = Callable[[Tensor], Tensor]
LossAndLogs = tuple[Tensor, dict[str, Tensor]]


class Regularizer(ABC):
    """A term of D's loss computed from the critic itself (its input gradient), not from its scores:
    λ · penalty, every `every`-th D step with λ · every (lazy regularization, StyleGAN2's speed
    trade: the same average strength at a fraction of the cost)."""

    #: True when the penalty constrains each sample's gradient: BatchNorm in the critic couples the
    #: samples of a batch, so a model refuses the two together
    per_sample: bool = True

    def __init__(self, weight: float, every: int = 1) -> None:
        if not (isinstance(weight, (int, float)) and weight >= 0):
            raise ConfigError(f"a regularizer's weight must be a number >= 0, got {weight!r}")
        if not (isinstance(every, int) and every >= 1):
            raise ConfigError(f"a regularizer's `every` must be an integer >= 1, got {every!r}")
        self.weight = float(weight)
        self.every = every

    def due(self, step: int) -> bool:
        """Whether the penalty is computed at D step `step` (0-based)."""
        return step % self.every == 0

    @abstractmethod
    def penalty(
        self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """The unweighted penalty (a scalar); `generator` draws any randomness it needs (interpolates)."""

    def __call__(
        self, critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        return self.weight * self.every * self.penalty(critic, real, fake, generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight}, every={self.every})"


class AdversarialLoss(ABC):
    """Base class of the adversarial objectives; subclasses define the two phases' terms."""

    #: the loss's option name (`loss=<name>`), for messages
    name: str = "?"
    #: True when the critic's output is a logit of P(real): D(x) is then reported as a probability
    probabilistic: bool = False
    #: True when G's term compares fakes with real images (relativistic losses): the model then runs
    #: the critic on the real batch in G's phase too (with D's parameters frozen)
    generator_reads_real: bool = False

    def __init__(self, regularizers: Mapping[str, Regularizer] | None = None) -> None:
        regularizers = dict(regularizers or {})
        for key, piece in regularizers.items():
            if not isinstance(piece, Regularizer):
                raise ConfigError(
                    f"loss.regularizers.{key} must be a gan_experiments.losses.Regularizer, "
                    f"got {type(piece).__name__}"
                )
        #: D's regularizers by name (the name is their log key: loss/d_<name>)
        self.regularizers: dict[str, Regularizer] = regularizers

    # ---------------------------------------------------------------- what a loss defines
    @abstractmethod
    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
        """Named scalar terms that sum to D's loss; each is logged as `loss/d_<name>`."""

    @abstractmethod
    def generator_term(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        """G's adversarial loss; `real_scores` is given when `generator_reads_real` is set."""

    # ---------------------------------------------------------------- assembled once, for every model
    def per_sample_penalties(self) -> list[str]:
        """The regularizers that constrain each sample's gradient: BatchNorm in the critic is refused
        with any of them (models/base.py, `check_critics`)."""
        return [name for name, piece in self.regularizers.items() if piece.per_sample]

    def discriminator_objective(
        self,
        critic: Critic,
        real: Tensor,
        fake: Tensor,
        weight: float = 1.0,
        domain: str = "",
        generator: torch.Generator | None = None,
        step: int = 0,
        regularize: bool = True,
    ) -> LossAndLogs:
        """D's whole loss for one critic, weight · (terms + due regularizers), and what to log."""
        real_scores, fake_scores = critic(real), critic(fake)
        terms = self.discriminator_terms(real_scores, fake_scores)
        if regularize:
            for name, piece in self.regularizers.items():
                if piece.due(step):
                    terms[name] = piece(critic, real, fake, generator)
        loss_key = f"loss/d_{domain}_" if domain else "loss/d_"
        output_key = f"d/{domain}_" if domain else "d/"
        logs = {f"{loss_key}{name}": value for name, value in terms.items()}
        logs[f"{output_key}real"] = self.d_output(real_scores).mean()
        logs[f"{output_key}fake"] = self.d_output(fake_scores).mean()
        return weight * torch.stack([value.float() for value in terms.values()]).sum(), logs

    def generator_scores(
        self, critic: Critic, fake: Tensor, real: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """The critic's scores G's term needs: on the fakes, and on the real images only where the loss
        reads them."""
        if self.generator_reads_real:
            if real is None:
                raise ValueError(f"loss={self.name} compares fakes with real images; the model gave none")
            return critic(fake), critic(real)
        return critic(fake), None

    def generator_objective(self, critic: Critic, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """G's adversarial loss against one critic."""
        return self.generator_term(*self.generator_scores(critic, fake, real))

    def d_output(self, scores: Tensor) -> Tensor:
        """What "the discriminator's output" means for this objective: P(real) or the raw score."""
        scores = scores.detach().float()
        return torch.sigmoid(scores) if self.probabilistic else scores

    def __repr__(self) -> str:
        pieces = ", ".join(f"{k}={v!r}" for k, v in self.regularizers.items())
        return f"{type(self).__name__}({pieces})"


class SeparableLoss(AdversarialLoss):
    """A loss whose D objective is a real term plus a fake term (every loss of the GAN literature before
    the relativistic ones): subclasses define the three functions of the scores."""

    @abstractmethod
    def real_term(self, real_scores: Tensor) -> Tensor: ...

    @abstractmethod
    def fake_term(self, fake_scores: Tensor) -> Tensor: ...

    @abstractmethod
    def generator_fake_term(self, fake_scores: Tensor) -> Tensor: ...

    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
        return {"real": self.real_term(real_scores), "fake": self.fake_term(fake_scores)}

    def generator_term(self, fake_scores: Tensor, real_scores: Tensor | None = None) -> Tensor:
        return self.generator_fake_term(fake_scores)
