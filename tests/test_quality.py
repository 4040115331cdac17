"""The quality benchmark's tiny mode end to end (wiring only: debug=smoke on synthetic MNIST), and
its pieces: budgets, row selection, targets, the tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import make_config

from gan_lab.quality import report
from gan_lab.quality.__main__ import (
    IDENTITY_FILE,
    MAKE_TRAIN_EXPERIMENT,
    continues,
    main,
    parse_args,
    runner_overrides,
)
from gan_lab.quality.rows import BAR_KINDS, LOSSES, fid_within, matrix, rarest_digit_at_least, select
from gan_lab.quality.run import Budget, metric_schedule, parse_duration


def test_the_matrix_has_every_preset_and_every_family_loss_pair():
    keys = [row.key for row in matrix()]
    assert len(keys) == len(set(keys))
    assert {"gan_mnist", "gan_mnist_assignment", "dcgan_mnist", "conv_gan_mnist", "cgan_mnist"} <= set(keys)
    for family, preset in (("gan", "gan_mnist"), ("dcgan", "dcgan_mnist")):
        commands = {tuple(row.overrides) for row in matrix() if row.group in (family, "presets")}
        for loss in LOSSES:
            with_loss = (f"experiment={preset}", f"loss={loss}")
            assert with_loss in commands or (loss == "bce" and (f"experiment={preset}",) in commands)
    kinds = {row.kind for row in matrix() if row.group == "translation"}
    assert kinds == {"paired", "unpaired"}


def test_only_selects_rows_and_groups_and_names_what_it_does_not_know():
    rows = matrix()
    translation = ["pix2pix-mnist_outlines", "cyclegan-mnist_strokes"]
    assert [r.key for r in select(rows, "translation")] == translation
    assert [r.key for r in select(rows, "dcgan-hinge,gan_mnist")] == ["gan_mnist", "dcgan-hinge"]
    with pytest.raises(ValueError, match="unknown dcgan-foo"):
        select(rows, "dcgan-foo")


def test_budgets_become_trainer_options():
    assert parse_duration("5m") == 300 and parse_duration("90s") == 90 and parse_duration("1.5h") == 5400
    assert parse_duration("42") == 42
    with pytest.raises(ValueError, match="--budget"):
        parse_duration("soon")
    assert Budget(seconds=3725).overrides() == ["trainer.max_time=00:01:02:05", "trainer.max_epochs=-1"]
    assert Budget(epochs=3).overrides() == ["trainer.max_epochs=3"]
    assert Budget().overrides() == [] and Budget().full
    assert Budget(seconds=300).scaled(2).overrides()[0] == "trainer.max_time=00:00:10:00"
    assert Budget(epochs=3).scaled(2) == Budget(epochs=3)
    scales = {row.key: row.time_scale for row in matrix()}
    assert scales["dcgan-hinge"] == scales["dcgan_mnist"] == scales["cgan_mnist"] == 2.0
    assert scales["gan-hinge"] == scales["gan_mnist"] == scales["pix2pix-mnist_outlines"] == 1.0


def test_targets_say_met_missed_or_unmeasured():
    assert fid_within(3).met({"fid": 10.0, "fid_floor": 3.7}) is True
    assert fid_within(3).met({"fid": 12.0, "fid_floor": 3.7}) is False
    assert rarest_digit_at_least(0.05).met({}) is None


def test_tiny_matrix_trains_scores_draws_and_tabulates(tmp_path, capsys):
    out = tmp_path / "quality"
    only = "dcgan-wgan_gp,cgan_mnist,pix2pix-mnist_outlines,cyclegan-mnist_strokes,stacked-rpgan-r1r2"
    main(["--tiny", "--device", "cpu", "--only", only, "--out", str(out)])
    results = json.loads((out / report.RESULTS_FILE).read_text())
    assert set(results["rows"]) == set(only.split(","))
    for key, entry in results["rows"].items():
        assert entry["status"] == "ok", key
        assert entry["batches"] == 2 and entry["epochs"] == 1
        assert (out / entry["grid"]).stat().st_size > 0
        assert (out / "rows" / key / "checkpoints" / "last.ckpt").is_file()
    noise = results["rows"]["dcgan-wgan_gp"]
    assert {"fid", "fid_floor", "coverage_min", "coverage_max", "is_mean"} <= set(noise["metrics"])
    assert noise["command"].startswith("python -m gan_experiments.train experiment=dcgan_mnist loss=wgan_gp")
    assert [t["text"] for t in noise["targets"]] == ["FID ≤ 10 × floor", "no digit under 5%"]
    assert "label_accuracy" in results["rows"]["cgan_mnist"]["metrics"]
    paired = results["rows"]["pix2pix-mnist_outlines"]["metrics"]
    assert {"digit_accuracy", "l1", "psnr", "ssim"} <= set(paired)
    cycle = results["rows"]["cyclegan-mnist_strokes"]["metrics"]
    assert {"digit_accuracy_a", "digit_accuracy_b", "target_side_a", "target_side_b"} <= set(cycle)
    assert "cycle_l1" in cycle
    stacked = results["rows"]["stacked-rpgan-r1r2"]
    assert {"modes", "kl", "modes_floor", "kl_floor"} <= set(stacked["metrics"])
    assert stacked["metrics"]["mode_samples"] == 64  # the papers' 26,000, capped by --tiny
    assert [t["text"] for t in stacked["targets"]] == []  # the paper's bar holds the full-length runs
    table = (out / report.TABLE_FILE).read_text()
    assert "dcgan × wgan_gp" in table and "CycleGAN: thin ↔ bold" in table and "1 / 2" in table
    assert "Stacked MNIST: DCGAN recipe, rpgan + R1/R2" in table and "modes (of 1,000)" in table

    # a second call keeps finished rows instead of training them again
    capsys.readouterr()
    main(["--tiny", "--device", "cpu", "--only", "cgan_mnist", "--out", str(out)])
    assert "[cgan_mnist] kept from" in capsys.readouterr().out


def _forget_row(out, key: str) -> None:
    """As if the benchmark had been stopped while the row trained: quality.json does not hold it."""
    results = json.loads((out / "quality.json").read_text())
    del results["rows"][key]
    (out / "quality.json").write_text(json.dumps(results))


def test_resume_continues_a_rows_run_instead_of_starting_over(tmp_path, capsys):
    out = tmp_path / "quality"
    tiny = ["--tiny", "--device", "cpu", "--only", "dcgan_mnist", "--out", str(out)]
    first = main([*tiny, "--epochs", "1"])["rows"]["dcgan_mnist"]
    run_dir = out / "rows" / "dcgan_mnist"
    _forget_row(out, "dcgan_mnist")
    entry = main([*tiny, "--epochs", "2", "--resume"])["rows"]["dcgan_mnist"]
    assert entry["status"] == "ok" and entry["resumed"]
    assert (entry["epochs"], entry["batches"]) == (2, 2 * first["batches"])
    resumed_log = (run_dir / "train.resumed-1.out").read_text()
    assert "Restored all states from the checkpoint" in resumed_log
    assert (run_dir / "train.out").is_file() and "ckpt_path" not in entry["command"]

    # another training of the row (other overrides) is not continued; the length and data dir may differ
    training = json.loads((run_dir / IDENTITY_FILE).read_text())
    assert continues(run_dir, training)
    assert not continues(run_dir, [*training, "model.d_steps=2"])
    assert not continues(tmp_path / "elsewhere", training)

    with pytest.raises(SystemExit):
        main(["--only", "dcgan_mnist", "--out", str(out), "--resume", "--budget", "5m"])
    assert "--resume continues runs of a fixed length" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*tiny, "--resume", "--rerun"])
    assert "--rerun trains rows again from the start" in capsys.readouterr().err


def test_the_bar_holds_only_when_fid_and_every_digit_share_do():
    from gan_experiments.callbacks.quality_bar import QualityBar

    bar = QualityBar(dirpath="unused")
    good = {"fid": 11.0, "fid_floor": 3.73, "coverage_min": 0.08, "coverage_max": 0.12}
    assert bar.met(good) is True
    assert bar.met({**good, "fid": 11.3}) is False  # 3 × 3.73 = 11.19
    assert bar.met({**good, "coverage_min": 0.069}) is False
    assert bar.met({**good, "coverage_max": 0.131}) is False
    assert bar.met({**good, "label_accuracy": 0.979}) is False
    assert bar.met({"l1": 0.1}) is None  # not an MNIST noise model: left alone
    with pytest.raises(ValueError, match=r"callbacks\.quality_bar"):
        QualityBar(dirpath="unused", digit_share=(0.2, 0.1))


BAR_EXPERIMENTS = ["gan_mnist", "gan_mnist_assignment", "dcgan_mnist", "conv_gan_mnist", "cgan_mnist"]


@pytest.mark.parametrize(
    ("overrides", "has_bar"),
    [
        (["model=dcgan"], False),
        (["model=cyclegan", "data=unpaired_folder"], False),
        (["experiment=cyclegan_mnist_strokes"], False),
        (["model=dcgan", "callbacks=[default,quality_bar]"], True),
        *[([f"experiment={name}"], True) for name in BAR_EXPERIMENTS],
    ],
)
def test_only_the_mnist_experiments_measured_against_the_bar_switch_it_on(tmp_path, overrides, has_bar):
    """The bar is an MNIST benchmark check, not part of every run: default.yaml leaves it out, the MNIST
    experiments bring it (with its settings, so `callbacks.quality_bar.stop=true` works on them)."""
    callbacks = make_config(overrides, tmp_path).callbacks
    assert ("quality_bar" in callbacks) is has_bar
    assert {"metrics", "last_checkpoint", "sample_grid"} <= set(callbacks), "the default callbacks stay"
    if has_bar:
        assert callbacks.quality_bar._target_ == "gan_experiments.callbacks.quality_bar.QualityBar"
        assert callbacks.quality_bar.stop is False


def test_time_to_quality_stops_at_the_bar_of_rows_that_have_one(tmp_path):
    """Each row's time-to-quality command composes: the bar's `stop` is set on the MNIST rows (whose
    experiments bring the bar) and left out of the translation rows (which have none)."""
    args = parse_args(["--time-to-quality", "--only", "presets,translation"])
    for row in args.rows:
        has_bar = row.kind in BAR_KINDS
        schedule = metric_schedule(args.budget_, 500, 10_000, has_bar=has_bar)
        assert ("callbacks.quality_bar.stop=true" in schedule) is has_bar
        command = [*row.command(True), *runner_overrides(row, args, schedule)]
        callbacks = make_config(command, tmp_path).callbacks
        assert ("quality_bar" in callbacks) is has_bar, row.key
        assert not has_bar or callbacks.quality_bar.stop is True


def test_time_to_quality_stops_at_the_bar_and_scores_that_checkpoint(tmp_path):
    """Tiny mode with a bar any run meets: the first measurement reaches it, the run stops there, and
    the row reports the seconds from launch and scores bar.ckpt."""
    out = tmp_path / "ttq"
    loose = [
        "--override",
        "callbacks.quality_bar.fid_times_floor=1e9",
        "--override",
        "callbacks.quality_bar.digit_share=[0,1]",
        "--override",
        "callbacks.quality_bar.label_accuracy=0",
    ]
    results = main(
        ["--tiny", "--device", "cpu", "--time-to-quality", "--eval-every", "1", "--out", str(out), *loose]
    )
    entry = results["rows"][MAKE_TRAIN_EXPERIMENT]
    assert entry["status"] == "ok" and entry["batches"] == 1, "stopped at the first measurement"
    bar = json.loads((out / "rows" / MAKE_TRAIN_EXPERIMENT / "checkpoints" / "bar.json").read_text())
    assert entry["seconds_to_bar"] == bar["seconds_since_launch"] > 0 and bar["batches"] == 1
    assert {"fid", "coverage_min", "label_accuracy"} <= set(bar["metrics"])
    assert [t["text"] for t in entry["targets"]] == [
        "FID ≤ 3 × floor",
        "every digit 7%–13%",
        "label accuracy ≥ 98 %",
    ]
    assert "bar at" in (out / report.TABLE_FILE).read_text()


def test_time_to_quality_measures_the_experiment_make_train_runs():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    (experiment,) = re.findall(r"^EXPERIMENT \?= (\S+)$", makefile, flags=re.MULTILINE)
    assert experiment == MAKE_TRAIN_EXPERIMENT


def test_a_users_override_wins_over_the_runners_metric_schedule(tmp_path):
    """`--epochs` switches the per-epoch metrics off; `--override callbacks.metrics.every_n_epochs=2` asks
    for them anyway, and the composed run config has the user's value."""
    args = parse_args(["--epochs", "3", "--override", "callbacks.metrics.every_n_epochs=2"])
    (row,) = select(matrix(), "dcgan_mnist")
    schedule = metric_schedule(Budget(epochs=3), None, 10_000)
    assert "callbacks.metrics.every_n_epochs=0" in schedule
    cfg = make_config([*row.command(True), *runner_overrides(row, args, schedule)], tmp_path)
    assert cfg.callbacks.metrics.every_n_epochs == 2


