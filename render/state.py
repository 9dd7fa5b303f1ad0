"""Build state on disk: one record per finished step (the key of its inputs, the inputs' hashes by name, and
a fingerprint of each output), and the lock that keeps two renders off one build folder."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from render.errors import BuildBusy
from render.files import atomic_path, temp_name, write_bytes, write_if_changed, write_text

STATE_SCHEMA = 2

__all__ = ["STATE_SCHEMA", "StateFile", "StepRecord", "atomic_path", "build_lock", "explain", "fingerprint",
           "temp_name", "write_bytes", "write_if_changed", "write_text"]


def fingerprint(path: Path) -> list[Any]:
    """[size, content hash, mtime_ns] of an output file; the time only spares rehashing an untouched file."""
    stat = path.stat()
    return [stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest()[:20], stat.st_mtime_ns]


@dataclass
class StepRecord:
    """A finished step: the key of its inputs, the inputs' hashes by name, what it wrote (with each output's
    fingerprint) and facts learnt while running (a clip's duration)."""

    key: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    files: dict[str, list[Any]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def seal(self, base: Path) -> StepRecord:
        """Fingerprint the outputs as they are now, right after the step wrote them."""
        self.files = {o: fingerprint(base / o) for o in self.outputs if (base / o).is_file()}
        return self


def output_problem(record: StepRecord, base: Path, outputs: list[str]) -> str:
    """'' when every output is there and is what the step wrote, else what is wrong with the first bad one."""
    for name in outputs:
        path = base / name
        if not path.is_file():
            return f"output missing: {name}"
        seen = record.files.get(name)
        if seen is None:
            continue
        stat = path.stat()
        if stat.st_size != seen[0]:
            return f"output changed: {name} ({stat.st_size} bytes, recorded {seen[0]})"
        if stat.st_mtime_ns != seen[2] and fingerprint(path)[1] != seen[1]:
            return f"output changed: {name} (content differs from what was recorded)"
    return ""


def explain(old: StepRecord | None, inputs: dict[str, Any], base: Path, outputs: list[str]) -> str:
    """Why a step must run: '' when its recorded key and outputs are still good."""
    if old is None:
        return "never built"
    names = set(inputs) | set(old.inputs)
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
    return output_problem(old, base, outputs)


class StateFile:
    """Step records of one lesson (or of the page), kept in build/.state/. A file that cannot be read or
    comes from another schema counts as no record at all, and `problem` says why."""

    def __init__(self, path: Path):
        self.path = path
        self.steps: dict[str, StepRecord] = {}
        self.problem = ""
        self._lock = threading.Lock()  # the video is joined on a thread while beats are recorded
        if path.is_file():
            try:
                raw = json.loads(path.read_text())
                if raw.get("schema") != STATE_SCHEMA:
                    self.problem = f"state from another version ({path.name}): rebuilt"
                else:
                    self.steps = {k: StepRecord(**v) for k, v in raw.get("steps", {}).items()}
            except (ValueError, TypeError, AttributeError):
                self.problem = f"state file unreadable ({path.name}): rebuilt"
                self.steps = {}

    def get(self, step: str) -> StepRecord | None:
        return self.steps.get(step)

    def record(self, step: str, record: StepRecord) -> None:
        with self._lock:
            self.steps[step] = record

    def forget(self, prefix: str) -> None:
        for k in [k for k in self.steps if k.startswith(prefix)]:
            del self.steps[k]

    def save(self) -> None:
        with self._lock:
            data = {"schema": STATE_SCHEMA, "steps": {k: asdict(v) for k, v in sorted(self.steps.items())}}
            write_text(self.path, json.dumps(data, indent=1, sort_keys=True))


@contextlib.contextmanager
def build_lock(build_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold build/.lock for the whole run; a second render waits (`wait`) or gets BuildBusy. The kernel drops
    the lock when its holder dies, so a lock left by a killed render is simply taken over."""
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
