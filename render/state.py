"""Build state on disk: step records (keys and their inputs, to say why a step is redone), atomic writes,
and the lock that keeps two renders off one build folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from render.errors import BuildBusy


@dataclass
class StepRecord:
    """A finished step: the key of its inputs, the inputs' hashes by name, and what it wrote."""

    key: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def outputs_exist(self, base: Path) -> bool:
        return all((base / o).is_file() for o in self.outputs)


def explain(old: StepRecord | None, inputs: dict[str, Any], base: Path, outputs: list[str]) -> str:
    """Why a step must run: '' when its recorded key and outputs are still good."""
    if old is None:
        return "never built"
    # keys starting with "_" are facts recorded about the output, not inputs
    names = {k for k in set(inputs) | set(old.inputs) if not k.startswith("_")}
    changed = sorted(k for k in names if inputs.get(k) != old.inputs.get(k))
    if changed:
        details = []
        for k in changed:
            new_v, old_v = inputs.get(k), old.inputs.get(k)
            if isinstance(new_v, dict) and isinstance(old_v, dict):
                files = sorted(f for f in set(new_v) | set(old_v) if new_v.get(f) != old_v.get(f))
                details.append(f"{k} ({', '.join(files[:3])}{'…' if len(files) > 3 else ''})")
            else:
                details.append(k)
        return "changed: " + "; ".join(details)
    missing = [o for o in outputs if not (base / o).is_file()]
    if missing:
        return f"output missing: {missing[0]}"
    return ""


class StateFile:
    """Per-lesson step records, kept in build/.state/<module>/<slug>.json."""

    def __init__(self, path: Path):
        self.path = path
        self.steps: dict[str, StepRecord] = {}
        if path.is_file():
            try:
                raw = json.loads(path.read_text())
                self.steps = {k: StepRecord(**v) for k, v in raw.get("steps", {}).items()}
            except (ValueError, TypeError):
                self.steps = {}  # a corrupt state only costs a rebuild

    def get(self, step: str) -> StepRecord | None:
        return self.steps.get(step)

    def record(self, step: str, record: StepRecord) -> None:
        self.steps[step] = record

    def forget(self, prefix: str) -> None:
        for k in [k for k in self.steps if k.startswith(prefix)]:
            del self.steps[k]

    def save(self) -> None:
        data = {"steps": {k: asdict(v) for k, v in sorted(self.steps.items())}}
        write_text(self.path, json.dumps(data, indent=1, sort_keys=True))


def temp_name(dest: Path) -> Path:
    """A sibling name for writing `dest` before renaming it into place (keeps the suffix for ffmpeg)."""
    return dest.with_name(f".{dest.stem}.tmp{os.getpid()}{dest.suffix}")


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `dest` in one rename, on failure it is removed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(dest)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: Path, text: str) -> None:
    write_bytes(dest, text.encode("utf-8"))


def write_if_changed(dest: Path, text: str) -> bool:
    """Write only when the content differs, so an unchanged output keeps its bytes."""
    if dest.is_file() and dest.read_text(encoding="utf-8") == text:
        return False
    write_text(dest, text)
    return True


@contextlib.contextmanager
def build_lock(build_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold build/.lock for the whole run; a second render waits (`wait`) or gets BuildBusy."""
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / ".lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise BuildBusy(
                f"another render ({holder}) is using {build_dir}; wait for it to finish or pass --wait"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
