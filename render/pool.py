"""The render pool: spawn processes for beat jobs, in which a process that dies costs its own job, not the pool.

`concurrent.futures.ProcessPoolExecutor` fails every job it holds once any of its processes dies (a crash, an
`os._exit` in a visual, the OOM killer, a SIGKILL): one bad beat would take down every beat still waiting,
other lessons' included. This pool hears from each process which job it starts (a message on a queue, sent
before the job runs), so when the inner pool breaks, the job of the process that died fails with
`RenderProcessDied` and every other job goes to a fresh pool. A job caught in more breaks than
`MAX_BREAKS` fails too, so a pool that keeps dying cannot loop.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from render.errors import RenderProcessDied

EXIT_SECONDS = 5.0  # the longest wait for a dead process's exit code
MAX_BREAKS = 3  # breaks of the pool a job may live through (each caused by another job's process)


@dataclass
class _Job:
    id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)
    breaks: int = 0


class RenderPool(Executor):
    """A spawn process pool of `workers` processes, each set up by `initializer(*initargs)`, whose broken inner
    pool is replaced at once: the dead process's job fails alone, the others are submitted again."""

    def __init__(self, workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple[Any, ...] = ()):
        self.workers = max(1, workers)
        self._context = multiprocessing.get_context("spawn")  # workers import Manim only, never the parent's torch
        self._setup = (initializer, initargs)
        self._lock = threading.RLock()
        self._ids = itertools.count()
        self._jobs: dict[int, _Job] = {}
        self._started = self._context.SimpleQueue()  # (pid, job id) from each process as it starts a job
        self._running: dict[int, int] = {}  # pid -> the job it started last
        self._processes: dict[int, Any] = {}  # every process of the current inner pool, by pid
        self._dead: dict[int, dict[int, int | None]] = {}  # pool generation -> {job id: its process's exit code}
        self._generation = 0
        self._closed = False
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_begin,
                                   initargs=(self._started, *self._setup))

    # -- the Executor ------------------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        job = _Job(next(self._ids), fn, args, kwargs)
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs[job.id] = job
            self._send(job)
        return job.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
            if cancel_futures:
                for job in list(self._jobs.values()):
                    if job.future.cancel():
                        del self._jobs[job.id]
                        job.future.set_running_or_notify_cancel()  # waiters hear of it now
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            self._started.close()

    def kill(self, idle_seconds: float = 2.0) -> None:
        """Stop every process now (Ctrl-C, a closing worker) rather than wait for the jobs they run. With no
        job of this pool's left, the processes are idle: they end as a shut-down pool's do (within
        `idle_seconds`), so what they registered at exit is released (a killed one leaves the named semaphore
        tqdm's lock made in it to the resource tracker, which warns of it at shutdown); the rest are killed."""
        import time
        from multiprocessing.connection import wait as ready

        with self._lock:
            self._closed = True
            busy = bool(self._jobs)
            pool = self._pool
            processes = [*self._processes.values(), *(getattr(pool, "_processes", None) or {}).values()]
        if not busy:
            pool.shutdown(wait=False, cancel_futures=True)
            waiting, deadline = {p.sentinel for p in processes}, time.monotonic() + idle_seconds
            while waiting and time.monotonic() < deadline:
                waiting -= set(ready(list(waiting), timeout=max(0.0, deadline - time.monotonic())))
        for process in processes:
            if process.exitcode is None:
                process.kill()
        self.shutdown(wait=True, cancel_futures=True)  # quick once they are gone; releases the queues

    @property
    def pids(self) -> list[int]:
        """The processes of the current inner pool."""
        with self._lock:
            return list(self._processes)

    # -- a job's round trip --------------------------------------------------------------------------------
    def _send(self, job: _Job) -> None:
        """Submit `job` to the current inner pool (the lock is held)."""
        try:
            inner = self._pool.submit(_run, job.id, job.fn, *job.args, **job.kwargs)
        except BrokenProcessPool:  # it broke before any of its jobs said so
            self._replace(self._generation)
            inner = self._pool.submit(_run, job.id, job.fn, *job.args, **job.kwargs)
        self._processes.update(getattr(self._pool, "_processes", None) or {})
        inner.add_done_callback(functools.partial(self._returned, job, self._generation))

    def _returned(self, job: _Job, generation: int, inner: Future[Any]) -> None:
        if inner.cancelled():
            self._settle(job, cancel=True)
            return
        error = inner.exception()
        if isinstance(error, BrokenProcessPool):
            self._broken(job, generation)
        elif error is not None:
            self._settle(job, error=error)
        else:
            self._settle(job, result=inner.result())

    def _broken(self, job: _Job, generation: int) -> None:
        with self._lock:
            if generation == self._generation:  # the first job to hear of this break
                self._replace(generation)
            dead = self._dead.get(generation, {})
            job.breaks += 1
            if job.id in dead:
                error: BaseException | None = RenderProcessDied(dead[job.id])
            elif job.breaks > MAX_BREAKS:
                error = RenderProcessDied(None, f"this job, after {MAX_BREAKS} other render processes died")
            elif self._closed:
                error = RenderProcessDied(None, "this job, as the render stopped")
            else:
                error = None
                self._send(job)
        if error is not None:
            self._settle(job, error=error)

    def _replace(self, generation: int) -> None:
        """Note which jobs died with their process, then start a fresh inner pool (the lock is held)."""
        while not self._started.empty():
            pid, job_id = self._started.get()
            self._running[pid] = job_id
        ended = set(wait([p.sentinel for p in self._processes.values()], timeout=0))
        dead: dict[int, int | None] = {}
        for pid, process in self._processes.items():
            if process.sentinel in ended:
                process.join(EXIT_SECONDS)  # its pipe closes a moment before its exit code can be read
            code = process.exitcode
            # the inner pool terminates its other processes (SIGTERM) when one dies; the one that died first
            # ended some other way
            if code is not None and code != -signal.SIGTERM and pid in self._running:
                dead[self._running[pid]] = code
        self._dead[generation] = dead
        old = self._pool
        self._generation = generation + 1
        self._processes = {}
        self._running = {}
        if not self._closed:
            self._pool = self._start()
        old.shutdown(wait=False)

    def _settle(self, job: _Job, result: Any = None, error: BaseException | None = None,
                cancel: bool = False) -> None:
        with self._lock:
            if self._jobs.pop(job.id, None) is None:  # settled already (cancelled at shutdown)
                return
        if cancel:
            job.future.cancel()
        if not job.future.set_running_or_notify_cancel():  # cancelled, by its caller or just now
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)


_started_queue: Any = None


def _begin(started: Any, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    """In a render process: keep the queue it reports on, then the pool's own set-up."""
    global _started_queue
    _started_queue = started
    thread_lock_for_tqdm()
    if initializer is not None:
        initializer(*initargs)


def _run(job_id: int, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """In a render process: say which job it starts (before it can die running it), then run it."""
    _started_queue.put((os.getpid(), job_id))
    return fn(*args, **kwargs)


def thread_lock_for_tqdm() -> None:
    """In a render process: Manim's progress bars take tqdm's lock, which by default is a named
    multiprocessing semaphore, made in the process. A render process killed at a stop (Ctrl-C,
    SIGTERM) cannot release it, and the resource tracker warns of a "leaked semaphore" at shutdown. Its bars
    need no lock across processes: a thread lock makes none."""
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
