"""Mixed precision under manual optimization: bf16-mixed trains every model on CPU; the fp16 path
(GradScaler: scale → backward → unscale → clip → step → update, once per network and batch) runs on
CPU through Lightning's MixedPrecision plugin with a CPU GradScaler, which `precision=16-mixed` itself
only selects on a GPU."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import open_dict
from synthetic_images import write_paired_dataset, write_unpaired_dataset
from tensorboard_events import load_events
from torch import nn

from gan_experiments.train import build


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("precision_data")
    return {
        "pix2pix": write_paired_dataset(root / "paired", n_train=4, n_val=2, size=36),
        "cyclegan": write_unpaired_dataset(root / "unpaired", n_a=4, n_b=4, size=36),
    }


#: sample-quality metrics are not what is tested here (and cost seconds per run on CPU)
QUICK = ["~callbacks.metrics", "~callbacks.best_checkpoint"]


def overrides_for(model: str, folders) -> list[str]:
    if model in folders:
        layout = "paired" if model == "pix2pix" else "unpaired"
        data = [
            f"data={layout}_folder",
            f"data.root={folders[model]}",
            "data.download=false",
            "data.batch_size=2",
            f"data.val_split={'val' if layout == 'paired' else 'test'}",  # every training image trains
        ]
        return [f"model={model}", *data, *QUICK]
    return [f"model={model}", *QUICK]


def critic_of(model) -> nn.Module:
    return model.discriminator_b if hasattr(model, "discriminator_b") else model.discriminator


def record_output_dtypes(module: nn.Module) -> set[torch.dtype]:
    seen: set[torch.dtype] = set()
    module.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
    return seen


def fit(cfg):
    datamodule, model, trainer = build(cfg)
    dtypes = record_output_dtypes(critic_of(model))
    trainer.fit(model, datamodule=datamodule)
    return model, trainer, dtypes


def assert_finite_run(run_dir, expected_batches: int) -> dict:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["adversarial_state"]["batches_seen"] == expected_batches
    weights = [v for v in checkpoint["state_dict"].values() if v.is_floating_point()]
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights)  # fp32 master weights
    events = load_events(run_dir)
    for tag in ("loss/d", "loss/g"):
        values = [e.value for e in events.Scalars(tag)]
        assert values and all(math.isfinite(v) for v in values), tag
    return checkpoint


@pytest.mark.parametrize(
    "model, loss",
    [
        ("gan", None),
        ("dcgan", None),
        ("lsgan", None),
        ("cgan", None),
        ("pix2pix", None),
        ("cyclegan", None),
        ("dcgan", "wgan_gp"),
    ],
)
def test_bf16_mixed_trains_every_model(smoke_config, folders, tmp_path, model, loss):
    extra = [f"loss={loss}", "model.d_steps=1"] if loss else []
    cfg = smoke_config(*overrides_for(model, folders), *extra, "trainer.precision=bf16-mixed")
    _, trainer, dtypes = fit(cfg)
    assert trainer.precision == "bf16-mixed"
    assert torch.bfloat16 in dtypes  # D really ran under autocast in the training step
    assert_finite_run(tmp_path, expected_batches=2)
    if loss == "wgan_gp":
        assert torch.float32 in dtypes  # the penalty's forward, with autocast off
        penalties = [e.value for e in load_events(tmp_path).Scalars("loss/d_gp")]
        assert penalties and all(math.isfinite(v) for v in penalties)


def test_16_mixed_on_cpu_falls_back_to_bf16_with_a_warning(smoke_config):
    with pytest.warns(UserWarning, match="AMP with fp16 is not supported on CPU"):
        _, _, trainer = build(smoke_config("trainer.precision=16-mixed"))
    assert trainer.precision == "bf16-mixed"


def with_cpu_grad_scaler(cfg, init_scale: float = 256.0):
    """What trainer.precision=16-mixed builds on a GPU (MixedPrecision + GradScaler), on the CPU."""
    with open_dict(cfg):
        cfg.trainer.precision = None
        cfg.trainer.plugins = [
            {
                "_target_": "lightning.pytorch.plugins.precision.MixedPrecision",
                "precision": "16-mixed",
                "device": "cpu",
                "scaler": {"_target_": "torch.amp.GradScaler", "device": "cpu", "init_scale": init_scale},
            }
        ]
    return cfg


def record_steps(model) -> list[tuple[str, float]]:
    """(network, gradient norm) at every optimizer step that the GradScaler lets through."""
    steps: list[tuple[str, float]] = []
    configure = model.configure_optimizers

    def configure_with_hooks():
        optimizers = configure()
        for name, optimizer in zip("gd", optimizers, strict=True):

            def hook(opt, args, kwargs, name=name):
                grads = [
                    p.grad.float().norm() for g in opt.param_groups for p in g["params"] if p.grad is not None
                ]
                steps.append((name, torch.stack(grads).norm().item()))

            optimizer.register_step_pre_hook(hook)
        return optimizers

    model.configure_optimizers = configure_with_hooks
    return steps


def test_fp16_grad_scaler_clips_unscaled_gradients_of_both_networks(smoke_config, tmp_path):
    clip = 0.01
    cfg = with_cpu_grad_scaler(
        smoke_config(
            *overrides_for("dcgan", {}), f"model.grad_clip_norm={clip}", "trainer.limit_train_batches=3"
        )
    )
    datamodule, model, trainer = build(cfg)
    scaler = trainer.precision_plugin.scaler
    steps = record_steps(model)
    trainer.fit(model, datamodule=datamodule)
    # every batch: D then G, each stepped once (no step skipped for inf gradients at this scale)
    assert [name for name, _ in steps] == ["d", "g"] * 3
    # clipped after unscaling: the norm is the clip value, not clip / scale (Lightning #18089)
    assert all(clip * 0.5 < norm <= clip * 1.001 for _, norm in steps), steps
    assert scaler.get_scale() == 256.0 and scaler._growth_tracker.item() == 6  # one update per step
    checkpoint = assert_finite_run(tmp_path, expected_batches=3)
    assert checkpoint["MixedPrecision"]["scale"] == 256.0  # the scaler's state resumes with the run


def test_fp16_grad_scaler_with_gradient_penalty(smoke_config, tmp_path):
    cfg = with_cpu_grad_scaler(smoke_config(*overrides_for("cgan", {}), "loss=wgan_gp", "model.d_steps=1"))
    _, _, dtypes = fit(cfg)
    assert {torch.float16, torch.float32} <= dtypes  # fp16 forwards, the penalty's in fp32
    assert_finite_run(tmp_path, expected_batches=2)
    penalties = [e.value for e in load_events(tmp_path).Scalars("loss/d_gp")]
    assert penalties and all(math.isfinite(v) for v in penalties)