def test_seeds_train_each_row_once_per_seed_and_tabulate_mean_and_std(tmp_path):
    out = tmp_path / "quality"
    results = main(["--tiny", "--device", "cpu", "--only", "gan_mnist", "--seeds", "3,4", "--out", str(out)])
    entry = results["rows"]["gan_mnist"]
    assert entry["status"] == "ok" and entry["seeds"] == [3, 4]
    assert [run["seed"] for run in entry["per_seed"]] == [3, 4]
    for seed in (3, 4):
        run_config = (out / "rows" / "gan_mnist" / f"seed{seed}" / ".hydra" / "overrides.yaml").read_text()
        assert f"seed={seed}" in run_config
    fids = [run["metrics"]["fid"] for run in entry["per_seed"]]
    assert fids[0] != fids[1]  # two trainings, not one scored twice
    assert entry["metrics"]["fid"] == pytest.approx(sum(fids) / 2)
    assert entry["metrics_std"]["fid"] == pytest.approx(abs(fids[0] - fids[1]) / 2**0.5)
    assert "seed=" not in entry["command"]
    table = (out / report.TABLE_FILE).read_text()
    assert f"{entry['metrics']['fid']:.1f} ± {entry['metrics_std']['fid']:.1f}" in table
    assert "(seeds 3, 4)" in table


