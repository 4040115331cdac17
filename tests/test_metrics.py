"""The metric library on synthetic inputs: torchmetrics' FID/KID against the closed form, coverage and
label accuracy on hand-made logits, pixel metrics, and the offline InceptionV3 path."""

from __future__ import annotations

import math
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TinyImageFeatures
from scipy import linalg
from torch import Tensor, nn

from gan_experiments.data.spec import DataSpec
from gan_experiments.losses import NonSaturatingLoss
from gan_experiments.metrics import inception
from gan_experiments.metrics.distances import MIN_COMPARABLE_IMAGES, FeatureDistances, ScoreFromLogits
from gan_experiments.metrics.generative import ClassCoverage, MNISTGANMetrics
from gan_experiments.metrics.image_to_image import (
    DomainDistance,
    PairedTranslationMetrics,
    UnpairedTranslationMetrics,
)
from gan_experiments.models.cgan import ConditionalGAN
from gan_experiments.networks.conditional import ConditionalDiscriminator, ConditionalGenerator


def closed_form_fid(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ1−μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) from the sample statistics (test-side reference only)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def distances_of(real: Tensor, fake: Tensor, kid_subsets: int = 10, **kwargs) -> dict[str, float]:
    metric = FeatureDistances(real.shape[1], kid_subsets=kid_subsets, **kwargs)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return metric.compute()


# ---------------------------------------------------------------- FID / KID through torchmetrics
def test_fid_of_a_set_against_itself_is_zero():
    features = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert distances_of(features, features)["fid"] == pytest.approx(0.0, abs=1e-3)


def test_fid_matches_the_closed_form_for_gaussians():
    rng = torch.Generator().manual_seed(1)
    d = 6
    mix1, mix2 = torch.randn(d, d, generator=rng), torch.randn(d, d, generator=rng)
    a = torch.randn(3000, d, generator=rng) @ mix1.T + 0.5
    b = torch.randn(3000, d, generator=rng) @ mix2.T - 0.25
    expected = closed_form_fid(a.double().numpy(), b.double().numpy())
    assert expected > 1
    assert distances_of(a, b)["fid"] == pytest.approx(expected, rel=1e-4)
    # and it estimates the population value (Σ = M Mᵀ, means 0.5 and −0.25 in every coordinate)
    s1, s2 = (mix1 @ mix1.T).double().numpy(), (mix2 @ mix2.T).double().numpy()
    population = d * 0.75**2 + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert distances_of(a, b)["fid"] == pytest.approx(population, rel=0.1)


def test_kid_is_near_zero_for_identical_sets():
    features = torch.randn(1000, 8, generator=torch.Generator().manual_seed(2))
    same = distances_of(features, features)
    shifted = distances_of(features, features + 1.0)
    # the unbiased estimator is off by O(1/subset size) when the two subsets share samples
    assert abs(same["kid_mean"]) < 0.01 * shifted["kid_mean"]


def test_kid_subset_size_adapts_to_small_sample_counts():
    rng = torch.Generator().manual_seed(2)
    a, b = torch.randn(40, 8, generator=rng), torch.randn(30, 8, generator=rng)  # default subset size: 1000
    same_distribution = distances_of(a, b)
    shifted = distances_of(a, b + 1.0)
    assert abs(same_distribution["kid_mean"]) < 0.1 * shifted["kid_mean"]


