"""How far a newcomer must follow the code from the command line to the first training step.

Runs `python -m gan_experiments.train <overrides> debug=smoke` in this process, profiled until the model's
first `training_step` starts (the two smoke batches then train unprofiled), and counts

- **files**: the distinct project files (`gan_experiments/…`) whose code ran on the way;
- **hops**: the calls from code of one project file into code of another (a return does not count;
  library code in between, Lightning's or Hydra's, is transparent), and how many distinct
  (caller file, called file) pairs they are: the arrows of the map a reader draws.

    python -m gan_lab.analysis.setup_hops model=cyclegan data=horse2zebra
    python -m gan_lab.analysis.setup_hops --root /path/to/another/checkout model=cyclegan …

The data is a tiny synthetic folder in horse2zebra's layout (the real set is not needed to count), the
networks `debug=smoke`'s. `--root` counts another checkout of the project (an older commit, say), so a
before/after pair is measured the same way.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any


def count(root: Path, overrides: list[str]) -> dict[str, Any]:
    """Files, hops and the ordered file path of one `train` command run up to its first step."""
    package = str(root / "gan_experiments") + "/"
    sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m == "gan_experiments" or m.startswith("gan_experiments.")]:
        del sys.modules[name]
    from gan_experiments.data.synthetic import write_unpaired_dataset
    from gan_experiments.train import main

    folder = Path(tempfile.mkdtemp(prefix="setup_hops_"))
    data = write_unpaired_dataset(folder / "h2z", n_a=4, n_b=4, n_test_a=2, n_test_b=2, size=40)
    files: list[str] = []
    hops: list[tuple[str, str]] = []
    stack: list[str | None] = []
    reached = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if reached:
            return
        if event == "call":
            path = frame.f_code.co_filename
            here = path[len(package) :] if path.startswith(package) else None
            caller = next((f for f in reversed(stack) if f is not None), None)
            if here is not None:
                if here not in files:
                    files.append(here)
                if caller is not None and caller != here:
                    hops.append((caller, here))
                if frame.f_code.co_name == "training_step":
                    reached.append(True)
                    return
            stack.append(here)
        elif event == "return" and stack:
            stack.pop()

    sys.argv = [
        "train",
        *overrides,
        "debug=smoke",
        f"data.root={data}",
        "data.download=false",
        f"hydra.run.dir={folder / 'run'}",
        "callbacks=none",
        "logger=[]",
    ]
    sys.setprofile(profile)
    try:
        main()
    finally:
        sys.setprofile(None)
    return {"files": len(files), "hops": len(hops), "edges": len(set(hops)), "path": files, "calls": hops}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gan_lab.analysis.setup_hops", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("overrides", nargs="*", default=["model=cyclegan", "data=horse2zebra"])
    args = parser.parse_args(argv)
    result = count(args.root.resolve(), args.overrides)
    print(
        f"{result['files']} project files, {result['hops']} hops ({result['edges']} distinct file → file) "
        "to the first training step"
    )
    print(" → ".join(result["path"]))


if __name__ == "__main__":
    main()
