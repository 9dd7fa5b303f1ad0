"""The studio's one family of errors: what a user can cause and fix (a broken lesson, a visual that cannot
draw its data, a missing tool or voice, a busy build folder, a record from another version).

The CLI turns a `StudioError` into a clean message and exit code; anything else is a bug and is shown with
its traceback. The family lives here, on the bottom floor that both `scenes` and `render` import (`render.errors`
re-exports it), and imports nothing heavy, so scenes and lesson scripts may raise these too. Every error keeps
its fields and message through `pickle` (and so through a process pool or a Dask worker): an error that could
not be rebuilt in the parent would break the pool it crossed.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any


class StudioError(Exception):
    """An error the user can act on; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls cls(*args) with the message alone, which a subclass with its own
        # constructor (LessonError, VisualError...) cannot take: rebuild without calling __init__ instead.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[StudioError], args: tuple[Any, ...], fields: dict[str, Any]) -> StudioError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


class LessonError(StudioError):
    """A lesson script that cannot be loaded, or whose computation, claim or visual failed, located in its file."""

    def __init__(self, script: Path, line: int | None, message: str, beat: str | None = None):
        self.script = script
        self.line = line
        self.message = message
        self.beat = beat
        where = f"{shown_path(script)}:{line}" if line else shown_path(script)
        super().__init__(f"{where}: {f'beat {beat!r}: ' if beat else ''}{message}")

    @classmethod
    def from_exception(cls, script: Path, exc: BaseException, beat: str | None = None,
                       line: int | None = None) -> LessonError:
        """Locate `exc` in `script` (the deepest frame inside that file), or its syntax error line; else `line`."""
        if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == script.resolve():
            line = exc.lineno
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == script.resolve():
                line = frame.lineno
        message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        return cls(script, line, message, beat)


def shown_path(path: Path) -> str:
    """A path as messages show it: relative to the current folder (the project, usually) when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


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
    """A lesson names a visual the vocabulary does not have, an option the visual does not take, or fewer or more
    trace entries than it takes."""


class NotInVocabulary(UnknownVisual, ImportError):
    """`from scenes.vocabulary import Name` for a visual the vocabulary lacks: an ImportError (so the import
    statement says it, not a bare "cannot import name") naming the closest visual and every one there is."""

    def __init__(self, name: str, known: list[str]):
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        super().__init__(f"no visual {name!r} in the vocabulary: {hint}it has {', '.join(known)} "
                         "(render gallery --list shows each one drawn)")


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


class RenderProcessDied(StudioError):
    """The process rendering a job died (a crash, `os._exit`, the OOM killer, a SIGKILL): that job alone fails."""

    def __init__(self, exitcode: int | None, job: str = "this beat"):
        self.exitcode = exitcode
        self.job = job
        super().__init__(f"the render process died {_death(exitcode)} while rendering {job}; the other beats render "
                         "on in a fresh process")


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "for an unknown reason"
    if exitcode < 0:
        import signal

        try:
            return f"with signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"with signal {-exitcode}"
    return f"with exit code {exitcode}"


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