def test_kid_and_inception_score_repeat_and_leave_the_global_rng_alone():
    features = torch.randn(60, 4, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = distances_of(features, features * 1.5, kid_subsets=5)
    second = distances_of(features, features * 1.5, kid_subsets=5)
    score = ScoreFromLogits(4, splits=10)
    score.update(features)
    score.compute()
    assert first == second
    assert torch.equal(torch.rand(1), expected_next)


def test_distances_refuse_fewer_than_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        distances_of(torch.randn(5, 3), torch.randn(1, 3))


def test_cached_reference_survives_reset():
    metric = FeatureDistances(3, keep_real=True)
    metric.update(torch.randn(50, 3), real=True)
    metric.update(torch.randn(50, 3), real=False)
    metric.reset()
    assert (metric.num_real, metric.num_fake) == (50, 0)
    metric.reset_real()
    assert metric.num_real == 0


# ---------------------------------------------------------------- class coverage and label accuracy
def one_hot_logits(classes: Tensor) -> Tensor:
    return nn.functional.one_hot(classes, 10).float() * 10


def test_coverage_of_a_uniform_generator():
    coverage = ClassCoverage()
    coverage.update(one_hot_logits(torch.arange(10).repeat(7)))
    scores = {k: float(v) for k, v in coverage.compute().items()}
    assert scores["coverage_kl"] == pytest.approx(0.0, abs=1e-9)
    assert scores["digits_under_5pct"] == 0
    assert all(scores[f"coverage/{k}"] == pytest.approx(0.1) for k in range(10))


def test_coverage_of_a_collapsed_generator():
    coverage = ClassCoverage()
    coverage.update(one_hot_logits(torch.full((30,), 7)))
    scores = {k: float(v) for k, v in coverage.compute().items()}
    assert scores["digits_under_5pct"] == 9
    assert scores["coverage/7"] == scores["coverage_max"] == 1.0
    assert scores["coverage_min"] == 0.0
    assert scores["coverage_kl"] == pytest.approx(math.log(10))


class PixelDigitClassifier(nn.Module):
    """A stand-in for the MNIST classifier: the digit is written into pixel (0, 0) as k/10."""

    num_classes, num_features = 10, 4

    def features_and_logits(self, images: Tensor) -> tuple[Tensor, Tensor]:
        digits = (images[:, 0, 0, 0] * 10).round().long().clamp(0, 9)
        return images.flatten(1)[:, : self.num_features], one_hot_logits(digits)


class DigitWriter(nn.Module):
    """A conditional 'generator' that writes the requested digit, except that it draws 3 as 8."""

    requires_labels = True

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.modes_seen: list[bool] = []

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        return torch.randn(n, 3, generator=rng), torch.arange(n) % 10

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        self.modes_seen.append(self.training)
        drawn = torch.where(labels == 3, 8, labels)
        images = torch.zeros(len(z), 1, 28, 28)
        images[:, 0, 0, 0] = drawn / 10
        images[:, 0, 0, 1:4] = z * self.scale
        return images


def test_label_accuracy_sampling_and_mode_restore():
    metrics = MNISTGANMetrics(num_samples=95, batch_size=20, classifier=PixelDigitClassifier())
    reference = torch.zeros(50, 1, 28, 28)
    reference[:, 0, 0, 1:4] = torch.randn(50, 3)
    metrics.reference(reference)
    model = DigitWriter().train()
    scores = metrics.evaluate(model)
    # labels 0..9 repeated: 10 of 95 requested 3s are drawn as 8s
    assert scores["label_accuracy"] == pytest.approx(85 / 95)
    assert scores["coverage/3"] == 0 and scores["coverage/8"] == pytest.approx(19 / 95)
    assert scores["digits_under_5pct"] == 1
    assert model.training and not any(model.modes_seen)
    assert metrics.evaluate(model) == scores  # seeded: the same samples, the same numbers
    assert metrics.num_reference == 50


def test_unconditional_scores_have_no_label_accuracy_and_carry_the_floor():
    metrics = MNISTGANMetrics(num_samples=30, batch_size=16, classifier=PixelDigitClassifier())
    real = torch.rand(40, 1, 28, 28)
    floor = metrics.floor(real[:20], real[20:])
    assert set(floor) == {"fid_floor", "kid_floor_mean", "kid_floor_std", "is_real_mean"}
    scores = metrics.score_images(torch.rand(30, 1, 28, 28))
    assert "label_accuracy" not in scores
    assert scores["fid_floor"] == floor["fid_floor"]
    with pytest.raises(RuntimeError, match="reference"):
        MNISTGANMetrics(num_samples=4, classifier=PixelDigitClassifier()).score_images(real)


def test_the_shipped_classifier_scores_a_real_conditional_gan():
    """The project's cGAN (untrained, MLP, 32 px padded) through the shipped classifier, end to end."""
    generator = partial(ConditionalGenerator, backbone="mlp", width=8)
    discriminator = partial(ConditionalDiscriminator, backbone="mlp", width=8)
    adam = partial(torch.optim.Adam, lr=1e-3)
    spec = DataSpec("images", (1, 32, 32), num_classes=10)
    model = ConditionalGAN(generator, discriminator, NonSaturatingLoss(), adam, adam, data_spec=spec, z_dim=8)
    metrics = MNISTGANMetrics(num_samples=40, batch_size=20)
    metrics.reference(torch.rand(30, 1, 32, 32) * 2 - 1)
    scores = metrics.evaluate(model)
    expected = {"fid", "kid_mean", "kid_std", "is_mean", "is_std", "coverage_min", "coverage_max"}
    assert expected | {"digits_under_5pct", "coverage_kl", "label_accuracy"} <= set(scores)
    assert sum(scores[f"coverage/{k}"] for k in range(10)) == pytest.approx(1.0)
    assert all(math.isfinite(scores[k]) for k in expected)


# ---------------------------------------------------------------- image-to-image
def images(n: int = 4, size: int = 32, seed: int = 0) -> Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8


def test_pixel_metrics_of_identical_and_shifted_images():
    metrics = PairedTranslationMetrics(use_inception=False)
    target = images()
    metrics.update(target.clone(), target)
    same = metrics.compute()
    assert same["l1"] == 0 and same["ssim"] == pytest.approx(1.0) and same["psnr"] == math.inf
    metrics.reset()
    metrics.update(target + 0.1, target)
    shifted = metrics.compute()
    assert shifted["l1"] == pytest.approx(0.1, rel=1e-4)
    assert shifted["psnr"] == pytest.approx(10 * math.log10(2.0**2 / 0.1**2), rel=1e-4)
    assert 0 < shifted["ssim"] < 1
    assert "fid" not in shifted


def test_cycle_consistency():
    metrics = UnpairedTranslationMetrics(use_inception=False)
    a, b = images(seed=1), images(seed=2)
    metrics.update_a(a, fake_b=b, reconstructed_a=a)
    assert metrics.compute() == {"cycle_l1_a": 0.0}
    metrics.update_b(b, fake_a=a, reconstructed_b=b - 0.2)
    scores = metrics.compute()
    assert scores["cycle_l1_b"] == pytest.approx(0.2, rel=1e-4)
    assert scores["cycle_l1"] == pytest.approx(0.1, rel=1e-4)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty torch hub cache, a fresh once-per-process flag, and downloads that fail loudly."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "_warned", False)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", no_network)
    return tmp_path / "hub"


