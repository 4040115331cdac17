"""Adversarial losses and the regularizers any of them takes (the contract: losses/base.py).

`loss=<name>` picks one (conf/loss/), `regularizer=[…]` adds penalties (conf/regularizer/); a new loss
is one subclass of `AdversarialLoss` (or `SeparableLoss`) and one YAML (docs/extending.md).
"""

from gan_experiments.losses.adversarial import (
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    RelativisticPairingLoss,
    WassersteinLoss,
)
from gan_experiments.losses.base import AdversarialLoss, Critic, LossAndLogs, Regularizer, SeparableLoss
from gan_experiments.losses.regularizers import GradientPenalty, R1Penalty, R2Penalty

__all__ = [
    "AdversarialLoss",
    "Critic",
    "GradientPenalty",
    "HingeLoss",
    "LeastSquaresLoss",
    "LossAndLogs",
    "MinimaxLoss",
    "NonSaturatingLoss",
    "R1Penalty",
    "R2Penalty",
    "Regularizer",
    "RelativisticPairingLoss",
    "SeparableLoss",
    "WassersteinLoss",
]
