"""The one way the studio writes a file: under a temporary sibling name, renamed into place on success.

A killed render therefore never leaves a half-written file where a good one was. Temporary names carry
the writer's pid (`.lesson.tmp1234.mp4`), so a later run can tell a dead writer's leftovers from a live
one's (`stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

TEMP = re.compile(r"^\..+\.tmp(\d+)(\.[^.]*)?$")


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files under `folder` whose writer is no longer running (left by a killed render)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob(".*.tmp*"):
        match = TEMP.match(path.name)
        if match and path.is_file() and not _alive(int(match.group(1))):
            found.append(path)
    return found


def relative(target: Path, start: Path) -> str:
    """`target` as a path relative to the folder `start` (for links between outputs)."""
    return os.path.relpath(target, start)
