"""Every output path is checked before the work (issue 26): one rule (`atomic.check_output_file`,
`check_output_folder`) at the start of every command that writes, so a path under a file is one line and
exit status 1 before any checkpoint is read or metric computed, and nothing is written."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pytest
from conftest import make_config
from omegaconf import OmegaConf

from gan_experiments.atomic import check_output_file, check_output_folder
from gan_experiments.cli import CheckRunFolder
from gan_experiments.errors import ConfigError

CHECKPOINT = Path(__file__).parent / "data" / "gan_smoke_2026-11-23.ckpt"


def never(what: str):
    def called(*args, **kwargs):
        raise AssertionError(f"{what} was called before the output path was checked")

    return called


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


# (command module, config name, overrides, the function that starts the work)
COMMANDS = {
    "generate out": ("generate", "generate", ["ckpt_path=<ckpt>", "out=<file>/grid.png"], "load_model"),
    "generate out_dir": (
        "generate",
        "generate",
        ["ckpt_path=<ckpt>", "out_dir=<file>/samples"],
        "load_model",
    ),
    "export": (
        "export",
        "export",
        ["ckpt_path=<ckpt>", "format=torchscript", "out=<file>/g.pt"],
        "load_model",
    ),
    "evaluate": ("evaluate", "eval", ["ckpt_path=<ckpt>", "output=<file>/metrics.json"], "read_checkpoint"),
    "translate": (
        "translate",
        "translate",
        ["ckpt_path=<ckpt>", "input_dir=<tmp>", "output_dir=<file>/out"],
        "load_model",
    ),
    "score": (
        "score",
        "score",
        ["real_dir=<tmp>", "fake_dir=<tmp>", "out=<file>/scores.json"],
        "scan_folder",
    ),
    "train": (
        "train",
        "train",
        ["debug=smoke", "callbacks.last_checkpoint.dirpath=<file>/checkpoints"],
        "instantiate_checked",
    ),
}


@pytest.mark.parametrize("case", list(COMMANDS))
def test_an_output_under_a_file_is_one_line_before_any_work(case, tmp_path, a_file, monkeypatch, caplog):
    module_name, config_name, overrides, work = COMMANDS[case]
    module = importlib.import_module(f"gan_experiments.{module_name}")
    monkeypatch.setattr(module, work, never(f"{module_name}.{work}"))
    places = {"<ckpt>": str(CHECKPOINT), "<file>": str(a_file), "<tmp>": str(tmp_path)}
    for key, value in places.items():
        overrides = [o.replace(key, value) for o in overrides]
    cfg = make_config(overrides, tmp_path / "run", config_name=config_name)
    with pytest.raises(SystemExit) as exited:
        module.main(cfg)
    assert exited.value.code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert f"a parent of it, {a_file}, is a file, not a folder" in errors[0]
    assert a_file.read_text() == "not a folder"


def test_evaluate_refuses_before_reading_the_checkpoint_even_by_default(tmp_path, monkeypatch):
    """Without `output`, metrics.json goes beside the checkpoint: that place is checked first too."""
    import gan_experiments.evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "read_checkpoint", never("read_checkpoint"))
    ckpt_dir = tmp_path / "run"
    ckpt_dir.mkdir()
    (ckpt_dir / "metrics.json").mkdir()  # a folder where the results file goes
    ckpt = ckpt_dir / "last.ckpt"
    ckpt.write_bytes(CHECKPOINT.read_bytes())
    with pytest.raises(ConfigError, match=r"^output=.*metrics\.json: a folder; expected the path of a file"):
        evaluate_module.evaluate(make_config([f"ckpt_path={ckpt}"], tmp_path, config_name="eval"))


def test_the_rule_names_the_option_and_what_it_expects(tmp_path, a_file):
    folder = tmp_path / "folder"
    (folder / "old").mkdir(parents=True)
    with pytest.raises(
        ConfigError, match=r"^out=.*folder: a folder; expected the path of a file in a folder"
    ):
        check_output_file("out", folder)
    with pytest.raises(ConfigError, match=r"^out_dir=.*a_file: a file, not a folder; choose a folder$"):
        check_output_folder("out_dir", a_file)
    with pytest.raises(ConfigError, match=r"^out_dir=.*folder: exists and is not an empty folder"):
        check_output_folder("out_dir", folder, new=True)
    with pytest.raises(ConfigError, match=r"a parent of it, .*a_file, is a file"):
        check_output_file("out", a_file / "deeper" / "x.json")
    assert check_output_file("out", tmp_path / "new" / "x.json") == tmp_path / "new" / "x.json"
    assert check_output_file("out", a_file) == a_file  # an existing file is replaced
    assert check_output_folder("out_dir", folder) == folder


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["out=<tmp>"],
            r"^out=.*: a folder; expected the path of a file in a folder \(e\.g\. out=.*samples\.png\)",
        ),
        (["out=<tmp>/grid.unknown"], r"^out=.*grid\.unknown: not the name of an image file"),
    ],
)
def test_generate_refuses_a_grid_it_could_not_write_before_loading(overrides, message, tmp_path, monkeypatch):
    import gan_experiments.generate as generate_module

    monkeypatch.setattr(generate_module, "load_model", never("load_model"))
    overrides = [o.replace("<tmp>", str(tmp_path)) for o in overrides]
    cfg = make_config([f"ckpt_path={CHECKPOINT}", *overrides], tmp_path, config_name="generate")
    with pytest.raises(ConfigError, match=message):
        generate_module.generate(cfg)


def test_translate_refuses_to_write_over_its_inputs(tmp_path, monkeypatch):
    import gan_experiments.translate as translate_module

    monkeypatch.setattr(translate_module, "load_model", never("load_model"))
    cfg = make_config(
        [f"ckpt_path={CHECKPOINT}", f"input_dir={tmp_path}", f"output_dir={tmp_path}"], tmp_path, "translate"
    )
    with pytest.raises(ConfigError, match=r"^output_dir=.*: that is input_dir; .* would replace the inputs"):
        translate_module.translate(cfg)


def test_a_run_folder_under_a_file_is_one_line_before_hydra_creates_it(a_file, capsys):
    """Hydra makes `hydra.run.dir` before the command starts; conf/hydra/default.yaml registers the check."""
    cfg = make_config([], a_file.parent, config_name="generate")  # (drops the hydra node, so read it apart)
    hydra_node = OmegaConf.load(Path(__file__).parents[1] / "conf" / "hydra" / "default.yaml")
    assert hydra_node.callbacks.check_run_folder._target_ == "gan_experiments.cli.CheckRunFolder"
    config = OmegaConf.create({"task_name": cfg.task_name, "hydra": {"run": {"dir": str(a_file / "run")}}})
    with pytest.raises(SystemExit) as exited:
        CheckRunFolder().on_run_start(config=config)
    assert exited.value.code == 1
    printed = capsys.readouterr().err.strip()
    expected = f"hydra.run.dir={a_file / 'run'}: a parent of it, {a_file}, is a file, not a folder"
    assert "\n" not in printed and printed.endswith(expected)
    assert "[gan_experiments.generate][ERROR]" in printed
