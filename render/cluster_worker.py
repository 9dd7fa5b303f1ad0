"""The set-up a Dask worker gets before its first beat (registered by `render.cluster` as a worker plugin).

A beat render is pure-Python work that holds the GIL; a Dask worker runs it on a thread beside its event loop.
Measured on 1.1.1 (two local workers, eleven beats): the same renders took 70 s of thread CPU on Dask workers
against 51 s in the process pool, mostly from the event loop and the worker's sampling profiler (every 10 ms)
taking the GIL from the render. So beats run in a render process of the worker's own (one per worker
thread, kept warm; one that dies costs its own beat: `render.pool`), where nothing else wants the GIL: a task
annotated with `executor="studio-render"` is run there. A daemonic worker (Dask's default for `dask worker`)
may not start processes: there the render runs on the worker's thread with a longer GIL switch interval. Either way the
worker's profiler is stopped. Render processes start without the nanny's memory settings for its worker.
`render --scheduler local:N` starts its workers non-daemonic.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from render.pool import RenderPool

SWITCH_SECONDS = 0.05  # the event loop still answers within this; CPython's default is 0.005
EXECUTOR = "studio-render"  # the worker executor beat tasks are annotated with


class RenderProcesses(RenderPool):
    """The worker's render pool (a process that dies costs its own beat), with Manim imported ahead, processes
    that end with the worker, and the environment a process pool's would have."""

    def __init__(self, processes: int):
        super().__init__(processes, initializer=follow_parent, initargs=(os.getpid(),))

    def _start(self) -> ProcessPoolExecutor:
        from render.clips import warm_worker

        with outside_dask_environ():
            pool = super()._start()
            for _ in range(self.workers):
                pool.submit(warm_worker)  # a spawn pool starts a process per submit while none is idle
        return pool


@contextlib.contextmanager
def outside_dask_environ() -> Iterator[None]:
    """Without the variables a Dask nanny sets for its worker (`distributed.nanny.pre-spawn-environ`), for
    processes started meanwhile. Its `MALLOC_TRIM_THRESHOLD_` hands freed memory back to the system at every
    64 KiB, which suits a worker holding data and costs a render about a tenth more CPU: render processes
    get the environment a process pool's would."""
    import dask

    dask_set = {key: str(value) for key, value in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()}
    removed = {key: os.environ.pop(key) for key, value in dask_set.items() if os.environ.get(key) == value}
    try:
        yield
    finally:
        os.environ.update(removed)


def follow_parent(parent: int) -> None:
    """In a render process: end with the worker that started it, even when the worker is killed (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the worker died before this process could ask to follow it
        os._exit(1)


def studio_error_names() -> tuple[str, ...]:
    """`Name(` for every class of the error family, as a worker's log writes a task's exception."""
    import scenes.errors

    found, todo = set(), [scenes.errors.StudioError]
    while todo:
        cls = todo.pop()
        found.add(f"{cls.__name__}(")
        todo += cls.__subclasses__()
    return tuple(sorted(found))


class QuietStudioErrors(logging.Filter):
    """A worker's log leaves out the studio errors its tasks raised (a visual that cannot draw its data, a render
    process that died): the render that sent the task reports each with the lesson's file and line, and a
    worker's traceback beside it would read as the studio's own fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        from scenes.errors import StudioError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, StudioError):
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        failed = str(record.msg).startswith("Compute Failed") and len(args) > 3
        return not (failed and str(args[3]).startswith(studio_error_names()))


QUIET = QuietStudioErrors()


class RenderWorker(WorkerPlugin):
    """Render processes where the worker may start them; else the profiler off, a longer GIL switch interval
    and Manim imported ahead of the first beat, on the worker's own thread."""

    idempotent = True
    name = "torchenstein-render"

    def setup(self, worker: Any) -> None:
        logging.getLogger("distributed.worker").addFilter(QUIET)
        for name in ("profile", "profile-cycle"):  # sampling every thread every 10 ms, for a dashboard
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()
        if not multiprocessing.current_process().daemon:
            worker.executors[EXECUTOR] = RenderProcesses(worker.state.nthreads)
            return
        worker.executors[EXECUTOR] = worker.executors["default"]
        sys.setswitchinterval(SWITCH_SECONDS)
        from render.clips import warm_worker

        threading.Thread(target=warm_worker, daemon=True, name="warm-manim").start()

    def teardown(self, worker: Any) -> None:
        executor = worker.executors.pop(EXECUTOR, None)
        if isinstance(executor, RenderProcesses):
            executor.kill()
