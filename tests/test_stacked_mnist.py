"""Stacked MNIST (data=stacked_mnist), the mode metrics, PacGAN packing (model.pack) and the relativistic
pairing loss (loss=rpgan), on synthetic MNIST files and tiny networks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from tensorboard_events import load_events, scalar_tags
from torch import nn

from gan_experiments.data.stacked_mnist import StackedMNISTDataModule
from gan_experiments.errors import ConfigError
from gan_experiments.losses import RelativisticPairingLoss
from gan_experiments.metrics.modes import ModeCounts, StackedMNISTMetrics, read_modes
from gan_experiments.train import build, train


@pytest.fixture
def stacked(fake_mnist_dir):
    def _make(**options) -> StackedMNISTDataModule:
        data = StackedMNISTDataModule(data_dir=str(fake_mnist_dir), download=False, batch_size=8, **options)
        data.prepare_data()
        data.setup()
        return data

    return _make


@pytest.fixture
def stacked_config(smoke_config, fake_mnist_dir):
    def _make(*overrides: str, **kwargs):
        data = ("data=stacked_mnist", f"data.data_dir={fake_mnist_dir}", "data.download=false")
        small = ("data.num_train=64", "data.num_reference=64", "data.num_val=16")
        return smoke_config(*data, *small, *overrides, **kwargs)

    return _make


# ---------------------------------------------------------------- the data
def test_each_image_stacks_three_digits_and_its_mode_names_them(stacked):
    data = stacked(num_train=100, num_reference=50, num_val=20)
    assert data.spec.image_shape == (3, 28, 28) and data.spec.modes == 1000 and not data.spec.labelled
    assert data.spec.sample_metrics == "stacked_mnist"
    images, modes = next(iter(data.train_dataloader()))
    assert images.shape == (8, 3, 28, 28) and modes.shape == (8,)
    digits, labels = data.mnist.metric_split("train").tensors
    rows = data.sets["train"].triples[: len(images)]
    first = data.sets["train"].batch(torch.arange(8))
    assert torch.equal(first[0][:, 1], digits[rows[:, 1], 0])  # channel c is the c-th digit of the triple
    expected = labels[rows[:, 0]] * 100 + labels[rows[:, 1]] * 10 + labels[rows[:, 2]]
    assert torch.equal(first[1], expected)
    assert [len(data.sets[name]) for name in ("train", "reference", "val")] == [100, 50, 20]


def test_the_triples_are_fixed_by_the_seed_and_32_px_pads(stacked):
    a, b, c = stacked(num_train=30), stacked(num_train=30), stacked(num_train=30, seed=1)
    assert torch.equal(a.sets["train"].triples, b.sets["train"].triples)
    assert not torch.equal(a.sets["train"].triples, c.sets["train"].triples)
    padded = stacked(num_train=30, image_size=32)
    images, _ = padded.sets["train"].batch(torch.arange(4))
    assert images.shape == (4, 3, 32, 32) and torch.all(images[..., :2, :] == -1)


def test_the_reference_is_never_smaller_than_the_metrics_sample_count(stacked):
    data = stacked(num_reference=50)
    assert sum(len(images) for images, _ in data.reference_loader(40, 16)) == 40
    with pytest.raises(ConfigError, match=r"ask for 60 real triples, but data\.num_reference=50"):
        data.reference_loader(60, 16)


def test_bad_sizes_are_one_line(stacked_config):
    with pytest.raises(ConfigError, match=r"^data\.num_train must be an integer >= 1, got 0$"):
        build(stacked_config("data.num_train=0"))


# ---------------------------------------------------------------- the mode metrics
def test_modes_and_kl_against_their_closed_forms():
    counts = ModeCounts()
    counts.update(torch.arange(1000).repeat(3))
    assert counts.covered() == 1000 and counts.kl_from_uniform() == pytest.approx(0.0, abs=1e-12)
    one = ModeCounts()
    one.update(torch.full((50,), 7))
    assert one.covered() == 1 and one.kl_from_uniform() == pytest.approx(math.log(1000))
    half = ModeCounts()
    half.update(torch.arange(500))  # half the modes, once each: KL = ln 2
    assert half.covered() == 500 and half.kl_from_uniform() == pytest.approx(math.log(2))


class DigitOracle(nn.Module):
    """A 'classifier' that reads the digit a channel's mean encodes (mean = digit / 10)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        digit = (images.mean(dim=(1, 2, 3)) * 10).round().long().clamp(0, 9)
        return F.one_hot(digit, 10).float()


