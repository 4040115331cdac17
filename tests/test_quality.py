"""The quality benchmark's tiny mode end to end (wiring only: debug=smoke on synthetic MNIST), and
its pieces: budgets, row selection, targets, the tables."""

from __future__ import annotations

import json

import pytest

from gan_experiments.quality import report
from gan_experiments.quality.__main__ import main
from gan_experiments.quality.rows import LOSSES, fid_within, matrix, rarest_digit_at_least, select
from gan_experiments.quality.run import Budget, parse_duration


def test_the_matrix_has_every_preset_and_every_family_loss_pair():
    keys = [row.key for row in matrix()]
    assert len(keys) == len(set(keys))
    assert {"gan_mnist", "gan_mnist_assignment", "dcgan_mnist", "lsgan_mnist", "cgan_mnist"} <= set(keys)
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


def test_targets_say_met_missed_or_unmeasured():
    assert fid_within(3).met({"fid": 10.0, "fid_floor": 3.7}) is True
    assert fid_within(3).met({"fid": 12.0, "fid_floor": 3.7}) is False
    assert rarest_digit_at_least(0.05).met({}) is None


def test_tiny_matrix_trains_scores_draws_and_tabulates(tmp_path, capsys):
    out = tmp_path / "quality"
    only = "dcgan-wgan_gp,cgan_mnist,pix2pix-mnist_outlines,cyclegan-mnist_strokes"
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
    table = (out / report.TABLE_FILE).read_text()
    assert "dcgan × wgan_gp" in table and "CycleGAN: thin ↔ bold" in table and "1 / 2" in table

    # a second call keeps finished rows instead of training them again
    capsys.readouterr()
    main(["--tiny", "--device", "cpu", "--only", "cgan_mnist", "--out", str(out)])
    assert "[cgan_mnist] kept from" in capsys.readouterr().out
