"""Benchmark the plan (not a test): the no-op rerun, the same with a hundred recordings added to assets/,
and `render lint` cold and cached.

    .venv/bin/python bench/bench_plan.py module1                     # renders a copy first (minutes)
    .venv/bin/python bench/bench_plan.py module1 --from-build build  # reuse a build of this checkout

It works on a copy of the project (and of the build folder) in a temporary folder.
Targets: no-op rerun <= 1 s, not growing with files in assets/recordings; cached lint about a second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_project(dest: Path, build: Path | None) -> None:
    for folder in ("render", "scenes", "templates", "assets", "scripts"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("node_modules", "package-lock.json"):
        if (ROOT / name).exists():
            (dest / name).symlink_to(ROOT / name)
    if build is not None:
        shutil.copytree(build, dest / "build", symlinks=True, ignore=shutil.ignore_patterns(".lock", ".work"))


def timed(cmd: list[str], root: Path, check: bool = True) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["module1"])
    parser.add_argument("--from-build", type=Path, help="a build folder of this checkout to start from")
    parser.add_argument("--voice", default="espeak")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-plan-") as tmp:
        root = Path(tmp) / "studio"
        copy_project(root, args.from_build.resolve() if args.from_build else None)
        render = [sys.executable, "-m", "render.cli"]
        voice = ["--voice", args.voice]
        if args.from_build is None:
            print(f"first render:           {timed([*render, *args.targets, *voice], root):8.2f} s")
        noop = min(timed([*render, *args.targets, *voice], root) for _ in range(3))
        print(f"no-op rerun:            {noop:8.2f} s (best of 3; target <= 1 s)")
        extra = root / "assets" / "recordings" / "some-other-lesson"
        extra.mkdir(parents=True, exist_ok=True)
        for i in range(100):
            (extra / f"beat_{i}.wav").write_bytes(os.urandom(200_000))
        grown = min(timed([*render, *args.targets, *voice], root) for _ in range(3))
        print(f"no-op, +100 recordings: {grown:8.2f} s (best of 3; 20 MB added to assets/recordings)")
        cached = timed([*render, "lint", *args.targets, *voice], root, check=False)
        print(f"lint after a render:    {cached:8.2f} s (cached; target about 1 s)")
        for lint_file in root.glob("build/module*/*/beats/*.lint.json"):
            lint_file.unlink()
        cold = timed([*render, "lint", *args.targets, *voice], root, check=False)
        print(f"lint, cold:             {cold:8.2f} s (every beat dry-run in the worker pool)")
        again = timed([*render, "lint", *args.targets, *voice], root, check=False)
        print(f"lint, cached again:     {again:8.2f} s")


if __name__ == "__main__":
    main()
