"""Tracing a lesson in a child process, so a lesson script cannot take the build down.

A script or computation that raises, calls `sys.exit` or `os._exit`, hangs past the per-beat time limit,
floods stdout, or grows past the memory limit is reported as that lesson's `LessonError`, with its file
and the beat's line where known; the build goes on with the other lessons.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from render.errors import LessonError

OUTPUT_KEPT = 4000  # characters of a script's own printing kept for the error message


@dataclass(frozen=True)
class Limits:
    """How long one beat may compute, and how much memory a lesson's trace may use."""

    beat_seconds: float = 120.0
    memory_mb: int = 8192
    load_seconds: float = 600.0  # importing torch and the script, before the first beat


def trace_isolated(script: Path, device: str, limits: Limits = Limits(), warm: bool = False) -> dict[str, Any]:
    """The lesson's trace, computed in a child process; any failure there is a LessonError here. `warm`
    (render serve) forks the child from a process that imported torch once, instead of starting Python."""
    with tempfile.TemporaryDirectory(prefix="trace-") as folder:
        result = Path(folder) / "trace.json"
        args = [str(script), device, str(result), str(limits.beat_seconds)]
        proc: Any
        if warm:
            proc = Forked(args)
        else:
            proc = subprocess.Popen([sys.executable, "-m", "render.isolate", *args], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONPATH": _pythonpath()})
        watch = Watch(proc, limits)
        watch.run()
        if result.is_file() and result.stat().st_size:
            data = json.loads(result.read_text())
            if "error" not in data:
                return dict(data)
            error = data["error"]
            raise LessonError(script, error.get("line"), error["message"], error.get("beat"))
        raise LessonError(script, watch.line(script), watch.verdict())


def _pythonpath() -> str:
    from render.course import ROOT

    return os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH", "")])])


class Forked:
    """A trace child forked by multiprocessing's fork server, which imported torch once (render serve), seen
    through the few `Popen` members `Watch` uses. Its output comes back through a pipe, as a Popen's does."""

    def __init__(self, args: list[str]):
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch"])  # importing the studio is quick; torch is the cost
        reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_forked_child, args=(writer, *args), daemon=True)
        self.process.start()
        writer.close()
        self.pid = int(self.process.pid or 0)
        self.stdout = os.fdopen(os.dup(reader.fileno()), "rb")
        reader.close()

    def poll(self) -> int | None:
        return self.process.exitcode

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _forked_child(output: Any, script: str, device: str, out: str, seconds: str) -> None:
    """A fork-server child: its printing (file descriptors 1 and 2) goes to the parent's pipe, then it traces
    as `child` does."""
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    sys.exit(child(Path(script), device, Path(out), float(seconds)))


class Watch:
    """Reads the child's output (keeping its tail), follows which beat it is on, and stops it at the
    time or memory limit."""

    def __init__(self, proc: subprocess.Popen[bytes], limits: Limits):
        self.proc = proc
        self.limits = limits
        self.tail = ""
        self.beat: str | None = None
        self.beat_line: int | None = None
        self.since = time.monotonic()
        self.killed = ""

    def run(self) -> None:
        reader = threading.Thread(target=self.read, daemon=True)
        reader.start()
        try:
            while self.proc.poll() is None:
                self.check()
                time.sleep(0.1)
        except BaseException:  # Ctrl-C: the child goes with us
            self.proc.kill()
            raise
        reader.join(timeout=2)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if "\x00beat " in line:
                _, name, number = line[line.index("\x00beat "):].split()
                self.beat, self.beat_line, self.since = name, int(number), time.monotonic()
                continue
            self.tail = (self.tail + line)[-OUTPUT_KEPT:]

    def check(self) -> None:
        # the child's own alarm stops a beat in Python code; this catches one stuck inside a C call
        elapsed = time.monotonic() - self.since
        if self.beat is None and elapsed > self.limits.load_seconds:
            self.stop(f"loading the script took more than {self.limits.load_seconds:g} s")
        elif self.beat is not None and elapsed > self.limits.beat_seconds + 10:
            self.stop(f"beat {self.beat!r} ran past the {self.limits.beat_seconds:g} s limit per beat")
        rss = _rss_mb(self.proc.pid)
        if rss > self.limits.memory_mb:
            self.stop(f"the trace used {rss} MB, past the {self.limits.memory_mb} MB limit")

    def stop(self, why: str) -> None:
        self.killed = why
        self.proc.send_signal(signal.SIGKILL)

    def line(self, script: Path) -> int | None:
        return self.beat_line

    def verdict(self) -> str:
        where = f" during beat {self.beat!r}" if self.beat else " while loading the script"
        if self.killed:
            return f"stopped{where}: {self.killed}"
        code = self.proc.returncode
        said = f"; it printed: …{self.tail[-300:].strip()}" if self.tail.strip() else ""
        return f"the lesson's process exited with code {code}{where} (os._exit or a crash){said}"


def _rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


# -- the child -------------------------------------------------------------------------------------------
class BeatTimeout(Exception):
    pass


_beat: dict[str, Any] = {}  # the beat computing now: where a sys.exit inside it is reported


def _timed(compute: Any, name: str, line: int, seconds: float) -> Any:
    """`compute` announcing its beat to the parent and stopped by an alarm after `seconds`."""

    @functools.wraps(compute)  # the beat's source (shown on screen) stays the lesson's, not this wrapper's
    def run(device: Any) -> Any:
        _beat.update(beat=name, line=line)
        print(f"\n\x00beat {name} {line}", file=sys.__stdout__, flush=True)

        def expire(signum: int, frame: Any) -> None:
            raise BeatTimeout(f"beat ran past the {seconds:g} s limit per beat")

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return compute(device)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    return run


def child(script: Path, device: str, out: Path, seconds: float) -> int:
    """Load and trace the lesson; write its trace, or the error located in the script, to `out`."""
    from render.lesson import load_lesson
    from render.records import TRACE_SCHEMA
    from render.trace import resolve_device, trace_lesson

    try:
        device = resolve_device(device)
        lesson = load_lesson(script)
        for beat in lesson.beats:
            beat.compute = _timed(beat.compute, beat.name, beat.line, seconds)
        trace = trace_lesson(lesson, device) | {"schema": TRACE_SCHEMA, "lesson": lesson.describe()}
        out.write_text(json.dumps(trace))
        return 0
    except LessonError as exc:
        error = {"message": exc.message, "line": exc.line, "beat": exc.beat}
    except SystemExit as exc:
        error = {"message": f"the script called sys.exit({exc.code!r})", **_beat}
    except BaseException as exc:  # KeyboardInterrupt raised by the script itself, and the like
        error = {"message": f"{type(exc).__name__}: {exc}", **_beat}
    out.write_text(json.dumps({"error": error}))
    return 1


if __name__ == "__main__":
    sys.exit(child(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])))
