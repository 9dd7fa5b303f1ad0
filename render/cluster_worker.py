"""The set-up a Dask worker gets before its first beat (registered by `render.cluster` as a worker plugin).

A beat render is pure-Python work that holds the GIL; a Dask worker runs it on a thread beside its event loop.
Measured on 1.1.1 (two local workers, eleven beats): the same renders took 70 s of thread CPU on Dask workers
against 51 s in the process pool, mostly from the event loop and the worker's sampling profiler (every 10 ms)
taking the GIL from the render. This plugin turns the profiler off and lengthens the GIL switch interval.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

SWITCH_SECONDS = 0.05  # the event loop still answers within this; CPython's default is 0.005


class RenderWorker(WorkerPlugin):
    """Profiler off, a longer GIL switch interval, and Manim imported ahead of the first beat."""

    idempotent = True
    name = "torchenstein-render"

    def setup(self, worker: Any) -> None:
        for name in ("profile", "profile-cycle"):
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()
        sys.setswitchinterval(SWITCH_SECONDS)
        from render.clips import warm_worker

        threading.Thread(target=warm_worker, daemon=True, name="warm-manim").start()
