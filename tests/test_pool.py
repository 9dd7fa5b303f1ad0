"""The render pool: a process that dies fails the job it was running, alone; the other jobs, waiting or
running, finish in a fresh pool; errors come back as themselves."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import wait

import pytest

from render.errors import RenderProcessDied, VisualError
from render.pool import RenderPool


def slow_square(n: int) -> int:
    time.sleep(0.3)
    return n * n


def die(code: int) -> None:
    time.sleep(0.2)  # the others are running or waiting by now
    os._exit(code)


def kill_self() -> None:
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)


def cannot_draw() -> None:
    raise VisualError("TensorGrid", "x", "a grid draws up to 4-D tensors")


@pytest.fixture
def pool():
    running = RenderPool(2)
    yield running
    running.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(("crash", "args", "said"),
                         [(die, (3,), "exit code 3"), (kill_self, (), r"signal 9 \(SIGKILL\)")],
                         ids=["os._exit", "sigkill"])
def test_a_dead_process_fails_its_own_job_and_the_others_finish(pool: RenderPool, crash, args, said) -> None:
    before = [pool.submit(slow_square, n) for n in range(2)]
    dead = pool.submit(crash, *args)
    after = [pool.submit(slow_square, n) for n in range(2, 8)]
    wait([*before, dead, *after], timeout=120)
    with pytest.raises(RenderProcessDied, match=said):
        dead.result()
    assert [f.result() for f in before + after] == [n * n for n in range(8)]
    assert pool.submit(slow_square, 9).result(timeout=60) == 81  # the fresh pool goes on


def test_an_error_comes_back_as_itself(pool: RenderPool) -> None:
    with pytest.raises(VisualError) as caught:
        pool.submit(cannot_draw).result(timeout=60)
    assert (caught.value.visual, caught.value.tensor) == ("TensorGrid", "x")


def test_two_deaths_at_once_fail_both_jobs_and_spare_the_rest(pool: RenderPool) -> None:
    dead = [pool.submit(die, 4), pool.submit(die, 5)]
    rest = [pool.submit(slow_square, n) for n in range(4)]
    wait([*dead, *rest], timeout=120)
    assert [f.result() for f in rest] == [0, 1, 4, 9]
    assert sorted(str(f.exception()).split("exit code ")[1][0] for f in dead) == ["4", "5"]


def test_killing_the_pool_cancels_what_waits() -> None:
    running = RenderPool(1)
    first = running.submit(slow_square, 2)
    waiting = [running.submit(slow_square, n) for n in range(5)]
    time.sleep(0.5)
    running.kill()
    wait([first, *waiting], timeout=60)
    assert all(f.done() for f in [first, *waiting])
    assert any(f.cancelled() for f in waiting)


def test_a_beat_every_dask_worker_died_on_is_told_as_a_dead_render_process(tmp_path) -> None:
    """A daemonic Dask worker renders on its own thread: a visual that kills it kills the worker, Dask retries
    on others and gives up with KilledWorker, which the beat's failure tells as a render process that died."""
    from distributed.scheduler import KilledWorker

    from render.build import BeatReport, LessonReport, LessonWork
    from render.course import ROOT, load_course
    from render.stages import BeatWork
    from render.state import StateFile

    entry = load_course().lessons[0]
    work = LessonWork(entry, LessonReport(entry), tmp_path, StateFile(tmp_path / "state.json"))
    beat = BeatWork(0, "crash", "Crash", "", {}, {}, "01-crash", line=12)
    work.report.beats = [BeatReport("crash")]
    said = work.failure(beat, KilledWorker("render_beat-1", "tcp://127.0.0.1:1", 3))
    assert said == (f"{entry.script.relative_to(ROOT)}:12: beat 'crash': the render "
                    "process died for an unknown reason while rendering this beat, on every Dask worker that tried "
                    "it; the other beats render on in a fresh process")
