"""Research extras of the noise GANs, reached through the hooks the GAN declares, so that `models/gan.py`
stays the seed notes' GAN and an extra is one class plus one YAML (`conf/extension/<name>.yaml`,
selected with `extension=[top_k]`, tuned with `model.extensions.top_k.decay=0.8`).

A `NoiseGANExtension` is an `nn.Module`: whatever parameters it has learn with G (on G's optimizer and
G's loss), and its state is saved in checkpoints like the model's. Every hook's default leaves the GAN as
it is; the GAN calls the hooks of all its extensions in the order the config lists them.

Two extras ship, both measured on MNIST as not helping there (docs/results/):

- `TopK` (Sinha et al. 2020, "top-k training"): G learns only from the fakes D rates most real;
- `CategoricalCode` (InfoGAN's categorical code, Chen et al. 2016): the last K entries of z are a
  one-hot code, and a network Q built like D learns with G to read it back from G's images.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_experiments.errors import ConfigError

if TYPE_CHECKING:
    from gan_experiments.models.base import NetworkFactory
    from gan_experiments.models.gan import GAN


class NoiseGANExtension(nn.Module):
    """Base class: the hooks a noise GAN calls; override the ones an extra needs."""

    def bind(self, model: GAN, discriminator: NetworkFactory) -> None:
        """Called once by the GAN after its own networks exist, with D's constructor (for networks built
        like D). Raise ValueError naming the option when the extra cannot work with this model."""

    def prior(self, z: Tensor, rng: torch.Generator | None) -> Tensor:
        """The noise G is fed, from the GAN's own draw `z` (N, z_dim); draw from `rng` only."""
        return z

    def grid_noise(self, n: int, draw: Callable[[int], Tensor]) -> Tensor | None:
        """The noise of a grid of about `n` samples (progress grids, `generate`, the metrics' sampling) laid
        out for this extra, with `draw(count)` the GAN's noise; None leaves the grid to the model."""
        return None

    def grid_columns(self, n: int) -> int | None:
        """Images per row of a grid of `n` samples made from `grid_noise`; None leaves it to the model."""
        return None

    def generator_scores(
        self, fake_scores: Tensor, real_scores: Tensor | None, epoch: int
    ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        """The critic's scores G's loss is taken over (all of them by default), and values to log."""
        return fake_scores, real_scores, {}

    def generator_terms(self, images: Tensor, z: Tensor) -> dict[str, Tensor]:
        """Weighted terms added to G's loss, each logged as `loss/g_<name>`."""
        return {}

    def noise_facts(self) -> dict[str, Any]:
        """What an exported generator's users must know about z beyond its prior (export's metadata)."""
        return {}

    def noise_distribution(self, distribution: str, z_dim: int) -> str:
        """z's distribution in words, given the words so far (export's metadata)."""
        return distribution


class TopK(NoiseGANExtension):
    """G's loss over the k fakes the critic rates most real, k a share max(decay^epoch, min_share) of each
    batch. The paper finds that the gradient of the worst-rated fakes can push them further from their
    nearest mode. Every loss here scores real images higher than fakes, so the highest scores are the
    most realistic samples."""

    def __init__(self, decay: float = 0.99, min_share: float = 0.5) -> None:
        super().__init__()
        if not 0 < decay <= 1:
            raise ConfigError(f"model.extensions.top_k.decay must be in (0, 1], got {decay}")
        if not 0 < min_share <= 1:
            raise ConfigError(f"model.extensions.top_k.min_share must be in (0, 1], got {min_share}")
        self.decay, self.min_share = float(decay), float(min_share)

    def share(self, epoch: int) -> float:
        return max(self.decay**epoch, self.min_share)

    def generator_scores(
        self, fake_scores: Tensor, real_scores: Tensor | None, epoch: int
    ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        n = fake_scores.shape[0]
        k = max(1, math.ceil(self.share(epoch) * n))
        if k < n:
            best = fake_scores.detach().reshape(n, -1).mean(dim=1).topk(k).indices
            fake_scores = fake_scores[best]
            real_scores = real_scores[:k] if real_scores is not None else None
        logs = {"g/top_k": torch.tensor(k / n, device=fake_scores.device)}
        return fake_scores, real_scores, logs


class CategoricalCode(NoiseGANExtension):
    """InfoGAN's categorical code: the last `values` entries of z are a one-hot c ~ Cat(values), and Q
    (D's network with one output per value) learns with G to minimize weight · CE(Q(G(z)), c). Meant to
    give each code value one kind of image, so that G need not bend one continuous z-space around
    separate clusters. Progress grids show one row per code value."""

    def __init__(self, values: int = 10, weight: float = 1.0) -> None:
        super().__init__()
        if not (isinstance(values, int) and values >= 2):
            raise ConfigError(
                f"model.extensions.categorical_code.values must be an integer >= 2, got {values}"
            )
        self.values, self.weight = values, float(weight)
        self.reader: nn.Module | None = None

    def bind(self, model: GAN, discriminator: NetworkFactory) -> None:
        if model.requires_labels:
            raise ConfigError(
                "model.extensions.categorical_code is for unconditional GANs; a cGAN has its labels"
            )
        if self.values >= model.z_dim:
            raise ConfigError(
                f"model.extensions.categorical_code.values must be < z_dim ({model.z_dim}), got {self.values}"
            )
        parameters = inspect.signature(discriminator).parameters
        if "outputs" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            raise ConfigError(
                "model.extensions.categorical_code needs a discriminator network with an `outputs` option "
                "(the MLP, DCGAN and the notes' conv GAN discriminators have one)"
            )
        self.reader = discriminator(**model.network_facts(), outputs=self.values)

    def with_codes(self, z: Tensor, codes: Tensor) -> Tensor:
        """z with its last `values` entries replaced by the one-hot `codes`."""
        return torch.cat([z[:, : -self.values], F.one_hot(codes, self.values).to(z.dtype)], dim=1)

    def codes_of(self, z: Tensor) -> Tensor:
        return z[:, -self.values :].argmax(dim=1)

    def prior(self, z: Tensor, rng: torch.Generator | None) -> Tensor:
        codes = torch.randint(self.values, (z.shape[0],), device=z.device, generator=rng)
        return self.with_codes(z, codes)

    def grid_noise(self, n: int, draw: Callable[[int], Tensor]) -> Tensor:
        """n // values samples of each code value in turn (one grid row per value)."""
        codes = torch.arange(self.values).repeat_interleave(max(1, n // self.values))
        z = draw(len(codes))
        return self.with_codes(z, codes.to(z.device))

    def grid_columns(self, n: int) -> int:
        return max(1, n // self.values)

    def generator_terms(self, images: Tensor, z: Tensor) -> dict[str, Tensor]:
        return {"info": self.weight * F.cross_entropy(self.reader(images), self.codes_of(z))}

    def noise_facts(self) -> dict[str, Any]:
        return {"categorical_code": self.values}

    def noise_distribution(self, distribution: str, z_dim: int) -> str:
        rest = z_dim - self.values
        return f"{distribution} in the first {rest} entries, a one-hot code in the last {self.values}"
