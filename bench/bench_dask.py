"""Benchmark rendering on Dask against the process pool (not a test): the same targets rendered both ways
in one run, on copies of the project, with the ratio of wall times and the bytes shipped per beat.

    .venv/bin/python bench/bench_dask.py module1              # --scheduler local:2 against --jobs 2
    .venv/bin/python bench/bench_dask.py 1.1.1 --workers 2 --rounds 2   # pool, dask, dask, pool

Goal: the Dask wall time at most 1.1 x the process pool's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import copy_project, timed  # noqa: E402


def shipped(build: Path) -> tuple[float, float, int]:
    """Mean bytes per beat sent to a worker (job data and narration audio) and sent back (clip, poster,
    audio samples, what was shown), and the number of beats."""
    sent, back = [], []
    for job in build.glob("module*/*/beats/*.job.json"):
        stem = job.name.removesuffix(".job.json")
        beats = job.parent
        sent.append(job.stat().st_size + sum(p.stat().st_size for p in beats.glob(f"{stem}.wav")))
        back.append(sum((beats / f"{stem}{ext}").stat().st_size for ext in (".mp4", ".png", ".f32", ".shown.json")
                        if (beats / f"{stem}{ext}").is_file()))
    return statistics.fmean(sent or [0]), statistics.fmean(back or [0]), len(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["module1"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--voice", default="espeak")
    parser.add_argument("--rounds", type=int, default=1,
                        help="renders each way; the order alternates (pool first, then Dask first) against drift")
    args = parser.parse_args()
    ways = {"process pool": ["--jobs", str(args.workers)], "dask": ["--scheduler", f"local:{args.workers}"]}
    with tempfile.TemporaryDirectory(prefix="studio-dask-") as tmp:
        walls: dict[str, list[float]] = {way: [] for way in ways}
        for round_ in range(args.rounds):
            for way in (list(ways) if round_ % 2 == 0 else list(ways)[::-1]):
                root = Path(tmp) / f"{way.replace(' ', '-')}-{round_}"
                copy_project(root, None)
                cmd = [sys.executable, "-m", "render.cli", *args.targets, "--voice", args.voice, "--only", "video",
                       *ways[way]]
                walls[way].append(timed(cmd, root))
                print(f"round {round_ + 1} {way:13s} {walls[way][-1]:8.2f} s wall", flush=True)
        sent, back, beats = shipped(Path(tmp) / "dask-0" / "build")
        print(f"beats: {beats}; shipped per beat: {sent / 1024:.0f} KiB to a worker, {back / 1024:.0f} KiB back")
        print(f"ratio {sum(walls['dask']) / sum(walls['process pool']):.2f} (dask / process pool, wall times summed "
              f"over {args.rounds} round(s); goal <= 1.1)")


if __name__ == "__main__":
    main()
