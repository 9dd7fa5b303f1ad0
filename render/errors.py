"""The studio's one family of errors: what a user can cause and fix (a broken lesson, a visual that cannot
draw its data, a missing tool or voice, a busy build folder, a record from another version).

The CLI turns a `StudioError` into a clean message and exit code; anything else is a bug and is shown with
its traceback. This module imports nothing heavy, so scenes and lesson scripts may raise these too.
"""

from __future__ import annotations

import traceback
from pathlib import Path


class StudioError(Exception):
    """An error the user can act on; `exit_code` is what the CLI exits with."""

    exit_code = 1


class LessonError(StudioError):
    """A lesson script that cannot be loaded, or whose computation, claim or visual failed, located in its file."""

    def __init__(self, script: Path, line: int | None, message: str, beat: str | None = None):
        self.script = script
        self.line = line
        self.message = message
        self.beat = beat
        where = f"{script}:{line}" if line else str(script)
        super().__init__(f"{where}: {f'beat {beat!r}: ' if beat else ''}{message}")

    @classmethod
    def from_exception(cls, script: Path, exc: BaseException, beat: str | None = None) -> LessonError:
        """Locate `exc` in `script` (the deepest frame inside that file), or its syntax error line."""
        line = None
        if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == script.resolve():
            line = exc.lineno
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == script.resolve():
                line = frame.lineno
        message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        return cls(script, line, message, beat)


class ClaimFailed(StudioError):
    """A claim a lesson makes (`expect(...)`) that torch disagreed with when the beat traced."""

    def __init__(self, claim: str, detail: str = ""):
        self.claim = claim
        super().__init__(f"claim failed: {claim}" + (f" ({detail})" if detail else ""))


class VisualError(StudioError):
    """A visual that cannot draw its data: names the visual, the trace entry and the reason."""

    def __init__(self, visual: str, tensor: str | None, reason: str):
        self.visual = visual
        self.tensor = tensor
        self.reason = reason
        what = f"{visual}({tensor!r})" if tensor else visual
        super().__init__(f"{what} cannot draw this: {reason}")


class UnknownVisual(StudioError):
    """A lesson names a visual the vocabulary does not have, or an option the visual does not take."""


class ToolMissing(StudioError):
    """A program the pipeline runs (ffmpeg, espeak-ng...) is not installed; the message says how to install it."""


class DeviceMissing(StudioError):
    """`--device cuda` or `--device mps` on a machine where torch sees no such device, or an unknown name."""


class VoiceMissing(StudioError):
    """The chosen voice cannot speak on this machine; the message says what to install."""


class BuildBusy(StudioError):
    """Another render holds the build folder."""


class WorkerMismatch(StudioError):
    """A render worker runs other studio code than the render that sent it a job."""


class SchedulerUnreachable(StudioError):
    """The Dask scheduler named by --scheduler cannot be reached."""


class RecordVersion(StudioError):
    """A record on disk written by another version of the studio: rebuild with --force."""


class CannotWrite(StudioError):
    """The build folder cannot be written: a full disk, a read-only folder, no permission."""

    @classmethod
    def from_os_error(cls, exc: OSError) -> CannotWrite | None:
        """A clean error for the OS errors a user fixes outside the studio; None for any other."""
        import errno

        where = exc.filename or "the build folder"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            free = _free_mb(where)
            return cls(f"no space left to write {where} ({free}); free some space (a lesson at the default "
                       f"quality needs about 50 MB) and render again: finished steps are kept")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return cls(f"cannot write {where}: {exc.strerror}; render into a writable folder with --build-dir")
        return None


def _free_mb(where: str) -> str:
    import os
    import shutil as sh

    path = where
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        return f"{sh.disk_usage(path or '.').free // 2**20} MB free there"
    except OSError:
        return "free space unknown"


class UnknownName(StudioError, LookupError):
    """A module or lesson name that is not in the course."""

    exit_code = 2


_stop_requested: list[bool] = []


def request_stop() -> None:
    """Ctrl-C or SIGTERM arrived (the CLI's signal handler says so before unwinding)."""
    _stop_requested.append(True)


def stop_requested() -> bool:
    """Whether the user asked to stop: an error raised by a library that swallowed the KeyboardInterrupt
    (nbclient does, inside a notebook's execution) is then the interrupt, not a lesson's failure."""
    return bool(_stop_requested)
