"""The studio's error family (defined in `scenes.errors`, the floor both packages stand on), and the stop flag
the CLI's signal handler raises."""

from __future__ import annotations

from scenes.errors import (
    BuildBusy,
    CannotWrite,
    ClaimFailed,
    DeviceMissing,
    LessonError,
    RecordVersion,
    RenderProcessDied,
    SchedulerUnreachable,
    StudioError,
    ToolMissing,
    UnknownName,
    UnknownVisual,
    VisualError,
    VoiceMissing,
    WorkerMismatch,
)

__all__ = ["BuildBusy", "CannotWrite", "ClaimFailed", "DeviceMissing", "LessonError", "RecordVersion",
           "RenderProcessDied", "SchedulerUnreachable", "StudioError", "ToolMissing", "UnknownName",
           "UnknownVisual", "VisualError", "VoiceMissing", "WorkerMismatch", "request_stop", "stop_requested"]

_stop_requested: list[bool] = []


def request_stop() -> None:
    """Ctrl-C or SIGTERM arrived (the CLI's signal handler says so before unwinding)."""
    _stop_requested.append(True)


def stop_requested() -> bool:
    """Whether the user asked to stop: an error raised by a library that swallowed the KeyboardInterrupt
    (nbclient does, inside a notebook's execution) is then the interrupt, not a lesson's failure."""
    return bool(_stop_requested)
