"""Extend by adding, not editing: a model, a loss and a dataset defined in tests/toy_extensions/ (one Python
file and one YAML each, nothing in the package changed for them) are reached through Hydra's search path
and train in debug=smoke, alone and together. docs/extending.md walks a reader through the same three."""

from __future__ import annotations

from pathlib import Path

import torch
from tensorboard_events import scalar_tags

from gan_experiments.train import build, train

TOYS = Path(__file__).parent / "toy_extensions"
SEARCH_PATH = f"hydra.searchpath=[file://{TOYS / 'conf'}]"


def last_checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)


def test_a_new_model_uses_the_hook_after_the_critics_step(smoke_config, tmp_path):
    """The original WGAN: weight clipping after every critic step."""
    cfg = smoke_config(SEARCH_PATH, "model=wgan_clip", "trainer.limit_train_batches=6")
    assert cfg.loss._target_ == "gan_experiments.losses.WassersteinLoss" and cfg.model.d_steps == 5
    train(cfg)
    weights = last_checkpoint(tmp_path)["state_dict"]
    critic = [v for k, v in weights.items() if k.startswith("discriminator.") and v.is_floating_point()]
    assert critic and all(w.abs().max() <= 0.01 for w in critic if w.dim() > 1)
    assert {"loss/d_real", "loss/d_fake", "loss/g"} <= scalar_tags(tmp_path)


def test_a_new_loss_reads_the_critics_scores_on_real_and_fake_in_both_phases(smoke_config, tmp_path):
    """A relativistic loss: its terms are logged under the shared scheme, a regularizer beside them; G's
    phase gets D(real)."""
    _, model, _ = build(smoke_config(SEARCH_PATH, "loss=rasgan"))
    assert type(model.loss).__name__ == "RelativisticAverageLoss" and model.loss.generator_reads_real
    train(smoke_config(SEARCH_PATH, "loss=rasgan", "regularizer=[r1]", "model.discriminator.norm=none"))
    assert {"loss/d_real", "loss/d_fake", "loss/d_r1", "loss/g", "d/real", "d/fake"} <= scalar_tags(tmp_path)


def test_a_new_dataset_states_its_facts_and_trains_any_noise_model(smoke_config, tmp_path):
    datamodule, model, _ = build(smoke_config(SEARCH_PATH, "data=squares"))
    assert datamodule.spec.image_shape == (1, 32, 32) == model.image_shape  # debug=smoke's 32 px
    train(smoke_config(SEARCH_PATH, "data=squares", "model=gan"))
    assert last_checkpoint(tmp_path)["adversarial_state"]["batches_seen"] == 2


def test_the_three_train_together(smoke_config, tmp_path):
    cfg = smoke_config(SEARCH_PATH, "model=wgan_clip", "loss=rasgan", "data=squares", "trainer.max_epochs=2")
    assert cfg.loss._target_ == "toy_extensions.relativistic.RelativisticAverageLoss"  # the command line wins
    train(cfg)
    checkpoint = last_checkpoint(tmp_path)
    assert checkpoint["epoch"] == 1 and checkpoint["adversarial_state"]["batches_seen"] == 4