def test_a_row_over_seeds_meets_a_target_only_on_every_seed_and_fails_with_any_seed():
    def run(seed: int, fid: float, met: bool, status: str = "ok") -> dict:
        return {
            "title": "t", "group": "g", "kind": "noise", "command": f"python -m x a=1 seed={seed}",
            "seed": seed, "status": status, "metrics": {"fid": fid}, "targets": [{"text": "FID", "met": met}],
            "train_minutes": 1.0, "epochs": 1, "batches": 2,
        }  # fmt: skip

    entry = report.over_seeds([run(1, 10.0, True), run(2, 14.0, False)])
    assert entry["metrics"] == {"fid": 12.0} and entry["metrics_std"]["fid"] == pytest.approx(8**0.5)
    assert entry["targets"] == [{"text": "FID", "met": False}] and entry["command"] == "python -m x a=1"
    failed = report.over_seeds([run(1, 10.0, True), run(2, 14.0, True, status="exit status 1: boom")])
    assert failed["status"] == "seed 2: exit status 1: boom" and "metrics" not in failed


@pytest.mark.parametrize("seeds", ["1,x", "1,1", ","])
def test_seeds_must_be_distinct_integers(seeds, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--seeds", seeds])
    assert "--seeds: expected" in capsys.readouterr().err
