"""Beats rendered on a real Dask cluster (`dask scheduler` and two `dask worker` processes, started in a
folder that is not the project's): the same steps and durations as the process pool, a worker killed
mid-render, an unreachable scheduler, a worker running other studio code."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from render.state import StateFile
from render.video import probe
from tests.conftest import Project

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).parent / "dask"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A scheduler and workers as separate processes, like a by-hand deployment."""

    def __init__(self, folder: Path, code: Path):
        self.folder = folder
        self.env = {**os.environ, "PYTHONPATH": str(code)}
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers: list[subprocess.Popen[bytes]] = []
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self.spawn("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(DASK), *args], cwd=self.folder, env={**self.env, **(env or {})},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def add_workers(self, n: int) -> None:
        for i in range(n):
            # the first may start processes, so its beats render in a render process of its own; the others
            # are daemonic, Dask's default, and render on their task thread
            env = {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"} if i == 0 else {}
            self.workers.append(self.spawn("worker", self.address, "--nthreads", "1", "--no-dashboard", env=env))
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def cluster(project: Project, tmp_path: Path) -> Iterator[Cluster]:
    if not DASK.exists():
        pytest.fail("the test set-up installs dask.distributed (pyproject's test extra)")
    folder = tmp_path / "cluster-workdir"
    folder.mkdir()
    running = Cluster(folder, project.root)
    try:
        running.add_workers(2)
        yield running
    finally:
        running.close()


def beats_of(project: Project, build: Path) -> list[tuple[str, float]]:
    lesson = json.loads((build / "module1" / "tiny" / "lesson.json").read_text())
    return [(b["name"], b["duration"]) for b in lesson["beats"]]


def test_a_cluster_renders_what_the_process_pool_renders(project: Project, cluster: Cluster, tmp_path: Path) -> None:
    project.script("broken").unlink(missing_ok=True)
    pool_build, dask_build = tmp_path / "pool", tmp_path / "dask"
    project.render("1.1.1", "--voice", "espeak", "--build-dir", str(pool_build))
    project.render("1.1.1", "--voice", "espeak", "--build-dir", str(dask_build), "--scheduler", cluster.address)
    assert beats_of(project, dask_build) == beats_of(project, pool_build)
    steps = [sorted(StateFile(b / ".state" / "module1" / "tiny.json").steps) for b in (pool_build, dask_build)]
    assert steps[0] == steps[1] and "clip:counting" in steps[0]
    info = probe(dask_build / "module1" / "tiny" / "lesson.mp4")
    assert {"video", "audio"} <= {s["codec_type"] for s in info["streams"]}
    assert not list(cluster.folder.rglob("*.mp4"))  # workers kept nothing: the client wrote every file


def test_a_worker_killed_mid_render_does_not_stop_the_build(project: Project, cluster: Cluster,
                                                            tmp_path: Path) -> None:
    project.script("broken").write_text(project.script().read_text().replace("Behold", "Gaze at"))
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    render = subprocess.Popen([sys.executable, "-m", "render.cli", "module1", "--voice", "espeak",
                               "--scheduler", cluster.address], cwd=project.root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)
    out, err = render.communicate(timeout=900)
    assert render.returncode == 0, err
    for slug in ("tiny", "broken"):
        assert float(probe(project.lesson_dir(slug) / "lesson.mp4")["format"]["duration"]) > 1


def test_an_unreachable_scheduler_is_a_clear_error_within_ten_seconds(project: Project) -> None:
    started = time.monotonic()
    result = project.render("1.1.1", "--voice", "espeak", "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                            check=False)
    assert result.returncode == 1
    assert "cannot reach the Dask scheduler" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60  # ten seconds to give up, plus the trace before it


def test_a_worker_with_other_studio_code_refuses_the_job(project: Project, cluster: Cluster, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(project.root, other, ignore=shutil.ignore_patterns("build"))
    clips = other / "render" / "clips.py"
    clips.write_text(clips.read_text() + "\n# a different studio version\n")
    (other / "scripts" / "module1" / "broken.py").unlink(missing_ok=True)
    result = Project(other).render("1.1.1", "--voice", "espeak", "--scheduler", cluster.address, check=False)
    assert result.returncode == 1
    assert "this worker runs studio code" in result.stderr and "the render sent code" in result.stderr


def render_pids(client: object, workers: list[str]) -> dict[str, int]:
    """Per worker, the pid that ran a beat-like task annotated for the render processes."""
    import dask

    from render.clips import warm_worker
    from render.cluster_worker import EXECUTOR

    with dask.annotate(executor=EXECUTOR):
        return {w: client.submit(warm_worker, workers=[w], pure=False).result()  # type: ignore[attr-defined]
                for w in workers}


def test_a_worker_that_may_start_processes_renders_in_its_own_render_process(cluster: Cluster) -> None:
    from distributed import Client

    from render.cluster_worker import RenderWorker

    with Client(cluster.address, timeout="30s") as client:
        client.register_plugin(RenderWorker())
        workers = client.run(os.getpid)  # worker address -> the worker's own pid
        renders = render_pids(client, list(workers))
        parents = {w: int(Path(f"/proc/{pid}/stat").read_text().split()[3]) for w, pid in renders.items()}
    by_mode = sorted((renders[w] != pid, parents[w] == pid) for w, pid in workers.items())
    # one worker (non-daemonic) ran it in a child process of its own, the other (daemonic) on its thread
    assert by_mode == [(False, False), (True, True)]


def environ(pid: int) -> dict[str, str]:
    """The environment a process was started with."""
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def test_a_local_cluster_renders_in_render_processes_that_end_with_it() -> None:
    from render.cluster import dask_executor

    executor, close = dask_executor("local:2")
    try:
        client = executor.inner._client  # type: ignore[attr-defined]
        workers = client.run(os.getpid)
        renders = render_pids(client, list(workers))
        started_with = {pid: environ(pid) for pid in [*workers.values(), *renders.values()]}
    finally:
        close()
    assert all(renders[w] != pid for w, pid in workers.items())
    # the nanny's memory setting for its worker (a render costs a tenth more CPU under it) is not the renders'
    assert all(started_with[pid].get("MALLOC_TRIM_THRESHOLD_") == "65536" for pid in workers.values())
    assert all("MALLOC_TRIM_THRESHOLD_" not in started_with[pid] for pid in renders.values())
    time.sleep(1)
    assert not [pid for pid in renders.values() if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
