"""Benchmark one beat's clip with still holds against frame-by-frame encoding (not a test): CPU, wall and peak
memory of each, for a beat job written by a build, with its last hold stretched to test long beats.

    .venv/bin/python bench/bench_holds.py build/module1/01-introduction-to-tensors/beats/02-ranks.job.json
    .venv/bin/python bench/bench_holds.py JOB.json --quality 4k --hold 60   # a minute-long hold at 2160p60

Each render runs in a process of its own, so its peak resident memory is its own.
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

ROOT = Path(__file__).resolve().parent.parent

RENDER = """
import json, sys
from render.clips import ClipJob, render_clip
render_clip(ClipJob(**json.loads(open(sys.argv[1]).read())))
"""


def run(job: dict, folder: Path) -> tuple[float, float, float]:
    """Render `job` in a child process: wall seconds, CPU seconds and peak memory in MiB."""
    spec = folder / "job.json"
    spec.write_text(json.dumps(job))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", RENDER, str(spec)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"render failed ({status})")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", type=Path)
    parser.add_argument("--quality", default="high", choices=["low", "medium", "high", "4k"])
    parser.add_argument("--hold", type=float, default=0.0, help="seconds added to the beat's last hold")
    parser.add_argument("--still-only", action="store_true", help="leave out the frame-by-frame render")
    args = parser.parse_args()
    job = json.loads(args.job.read_text())
    timing = dict(job.get("timing") or {})
    if args.hold:
        timing["duration"] = float(timing.get("duration", 0.0)) + args.hold
    with tempfile.TemporaryDirectory(prefix="bench-holds-") as tmp:
        folder = Path(tmp)
        base = job | {"quality": args.quality, "timing": timing, "audio": None, "work_dir": str(folder / "work")}
        print(f"beat: {args.job.name}  quality: {args.quality}  video: {timing.get('duration', 0):.1f} s")
        results = {}
        for still in (True,) if args.still_only else (True, False):
            name = "still holds" if still else "frame by frame"
            wall, cpu, peak = run(base | {"still_holds": still, "output": str(folder / f"{still}.mp4")}, folder)
            results[still] = cpu
            print(f"{name:15s} {wall:8.2f} s wall {cpu:8.2f} s CPU  peak {peak:7.0f} MiB  "
                  f"{(folder / f'{still}.mp4').stat().st_size / 1e6:6.2f} MB")
        if False in results:
            print(f"ratio {results[True] / results[False]:.3f}")


if __name__ == "__main__":
    main()
