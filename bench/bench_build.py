"""Benchmark the build on a module (not a test): full render, no-op rerun, one-edit rerun, CPU use, and
our cost against bare `manim render` of the same beat scenes at the same quality, side by side.

    .venv/bin/python bench/bench_build.py                 # module 1 at low quality, espeak voice
    .venv/bin/python bench/bench_build.py 1.1.1 1.2.2 --quality high --voice piper

It works on a copy of the project in a temporary folder, so the real build/ and scripts/ stay untouched.
Targets: no-op rerun <= 1 s; wall <= 1.1 x CPU time / cores; our CPU per video second <= 0.5 x bare Manim's
(the last line, `ratio <value>`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_SCENE = '''
import json, os
from scenes.beat import BeatScene

JOB = json.loads(open(os.environ["BEAT_JOB"]).read()) | {"still_holds": False}  # every frame encoded, as Manim does


class Beat(BeatScene):
    def __init__(self, **kwargs):
        super().__init__(JOB, **kwargs)
'''

MANIM_FLAGS = {"low": "-ql", "medium": "-qm", "high": "-qh", "4k": "-qk"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return wall, cpu, result


def copy_project(dest: Path) -> None:
    for folder in ("render", "scenes", "templates", "assets", "scripts"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / "node_modules").exists():
        (dest / "node_modules").symlink_to(ROOT / "node_modules")


def edit_one_narration(root: Path) -> str:
    """Append a sentence to the first beat narration of the first scripted lesson; return its file."""
    script = sorted((root / "scripts" / "module1").glob("0*.py"))[0]
    text = script.read_text()
    edited, n = re.subn(r'narration="""', 'narration="""Observe closely. ', text, count=1)
    if n == 0:
        edited, n = re.subn(r'narration="', 'narration="Observe closely. ', text, count=1)
    script.write_text(edited)
    return script.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["module1"])
    parser.add_argument("--quality", default="low", choices=list(MANIM_FLAGS))
    parser.add_argument("--voice", default="espeak")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-bare", action="store_true", help="leave out the bare Manim comparison")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        root = Path(tmp) / "studio"
        copy_project(root)
        env = {**os.environ, "PYTHONPATH": str(root)}
        render = [sys.executable, "-m", "render.cli"]
        common = ["--quality", args.quality, "--voice", args.voice, "--jobs", str(args.jobs), "--only", "video"]

        full_wall, full_cpu, _ = timed([*render, *args.targets, *common], root, env)
        noop_wall, _, _ = timed([*render, *args.targets, *common], root, env)
        edited = edit_one_narration(root)
        edit_wall, _, _ = timed([*render, *args.targets, *common], root, env)

        jobs = sorted(root.glob("build/module*/*/beats/*.job.json"))
        video_seconds = 0.0
        for lesson in root.glob("build/module*/*/lesson.json"):
            video_seconds += json.loads(lesson.read_text())["duration"]
        print(f"module: {' '.join(args.targets)}  quality: {args.quality}  voice: {args.voice}  "
              f"jobs: {args.jobs}  cores: {cores}")
        print(f"beats: {len(jobs)}  video: {video_seconds:.1f} s")
        print(f"full render:      {full_wall:8.2f} s wall  {full_cpu:8.2f} s CPU  "
              f"({full_wall / max(video_seconds, 1e-9):.2f} s per video second)")
        print(f"  cores busy:     wall / (CPU / cores) = {full_wall / max(full_cpu / cores, 1e-9):.2f} "
              f"(target <= 1.1)")
        print(f"no-op rerun:      {noop_wall:8.2f} s (target <= 1 s)")
        print(f"one-edit rerun:   {edit_wall:8.2f} s (narration of the first beat of {edited})")
        if args.skip_bare:
            return
        bare_dir = Path(tmp) / "bare"
        bare_dir.mkdir()
        (bare_dir / "bare_scene.py").write_text(BARE_SCENE)
        bare_wall = bare_cpu = 0.0
        for job in jobs:
            spec = json.loads(job.read_text())
            job_file = bare_dir / "job.json"
            job_file.write_text(json.dumps(spec))
            wall, cpu, _ = timed(
                [sys.executable, "-m", "manim", "render", MANIM_FLAGS[args.quality], "--disable_caching",
                 "--media_dir", str(bare_dir / "media"), "bare_scene.py", "Beat"],
                bare_dir, {**env, "BEAT_JOB": str(job_file)},
            )
            bare_wall += wall
            bare_cpu += cpu
        # The bare run draws the same scenes (same trace, timing, quality), one `manim render` per beat,
        # without narration, audio muxing, assembly or decks: what the pipeline adds is all in our time.
        print(f"bare manim:       {bare_wall:8.2f} s wall  {bare_cpu:8.2f} s CPU  "
              f"({bare_wall / max(video_seconds, 1e-9):.2f} s per video second)")
        print(f"our cost / bare:  {full_wall / bare_wall:8.2f} x wall  {full_cpu / max(bare_cpu, 1e-9):.2f} x CPU "
              "(everything we do, trace and narration included, against bare Manim's frames alone)")
        # Same video seconds on both sides, so CPU per video second compares as CPU: target <= 0.5.
        print(f"ratio {full_cpu / max(bare_cpu, 1e-9):.3f}")


if __name__ == "__main__":
    main()
