"""The core (`gan_experiments`) never imports the lab (`gan_lab`): the import-linter contract of
pyproject.toml holds on this checkout, names exactly those two packages, and reports a broken contract
when a core does import its lab (checked on a throwaway package pair, so a kept contract means something).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[dev]')")
from importlinter import api, cli
from importlinter.cli import EXIT_STATUS_ERROR, EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CORE, LAB = "gan_experiments", "gan_lab"
CONTRACT = "the core never imports the lab"


def run_lint_imports(config: Path, where: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    """`lint-imports --config <config> --no-cache` started in `where` (whose packages it checks: it puts
    the working directory first on sys.path), in this process; its exit status and report."""
    monkeypatch.chdir(where)
    monkeypatch.syspath_prepend(str(where))  # also restores sys.path after lint_imports' own insert
    # lint_imports configures logging with dictConfig, which disables every logger that exists already
    # (Lightning's, the project's) for the rest of this test process
    monkeypatch.setattr(cli, "_configure_logging", lambda verbose: None)
    status = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)
    return status, capsys.readouterr().out


def test_the_contract_forbids_exactly_the_core_importing_the_lab():
    configuration = api.read_configuration(str(PYPROJECT))
    assert sorted(configuration["session_options"]["root_packages"]) == [CORE, LAB]
    (contract,) = configuration["contracts_options"]
    assert contract["name"] == CONTRACT
    assert contract["type"] == "forbidden"
    assert list(contract["source_modules"]) == [CORE]
    assert list(contract["forbidden_modules"]) == [LAB]
    assert not contract.get("ignore_imports") and not contract.get("allow_indirect_imports")


def test_the_core_never_imports_the_lab(monkeypatch, capsys):
    status, out = run_lint_imports(PYPROJECT, ROOT, monkeypatch, capsys)
    assert status == EXIT_STATUS_SUCCESS, out
    assert f"{CONTRACT} KEPT" in out and "1 kept, 0 broken" in out


def write_pair(root: Path, core_imports_lab: bool) -> None:
    """A two-package project: `lab` imports `core`; `core` imports `lab` only when asked to (lazily, in a
    function, as a tempting shortcut would)."""
    (root / "layers_core").mkdir(parents=True)
    (root / "layers_lab").mkdir()
    (root / "layers_core" / "__init__.py").write_text('"""core"""\n')
    shortcut = "def harness():\n    from layers_lab import bench\n\n    return bench\n"
    body = shortcut if core_imports_lab else ""
    (root / "layers_core" / "train.py").write_text(f"import os\n\n{body}")
    (root / "layers_lab" / "__init__.py").write_text('"""lab"""\n')
    (root / "layers_lab" / "bench.py").write_text("from layers_core import train\n")


def ini_value(value: str | list[str], rename: dict[str, str]) -> str:
    if isinstance(value, str):
        return rename.get(value, value)
    return "".join(f"\n    {rename.get(item, item)}" for item in value)


def pair_config(root: Path) -> Path:
    """The project's import-linter configuration, as read from pyproject.toml, with its package names
    swapped for the pair's (import-linter's INI format: no TOML writer needed)."""
    configuration = api.read_configuration(str(PYPROJECT))
    rename = {CORE: "layers_core", LAB: "layers_lab"}
    session = configuration["session_options"]
    lines = ["[importlinter]", *(f"{key} = {ini_value(value, rename)}" for key, value in session.items())]
    for number, contract in enumerate(configuration["contracts_options"]):
        lines += ["", f"[importlinter:contract:{number}]"]
        lines += [f"{key} = {ini_value(value, rename)}" for key, value in contract.items()]
    config = root / ".importlinter"
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.mark.parametrize("core_imports_lab", [False, True])
def test_the_contract_breaks_when_a_core_imports_its_lab(tmp_path, monkeypatch, capsys, core_imports_lab):
    write_pair(tmp_path, core_imports_lab)
    status, out = run_lint_imports(pair_config(tmp_path), tmp_path, monkeypatch, capsys)
    if core_imports_lab:
        assert status == EXIT_STATUS_ERROR, out
        assert f"{CONTRACT} BROKEN" in out and "layers_core.train -> layers_lab.bench" in out
    else:
        assert status == EXIT_STATUS_SUCCESS, out
        assert f"{CONTRACT} KEPT" in out
