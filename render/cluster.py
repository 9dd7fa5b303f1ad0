"""Beats rendered on a Dask cluster: `render module1 --scheduler tcp://host:8786` (or `local:N`).

Beat jobs are self-contained (render.clips.BeatJob: trace slice, timing, audio bytes, code digest), so a
worker needs only the installed studio and its system packages, not the build folder. The cluster is used
through `Client.get_executor()`, a `concurrent.futures.Executor` like the default process pool; Dask itself
resubmits the beat of a worker that dies. Each worker is set up for renders by `render.cluster_worker`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from render.errors import SchedulerUnreachable, ToolMissing

CONNECT_SECONDS = 10
# A local cluster shares the machine's cores with its renders: workers that may start their render processes,
# and Dask's housekeeping (profiler, event-loop and memory checks) less often, which at its defaults costs
# 7% of a 2-core machine while the cluster idles.
LOCAL_CLUSTER = {
    "distributed.worker.daemon": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def dask_executor(address: str) -> tuple[Executor, Callable[[], None]]:
    """An executor on the scheduler at `address` (`local:N` starts N local worker processes), and a
    function that closes what was opened."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ToolMissing("--scheduler needs dask.distributed: pip install 'torchenstein-studio[dask]' "
                          "(or pip install distributed)") from None
    cluster = None
    if address.startswith("local:"):
        workers = int(address.removeprefix("local:") or 2)
        import dask

        undo = dask.config.set(LOCAL_CLUSTER)  # until closed: a worker restarted after dying gets it too
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address} within "
                                       f"{CONNECT_SECONDS} s ({exc}); start it with `dask scheduler`") from None

    from render.cluster_worker import RenderWorker

    client.register_plugin(RenderWorker())  # workers that join later get it too

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()
            undo.__exit__(None, None, None)

    return RenderTasks(client.get_executor(pure=False)), close


class RenderTasks(Executor):
    """The client's executor, with every task annotated to run in the workers' render processes."""

    def __init__(self, inner: Executor):
        self.inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        import dask

        from render.cluster_worker import EXECUTOR

        with dask.annotate(executor=EXECUTOR):
            return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait)  # Dask's executor cancels nothing itself: closing the client does