def test_offline_inception_warns_once_and_skips(offline_hub):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paired = PairedTranslationMetrics()
        unpaired = UnpairedTranslationMetrics()
        PairedTranslationMetrics(inception_weights=offline_hub / "elsewhere.pth")
    messages = [str(w.message) for w in caught if "Inception" in str(w.message)]
    assert len(messages) == 1
    assert str(offline_hub / "checkpoints" / inception.WEIGHTS_NAME) in messages[0]
    paired.update(images(), images(seed=3))
    unpaired.update_a(images(), images(), images())
    assert set(paired.compute()) == {"l1", "psnr", "ssim"}
    assert set(unpaired.compute()) == {"cycle_l1_a"}


def write_random_inception_weights(path) -> None:
    """torch-fidelity's architecture with untrained weights, saved where its download would land."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state, **kwargs: None)
        patch.setattr(torch, "load", lambda *args, **kwargs: {})
        network = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048"], feature_extractor_weights_path="unused"
        )
    path.parent.mkdir(parents=True)
    torch.save(network.state_dict(), path)


@pytest.mark.slow
def test_inception_weights_in_the_hub_cache_give_fid(offline_hub):
    write_random_inception_weights(offline_hub / "checkpoints" / inception.WEIGHTS_NAME)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = PairedTranslationMetrics(kid_subsets=3)
    metrics.update(images(3, 16), images(3, 16, seed=4))
    scores = metrics.compute()
    assert {"l1", "psnr", "ssim", "fid", "kid_mean", "kid_std"} <= set(scores)
    assert math.isfinite(scores["fid"])
    assert (scores["fid_images"], scores["fid_real_images"], scores["fid_comparable"]) == (3, 3, False)


@pytest.mark.parametrize("below, comparable", [(1, False), (0, True)])
def test_translation_fid_comes_with_its_counts_and_the_minimum_of_score(below, comparable):
    """The counts next to every translation FID/KID; below `score`'s minimum (one definition) the number
    is flagged as not comparable, never refused."""
    count = MIN_COMPARABLE_IMAGES - below
    domain = DomainDistance(TinyImageFeatures(), kid_subsets=2, kid_subset_size=1000, seed=0)
    domain.update(images(MIN_COMPARABLE_IMAGES + 5, 8, seed=5), real=True)
    domain.update(images(count, 8, seed=6), real=False)
    scores = domain.compute("_b")
    assert math.isfinite(scores["fid_b"]) and math.isfinite(scores["kid_b_mean"])
    assert scores["fid_b_images"] == count and scores["fid_b_real_images"] == MIN_COMPARABLE_IMAGES + 5
    assert scores["fid_b_comparable"] is comparable


def _ddp_worker(rank: int, port: int, out_dir: str) -> None:
    """Rank 1 holds a single sample: alone it could not compute FID, so it must follow rank 0's lead.
    (Every rank needs at least one update: torchmetrics cannot gather an empty list state.)"""
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    rng = torch.Generator().manual_seed(rank)
    distances = FeatureDistances(4, kid_subsets=3)
    n = 5 if rank == 0 else 1
    distances.update(torch.randn(n, 4, generator=rng), real=True)
    distances.update(torch.randn(n, 4, generator=rng) + 1, real=False)
    paired = PairedTranslationMetrics(use_inception=False)
    paired.update(images(n) + 0.1, images(n))
    scores = {**distances.compute(), **paired.compute()}
    (Path(out_dir) / f"{rank}.json").write_text(json.dumps(scores))
    dist.destroy_process_group()


@pytest.mark.slow
def test_ranks_agree_to_compute_when_one_rank_has_too_few_samples(tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.start_processes(
        _ddp_worker, args=(port, str(tmp_path)), nprocs=2, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + 60
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("ranks deadlocked in compute")
    first, second = (json.loads((tmp_path / f"{rank}.json").read_text()) for rank in (0, 1))
    assert first == second
    assert {"fid", "kid_mean", "l1", "psnr", "ssim"} <= set(first)