def test_each_channel_is_read_on_its_own():
    triples = torch.tensor([[1, 2, 3], [9, 0, 5]])
    images = (triples.float() / 10)[:, :, None, None].expand(-1, -1, 4, 4)
    assert read_modes(DigitOracle(), images).tolist() == [123, 905]


class ConstantGenerator(nn.Module):
    """Every sample the triple (4, 5, 6): one mode."""

    requires_labels = False
    device = torch.device("cpu")

    def sample_inputs(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor]:
        return (torch.zeros(n, 1),)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (torch.tensor([4.0, 5.0, 6.0]) / 10)[None, :, None, None].expand(len(z), -1, 4, 4)


def test_a_collapsed_generator_covers_one_mode_next_to_the_real_floor():
    metrics = StackedMNISTMetrics(num_samples=1000, batch_size=128, classifier=DigitOracle())
    real = (torch.arange(1000)[:, None] // torch.tensor([100, 10, 1]) % 10).float() / 10
    floor = metrics.floor(
        [(real[i : i + 100, :, None, None].expand(-1, -1, 4, 4),) for i in range(0, 1000, 100)]
    )
    assert floor == {"modes_floor": 1000.0, "kl_floor": pytest.approx(0.0, abs=1e-12)}
    scores = metrics.evaluate(ConstantGenerator())
    assert scores["modes"] == 1.0 and scores["kl"] == pytest.approx(math.log(1000))
    assert scores["mode_samples"] == 1000.0 and scores["modes_floor"] == 1000.0


def test_a_run_on_stacked_mnist_logs_the_mode_metrics_and_evaluate_reports_them(stacked_config, tmp_path):
    from conftest import make_config

    from gan_experiments.evaluate import evaluate

    train(stacked_config("trainer.max_epochs=1"))
    assert {"metrics/modes", "metrics/kl", "metrics/kl_floor", "metrics/modes_floor"} <= scalar_tags(tmp_path)
    modes = load_events(tmp_path).Scalars("metrics/modes")[-1].value
    assert 1 <= modes <= 64  # at most one mode per sample
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    report = evaluate(
        make_config([f"ckpt_path={checkpoint}", "device=cpu", "num_samples=64"], tmp_path / "eval", "eval")
    )
    assert report["metrics"]["mode_samples"] == 64 and "kl" in report["metrics"]


# ---------------------------------------------------------------- packing
def test_packing_feeds_the_critic_m_samples_along_the_channels(stacked_config):
    _, model, _ = build(stacked_config("model.pack=2", "model.discriminator.norm=none"))
    first = next(m for m in model.discriminator.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == 6
    images = torch.randn(4, 3, 32, 32)
    packed = model.packed(images)
    assert packed.shape == (2, 6, 32, 32)
    assert torch.equal(packed[1, :3], images[2]) and torch.equal(packed[1, 3:], images[3])
    with pytest.raises(ConfigError, match=r"^model\.pack=2: a batch of 3 images cannot be packed"):
        model.packed(images[:3])
    assert model.packed(images[:3], whole_packs_only=True).shape == (1, 6, 32, 32)


@pytest.mark.parametrize("loss", ["bce", "wgan_gp"])
def test_a_packed_model_trains_with_any_loss(stacked_config, tmp_path, loss):
    train(stacked_config("model.pack=2", f"loss={loss}", "trainer.limit_train_batches=2"))
    tags = scalar_tags(tmp_path)
    assert {"loss/d_real", "loss/g", "val/loss_d"} <= tags and (loss != "wgan_gp" or "loss/d_gp" in tags)


def test_packing_is_refused_in_one_line_where_it_cannot_work(smoke_config):
    with pytest.raises(ConfigError, match=r"^model\.pack is for unconditional GANs"):
        build(smoke_config("model=cgan", "model.pack=2"))
    with pytest.raises(ConfigError, match=r"^model\.pack must be an integer >= 1, got 0"):
        build(smoke_config("model.pack=0"))
    with pytest.raises(ConfigError, match=r"model\.pack=2: a batch of 3 images"):
        train(smoke_config("model.pack=2", "data.batch_size=3"))


# ---------------------------------------------------------------- relativistic pairing
def test_rpgan_closed_form_pairs_each_real_score_with_one_fake():
    loss = RelativisticPairingLoss()
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    assert loss.discriminator_terms(real, fake)["pair"].item() == pytest.approx(
        (F.softplus(torch.tensor(-2.0)) + F.softplus(torch.tensor(1.0))).item() / 2
    )
    assert loss.generator_term(fake, real).item() == pytest.approx(
        (F.softplus(torch.tensor(2.0)) + F.softplus(torch.tensor(-1.0))).item() / 2
    )
    assert loss.generator_reads_real


def test_rpgan_with_r1_and_r2_trains_and_logs_each_term(smoke_config, tmp_path):
    train(smoke_config("loss=rpgan", "regularizer=[r1,r2]", "model.discriminator.norm=none"))
    assert {"loss/d_pair", "loss/d_r1", "loss/d_r2", "loss/g"} <= scalar_tags(tmp_path)


def test_score_counts_the_modes_of_a_folder_of_rgb_samples_from_any_tool(stacked, tmp_path):
    """features=stacked_mnist: each channel of each image read as a digit; the real folder is the floor."""
    from conftest import make_config
    from torchvision.utils import save_image

    from gan_experiments.score import score

    data = stacked(num_reference=40)
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir(), fake.mkdir()
    images, _ = data.sets["reference"].batch(torch.arange(40))
    for i, image in enumerate(images):
        save_image(image * 0.5 + 0.5, real / f"{i:03d}.png")
        save_image(images[0] * 0.5 + 0.5, fake / f"{i:03d}.png")  # a collapsed generator: one image
    options = ["features=stacked_mnist", "min_images=10", "kid_subset_size=2", "device=cpu"]
    report = score(make_config([f"real_dir={real}", f"fake_dir={fake}", *options], tmp_path / "out", "score"))
    metrics = report["metrics"]
    assert metrics["modes"] == 1 and metrics["kl"] == pytest.approx(math.log(1000))
    assert metrics["modes_floor"] >= 1 and (report["num_real"], report["num_fake"]) == (40, 40)
    assert report["feature_network"]["name"] == "stacked_mnist"


# ---------------------------------------------------------------- the papers' network
def test_the_tf_dcgan_has_their_layer_sizes_at_28_px():
    from gan_experiments.networks.dcgan_tf import TFDCGANDiscriminator, TFDCGANGenerator, same_sizes

    assert same_sizes(28) == [28, 14, 7, 4, 2]
    generator, critic = TFDCGANGenerator(100, (3, 28, 28)), TFDCGANDiscriminator((6, 28, 28))
    assert generator(torch.rand(5, 100) * 2 - 1).shape == (5, 3, 28, 28)
    assert critic(torch.randn(5, 6, 28, 28)).shape == (5,)
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size) for m in convs] == [
        (6, 64, (5, 5)), (64, 128, (5, 5)), (128, 256, (5, 5)), (256, 512, (5, 5))
    ]  # fmt: skip
    assert isinstance(generator.project[0], nn.Linear) and generator.project[0].out_features == 2 * 2 * 512


def test_the_papers_protocol_trains_packed(stacked_config, tmp_path):
    cfg = stacked_config("experiment=pacgan_stacked_mnist", "model.pack=2", "data.image_size=28")
    assert cfg.model.noise == "uniform" and cfg.callbacks.metrics.num_samples == 64  # debug=smoke's count
    train(cfg)
    assert {"metrics/modes", "metrics/kl"} <= scalar_tags(tmp_path)
