"""Benchmark the whole course (not a test): `render course` from a cold build folder, per phase, then a no-op rerun.

    .venv/bin/python bench/bench_course.py --quality high     # what viewers get: 1080p60
    .venv/bin/python bench/bench_course.py                    # the default quality: what a new user waits

It works on a copy of the project in a temporary folder with an empty build folder (narration cache too), so
the real build/ stays untouched. It prints, per phase (traces, narration, clips, joins, decks, handouts,
notebooks, page), the wall seconds during which some step of it ran (phases overlap: a lesson joins while the
next one's clips render) and their CPU seconds, then the whole render's wall and CPU, the video minutes,
the share of decks, handouts and notebooks, and the no-op rerun. Goals (issue 31): at high quality the
whole course in under 60 minutes wall on a 2-core machine, decks, handouts and notebooks under 10% of it;
a no-op rerun under a second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import children_cpu, copy_project, timed  # noqa: E402

PHASES = {  # step kind -> the phase it is reported in
    "trace": "traces", "narrate": "narration", "clip": "clips", "record": "joins", "video": "joins",
    "decks": "decks", "handout": "handouts", "notebook": "notebooks", "lesson page": "page", "page": "page",
}
AFTER_VIDEO = ("decks", "handouts", "notebooks")


def by_phase(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The build's step kinds gathered into the bench's phases (wall adds up: each kind's own union)."""
    out: dict[str, dict[str, float]] = {}
    for kind, row in table.items():
        phase = out.setdefault(PHASES.get(kind, kind), {"steps": 0, "wall": 0.0, "cpu": 0.0})
        for key in phase:
            phase[key] += row[key]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default="low", choices=["low", "medium", "high", "4k"])
    parser.add_argument("--voice", default="piper")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--targets", nargs="*", default=["course"], help="what to render (default: course)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-course-") as tmp:
        root = Path(tmp) / "studio"
        copy_project(root)
        env = {**os.environ, "PYTHONPATH": str(root)}
        timings = Path(tmp) / "timings.json"
        command = [sys.executable, "-m", "render.cli", "build", *args.targets, "--quality", args.quality,
                   "--voice", args.voice, "--jobs", str(args.jobs)]
        cpu0, t0 = children_cpu(), time.perf_counter()
        full = subprocess.run([*command, "--timings", str(timings)], cwd=root, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
        if full.returncode != 0:  # the phases are still written: report them, and the failures
            print(f"render failed (exit {full.returncode}):\n{full.stdout[-3000:]}\n{full.stderr[-2000:]}")
        noop, _, _ = timed(command, root, env) if full.returncode == 0 else (float("nan"), 0.0, None)
        report = json.loads(timings.read_text())
        phases = by_phase(report["phases"])
        print(f"course: {' '.join(args.targets)}  quality: {args.quality}  voice: {args.voice}  jobs: {args.jobs}  "
              f"cores: {os.cpu_count()}  cold build folder")
        print(f"{'phase':<10} {'steps':>6} {'wall s':>9} {'CPU s':>9}")
        for name in ("traces", "narration", "clips", "joins", *AFTER_VIDEO, "page"):
            row = phases.get(name, {"steps": 0, "wall": 0.0, "cpu": 0.0})
            print(f"{name:<10} {int(row['steps']):>6} {row['wall']:>9.1f} {row['cpu']:>9.1f}")
        after = sum(phases.get(name, {}).get("wall", 0.0) for name in AFTER_VIDEO)
        print(f"whole render: {wall:.1f} s wall ({wall / 60:.1f} min), {cpu:.1f} s CPU, "
              f"{report['video_minutes']:.1f} min of video")
        print(f"decks, handouts and notebooks: {after:.1f} s wall, {100 * after / max(wall, 1e-9):.1f}% of the render")
        print(f"no-op rerun: {noop:.2f} s")


if __name__ == "__main__":
    main()
