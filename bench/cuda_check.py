"""One-off check on a GPU machine (not a test): every scripted lesson's trace computes on CUDA, records
the CUDA device, and agrees with the CPU trace.

    python3 bench/cuda_check.py [--out DIR]

Needs torch and jinja2 only (no Manim): it runs the trace step and renders the narration.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from render.course import load_course  # noqa: E402
from render.lesson import LessonError, load_lesson  # noqa: E402
from render.templating import render_narration  # noqa: E402
from render.trace import resolve_device, trace_lesson  # noqa: E402
from scenes.trace import BeatTrace  # noqa: E402


def flat(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [x for v in values for x in flat(v)]
    return [values]


def close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool):
        return a == b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= tol * (1 + abs(b))


def compare(gpu: dict[str, Any], cpu: dict[str, Any]) -> list[str]:
    """Differences between a beat's CUDA and CPU traces beyond float tolerance (timings excepted)."""
    problems = []
    for name, t in gpu["tensors"].items():
        c = cpu["tensors"].get(name)
        if c is None:
            problems.append(f"{name}: only on cuda")
            continue
        if t["shape"] != c["shape"] or t["dtype"] != c["dtype"]:
            problems.append(f"{name}: shape/dtype {t['shape']} {t['dtype']} vs {c['shape']} {c['dtype']}")
            continue
        tol = 1e-2 if t["dtype"] in ("float16", "bfloat16") else 1e-4
        bad = sum(not close(x, y, tol) for x, y in zip(flat(t["values"]), flat(c["values"]), strict=False))
        if bad:
            problems.append(f"{name}: {bad} values differ")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    import torch

    device = resolve_device("auto")
    report: dict[str, Any] = {
        "torch": torch.__version__, "device": device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "lessons": {},
    }
    print(f"torch {torch.__version__}, auto device: {device} {report['gpu'] or ''}")
    for entry in load_course().lessons:
        if not entry.scripted:
            continue
        row: dict[str, Any] = {}
        try:
            lesson = load_lesson(entry.script)
            t0 = time.perf_counter()
            gpu = trace_lesson(lesson, device)
            row["seconds"] = round(time.perf_counter() - t0, 3)
            cpu = trace_lesson(lesson, "cpu")
        except LessonError as exc:
            row["error"] = str(exc)
            report["lessons"][entry.id] = row
            print(f"✗ {entry.id} {entry.slug}: {exc}")
            continue
        devices = sorted({t["device"] for b in gpu["beats"] for t in b["tensors"].values()})
        diffs = {b["name"]: compare(b, c) for b, c in zip(gpu["beats"], cpu["beats"], strict=True)}
        narration = {}
        for beat, b in zip(lesson.beats, gpu["beats"], strict=True):
            narration[beat.name] = render_narration(beat.narration, BeatTrace.from_json(b, gpu["device"], gpu["torch"]))
        row.update(beats=len(gpu["beats"]), devices=devices, differences={k: v for k, v in diffs.items() if v},
                   narration=narration, values={b["name"]: b["values"] for b in gpu["beats"] if b["values"]})
        report["lessons"][entry.id] = row
        n_diff = sum(len(v) for v in diffs.values())
        print(f"{'✓' if device in ' '.join(devices) else '?'} {entry.id} {entry.slug}: {len(gpu['beats'])} beats on "
              f"{', '.join(devices)} in {row['seconds']} s; {n_diff} tensors differ from the CPU trace")
        for beat, problems in row["differences"].items():
            print(f"    {beat}: {'; '.join(problems)}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cuda_check.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
