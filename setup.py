"""The Hydra config tree lives beside the package (conf/, a fixed top-level layout); this puts a copy of it
into built wheels as gan_experiments/conf, so a regular (non-editable) install has its configs too.
`gan_experiments.CONF_DIR` takes the packaged copy when there is one, else the checkout's conf/.
Everything else about the build is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONF = Path(__file__).resolve().parent / "conf"


class BuildPyWithConf(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads the checkout's conf/ directly
            target = Path(self.build_lib) / "gan_experiments" / "conf"
            shutil.copytree(CONF, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildPyWithConf})
