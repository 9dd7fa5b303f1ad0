"""The build: lesson script -> trace -> narration -> beat clips -> lesson video -> decks -> course page.

Each stage's steps are declared in `render.stages` and run by one `Runner` (`render.steps`). A lesson's
whole video chain has a summary step checked first, which needs neither torch nor Manim, so a rerun with
no change reads a few files and stops. `status` walks the same plan with a dry runner.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render import stages
from render.course import ROOT, Course, LessonEntry, load_course
from render.errors import (
    BuildBusy,
    CannotWrite,
    LessonError,
    RenderProcessDied,
    StudioError,
    ToolMissing,
    stop_requested,
)
from render.files import stale_temporaries, write_text
from render.hashing import IMPORTS
from render.lesson import Lesson, line_naming
from render.pool import RenderPool
from render.settings import PARTS, Settings
from render.stages import BeatWork, lesson_dir, state_file
from render.state import StateFile, build_lock
from render.steps import Outcome, Runner, Spent, Step, measured


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass
class BeatReport:
    name: str
    status: str = "pending"  # done | cached | failed
    reason: str = ""
    seconds: float = 0.0
    error: str = ""
    problems: list[str] = field(default_factory=list)  # what lint found in the beat as rendered, with file:line


@dataclass
class LessonReport:
    entry: LessonEntry
    status: str = "pending"  # done | cached | failed | planned
    reason: str = ""
    error: str = ""
    beats: list[BeatReport] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)  # stage -> done/cached/skipped/failed
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        """Wall time from this lesson's first step to its last."""
        return max(0.0, self.ended - self.started) if self.started else 0.0

    def mark(self) -> None:
        now = time.perf_counter()
        self.started = self.started or now
        self.ended = now

    def count(self, status: str) -> int:
        return sum(1 for b in self.beats if b.status == status)


@dataclass
class BuildReport:
    lessons: list[LessonReport] = field(default_factory=list)
    page: str = "skipped"
    seconds: float = 0.0
    plan: dict[str, list[Outcome]] = field(default_factory=dict)  # lesson id (or "page") -> its steps
    spent: list[Spent] = field(default_factory=list)  # what each step that ran took (render build --timings)

    @property
    def ok(self) -> bool:
        return all(lesson.status != "failed" for lesson in self.lessons) and not self.page.startswith("failed")


class Observer:
    """Progress callbacks; the CLI passes a Rich implementation, tests the default no-op."""

    def planned(self, lesson: LessonReport, beats_to_render: int) -> None: ...

    def beat_done(self, lesson: LessonReport, beat: BeatReport) -> None: ...

    def page_ready(self, lesson: LessonReport) -> None:
        """The lesson's record and page are written; its video is about to be joined."""

    def lesson_done(self, lesson: LessonReport) -> None: ...


@dataclass
class LessonWork:
    """A lesson during a run: its report, folder, state, and once planned its script, trace and beats."""

    entry: LessonEntry
    report: LessonReport
    out: Path
    state: StateFile
    lesson: Lesson | None = None
    trace: dict[str, Any] = field(default_factory=dict)
    beats: list[BeatWork] = field(default_factory=list)
    chain_inputs: dict[str, Any] | None = None  # the video chain's inputs as read when the run began

    @property
    def title(self) -> str:
        return f"{self.entry.id}  {self.entry.title}"

    def failure(self, beat: BeatWork, exc: BaseException) -> str:
        if isinstance(exc, OSError) and (clean := CannotWrite.from_os_error(exc)) is not None:
            exc = clean
        if type(exc).__name__ == "KilledWorker":  # a daemonic Dask worker renders on its own thread: it died
            exc = RenderProcessDied(None, "this beat, on every Dask worker that tried it")
        message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        return f"{self.where(beat)}: {message}"

    def where(self, beat: BeatWork) -> str:
        """The beat's place in its script, as messages name it: `scripts/module1/x.py:12: beat 'name'`."""
        return f"{self.entry.script.relative_to(ROOT)}:{beat.line}: beat {beat.name!r}"


class Build:
    """One run over some lessons with explicit settings, an executor for beat work and one runner."""

    def __init__(self, settings: Settings, executor: Executor | None = None, observer: Observer | None = None,
                 course: Course | None = None, dry: bool = False):
        self.settings = settings
        self.runner = Runner(force=settings.force, dry=dry)
        self.observer = observer or Observer()
        self.course = course or load_course()
        self._executor = executor
        self._own_executor = executor is None
        self._close_cluster: Callable[[], None] | None = None
        self._device: str | None = None
        self._voice: Any = None
        IMPORTS.open(settings.build_dir / ".state" / "imports.json")

    # -- the stages ----------------------------------------------------------------------------------
    def run(self, entries: list[LessonEntry]) -> BuildReport:
        """Open each lesson, then videos, decks and the course page, as `settings.only` says."""
        started = time.perf_counter()
        report = BuildReport()
        try:
            works = [self.open(entry, report) for entry in entries]
            if "video" in self.settings.only:
                self.videos([w for w in works if w.report.status == "pending"], report)
            if "decks" in self.settings.only:
                for work in works:
                    self.decks(work, report)
            if "notebooks" in self.settings.only:
                for work in works:
                    self.notebook(work, report)
            if "page" in self.settings.only:
                for work in works:
                    self.lesson_page(work, report)
                report.page = self.page(report)
            for work in works:
                if work.report.status == "pending":
                    work.report.status = "done"
        except KeyboardInterrupt:
            self.stop_workers()  # finished beats are recorded already; the rest is redone next time
            raise
        finally:
            self.close()
        report.seconds = time.perf_counter() - started
        report.spent = list(self.runner.spent)
        return report

    def open(self, entry: LessonEntry, report: BuildReport) -> LessonWork:
        lesson_report = LessonReport(entry)
        report.lessons.append(lesson_report)
        report.plan[entry.id] = []
        work = LessonWork(entry, lesson_report, lesson_dir(self.settings, entry), state_file(self.settings, entry))
        if not entry.scripted:
            lesson_report.status = "planned"
            lesson_report.reason = f"no script yet ({entry.script.relative_to(ROOT)})"
        return work

    def videos(self, works: list[LessonWork], report: BuildReport) -> None:
        """The video chain of every lesson whose summary step is stale; beats of all lessons share one pool."""
        planned: list[LessonWork] = []
        for work in works:
            step = stages.chain_step(work.entry, self.settings, work.state)
            work.chain_inputs = step.inputs
            chain = self.outcome(report, work, step)
            if chain.status == "cached":
                work.report.status, work.report.steps["video"] = "cached", "cached"
                self.observer.lesson_done(work.report)
                continue
            work.report.reason = chain.reason
            if not planned and not self.runner.dry:
                self.warm_workers()
            try:
                self.plan(work, report)
                planned.append(work)
            except StudioError as exc:
                self.fail(work, str(exc))
        if self.runner.dry:
            for work in planned:
                self.dry_beats(work, report)
        else:
            self.run_beats(planned, report)

    def plan(self, work: LessonWork, report: BuildReport) -> None:
        """Load the script, trace it (or reuse its trace), and render each beat's narration text."""
        from render.isolate import trace_isolated
        from render.templating import narration_problem, render_narration
        from scenes.trace import BeatTrace

        work.report.mark()
        step = stages.trace_step(work.entry, self.device, self.settings.limits, work.state, work.out,
                                 self.settings.warm_trace)
        outcome = self.outcome(report, work, step, lambda: self.runner.run(step))
        if outcome.status == "stale":  # a dry run traces in memory and writes nothing
            work.trace = trace_isolated(work.entry.script, self.device, self.settings.limits)
        else:
            work.trace = stages.read_trace(work.out)
        lesson = work.lesson = Lesson.described(work.trace["lesson"], work.entry.script)
        for i, (beat, traced) in enumerate(zip(lesson.beats, work.trace["beats"], strict=True)):
            view = BeatTrace.from_json(traced, work.trace["device"], work.trace["torch"])
            try:
                text = render_narration(beat.narration, view)
            except Exception as exc:
                message, name = narration_problem(exc, view)
                line = line_naming(work.entry.script, beat.line, name or "narration")
                raise LessonError(work.entry.script.relative_to(ROOT), line, message, beat.name) from None
            work.beats.append(BeatWork(
                index=i, name=beat.name, title=beat.title, text=text, visual=beat.visual.to_json(),
                trace={"beat": traced, "device": work.trace["device"], "torch": work.trace["torch"]},
                stem=f"{i + 1:02d}-{beat.name}", line=beat.line))
        work.report.beats = [BeatReport(b.name) for b in work.beats]

    def decks(self, work: LessonWork, report: BuildReport) -> None:
        """HTML and PowerPoint decks, then the PDF handout printed from the HTML deck."""
        if work.report.status in ("failed", "planned") or not has_module("render.decks"):
            return
        if not (work.out / "lesson.json").is_file() and not self.runner.dry:
            work.report.steps["decks"] = "skipped"
            return
        self.lesson_output(work, report, "decks", "video", lambda: stages.decks_step(work.entry, self.settings,
                                                                                      work.state))
        if has_module("render.handout"):
            self.lesson_output(work, report, "handout", "decks",
                               lambda: stages.handout_step(work.entry, self.settings, work.state))

    def lesson_page(self, work: LessonWork, report: BuildReport) -> None:
        """The lesson's own page, once its record exists: first before the video is joined (so `render serve`
        can show it at once), again at the end with links to what was built since (cached if nothing was)."""
        if work.report.status in ("failed", "planned") or not (work.out / "lesson.json").is_file():
            return
        self.lesson_output(work, report, "lesson page", "decks",
                           lambda: stages.lesson_page_step(work.entry, self.settings, work.state))

    def lesson_output(self, work: LessonWork, report: BuildReport, part: str, after: str,
                      declare: Callable[[], Step]) -> None:
        """Run one of a lesson's output steps (decks, handout, pages); a failure fails the lesson, a missing
        optional tool (Chromium for the handout) skips the step; a dry run waits on a stale `after` step."""
        if work.report.status == "failed":
            return
        if self.runner.dry and work.report.steps.get(after) not in (None, "cached"):
            report.plan[work.entry.id].append(self.runner.waiting(part, after))
            work.report.steps[part] = "waiting"
            return
        try:
            step = declare()
            outcome = self.outcome(report, work, step, lambda: self.runner.run(step))
        except ToolMissing:
            work.report.steps[part] = "skipped"
            return
        except Exception as exc:
            if stop_requested():
                raise KeyboardInterrupt from exc
            work.report.steps[part] = "failed"
            message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
            self.fail(work, f"{work.entry.script.relative_to(ROOT)}: {part}: {message}")
            return
        if outcome.ran:
            work.state.save()
            if work.report.status == "cached":
                work.report.status = "done"
        work.report.steps[part] = outcome.status

    def notebook(self, work: LessonWork, report: BuildReport) -> None:
        """The lesson's notebook, run by a kernel, from its trace (traced here when only notebooks are built);
        a failing cell fails the lesson, naming the cell."""
        if work.report.status in ("failed", "planned") or not has_module("render.notebook"):
            return
        script = work.entry.script.relative_to(ROOT)
        try:
            if not work.trace and (work.state.get("trace") is None or not (work.out / "trace.json").is_file()):
                trace = stages.trace_step(work.entry, self.device, self.settings.limits, work.state, work.out)
                if self.outcome(report, work, trace, lambda: self.runner.run(trace)).status == "stale":
                    report.plan[work.entry.id].append(self.runner.waiting("notebook", "trace"))
                    return
            step = stages.notebook_step(work.entry, self.settings, work.state)
            outcome = self.outcome(report, work, step, lambda: self.runner.run(step))
        except Exception as exc:
            if stop_requested():
                raise KeyboardInterrupt from exc
            work.report.steps["notebook"] = "failed"
            message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
            self.fail(work, f"{script}: notebook: {message}")
            return
        if outcome.ran:
            work.state.save()
        work.report.steps["notebook"] = "cached" if outcome.status == "cached" else outcome.status
        if outcome.ran and work.report.status == "cached":
            work.report.status = "done"

    def page(self, report: BuildReport) -> str:
        """The course page over every lesson built so far."""
        if not has_module("render.page"):
            return "skipped"
        pending = [lesson.entry.id for lesson in report.lessons
                   if any(lesson.steps.get(s) in ("stale", "waiting") for s in ("video", "decks", "notebook"))]
        try:
            step = stages.page_step(self.course, self.settings)
            if self.runner.dry and pending and not self.runner.why(step):
                report.plan["page"] = [self.runner.waiting("page", f"lessons {', '.join(pending)}")]
                return "waiting"
            outcome = self.runner.run(step)
        except StudioError as exc:
            return f"failed: {exc}"
        except Exception as exc:
            return f"failed: {type(exc).__name__}: {exc}"
        report.plan["page"] = [outcome]
        if outcome.ran:
            step.state.save()
        return outcome.status

    # -- beats ---------------------------------------------------------------------------------------
    def dry_beats(self, work: LessonWork, report: BuildReport) -> None:
        """`render status`: each beat's narration and clip decided, nothing run."""
        stale = False
        for beat in work.beats:
            if self.narrating:
                step = self.narration_step(work, beat)
                if self.outcome(report, work, step).status != "cached":
                    report.plan[work.entry.id].append(self.runner.waiting(f"{beat.stem}: clip", "its narration"))
                    stale = True
                    continue
                stages.use_timing(beat, work.out)
                beat.narration_key = step.key
            stale |= self.outcome(report, work, self.clip_step(work, beat)).status != "cached"
        if stale:
            report.plan[work.entry.id].append(self.runner.waiting("video", "beat clips"))
            work.report.steps["video"] = "waiting"
            return
        self.outcome(report, work, self.record_step(work))
        step = self.video_step(work)
        work.report.steps["video"] = self.outcome(report, work, step).status

    def run_beats(self, works: list[LessonWork], report: BuildReport) -> None:
        """Narration then clip for every beat of every lesson, as one pool of work; each lesson's video is
        joined on a thread of this process while the pool goes on with the other lessons' beats."""
        assembler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assemble")
        joins: list[Future[None]] = []
        try:
            self.feed_beats(works, report, lambda work: joins.append(assembler.submit(self.finish, work, report)))
        finally:
            assembler.shutdown(wait=True)
        for join in joins:
            join.result()

    def feed_beats(self, works: list[LessonWork], report: BuildReport,
                   finished: Callable[[LessonWork], None]) -> None:
        """Submit each beat's next pool job (narration, then clip) until every beat is done or failed."""
        pending: dict[Future[Any], tuple[str, LessonWork, BeatWork, Step]] = {}
        remaining = {work.entry.id: len(work.beats) for work in works}

        def advance(work: LessonWork, beat: BeatWork, after: tuple[str, Step, Any] | None) -> None:
            try:
                job = self.next_job(work, beat, report, after)
            except Exception as exc:
                self.beat_failed(work, beat, exc)
                job = None
            if job is not None:
                kind, step, call = job
                pending[self.executor.submit(measured, *call)] = (kind, work, beat, step)
                return
            remaining[work.entry.id] -= 1
            if remaining[work.entry.id] == 0:
                finished(work)

        for work in works:
            for beat in sorted(work.beats, key=lambda b: -len(b.text)):  # the longest beats go first
                advance(work, beat, None)
            self.observer.planned(work.report, sum(1 for b in work.report.beats if b.status == "pending"))
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                kind, work, beat, step = pending.pop(future)
                try:
                    result, seconds, cpu = future.result()
                    self.runner.took(step.name, seconds, cpu)
                except Exception as exc:
                    self.beat_failed(work, beat, exc)
                    remaining[work.entry.id] -= 1
                    if remaining[work.entry.id] == 0:
                        finished(work)
                    continue
                advance(work, beat, (kind, step, result))

    def next_job(self, work: LessonWork, beat: BeatWork, report: BuildReport,
                 after: tuple[str, Step, Any] | None) -> tuple[str, Step, tuple[Any, ...]] | None:
        """Record what just came back for a beat, and return its next pool job, or None when it is done."""
        work.report.mark()
        kind = after[0] if after else None
        if kind == "clip":
            assert after is not None
            self.clip_done(work, beat, after[1], after[2], report)
            return None
        if kind == "narrate":
            assert after is not None
            stages.write_narration(work.out, beat, after[2])
            self.runner.finish(after[1], reason="narration")
            work.state.save()
        if kind is None and self.narrating:
            step = self.narration_step(work, beat)
            if self.outcome(report, work, step).status != "cached":
                work.report.beats[beat.index].reason = f"narration {self.runner.why(step)}"
                return "narrate", step, stages.narration_job(beat, self.voice, work.entry.slug, self.settings)
        if self.narrating:
            stages.use_timing(beat, work.out)
            beat.narration_key = self.narration_step(work, beat).key
        step = self.clip_step(work, beat)
        outcome = self.outcome(report, work, step)
        beat_report = work.report.beats[beat.index]
        if outcome.status == "cached":
            beat.duration = float(outcome.facts.get("duration", 0.0))
            beat_report.status = "done" if kind == "narrate" else "cached"
            self.observer.beat_done(work.report, beat_report)
            return None
        beat_report.reason = beat_report.reason or f"clip {outcome.reason}"
        from render.clips import render_beat

        return "clip", step, (render_beat, self.clip_job(work, beat, step))

    def clip_job(self, work: LessonWork, beat: BeatWork, step: Step) -> Any:
        """The beat's render as a self-contained job: trace slice, visual, timing, audio bytes, code digest."""
        from render.clips import BeatJob, ClipJob, studio_digest

        job = ClipJob(
            key=step.key, output=f"beats/{beat.stem}.mp4", title=beat.title, lesson=work.title, visual=beat.visual,
            trace=beat.trace, timing=beat.timing, quality=self.settings.quality, work_dir="",
            draft=self.settings.draft, still_holds=self.settings.still_holds,
            text_cache=str(self.settings.build_dir / ".cache" / "texts"),
        )
        write_text(work.out / "beats" / f"{beat.stem}.job.json", json.dumps(job.__dict__, indent=1))
        audio = beat.wav.read_bytes() if beat.wav is not None else None
        return BeatJob(job, audio, studio_digest(), float((beat.timing or {}).get("duration", 0.0)))

    def clip_done(self, work: LessonWork, beat: BeatWork, step: Step, output: Any, report: BuildReport) -> None:
        """Write the clip's files and what the render found (values shown, lint, steps); record the clip and
        lint steps."""
        from render.files import write_bytes

        result = output.result
        beats = work.out / "beats"
        write_bytes(beats / f"{beat.stem}.mp4", output.mp4)
        write_bytes(beats / f"{beat.stem}.png", output.png)
        if output.f32 is not None:
            write_bytes(beats / f"{beat.stem}.f32", output.f32)
        beat.duration = result.duration
        write_text(work.out / "beats" / f"{beat.stem}.shown.json",
                   json.dumps({"shown": result.shown, "lint": result.lint, "steps": result.steps}, indent=1))
        self.runner.finish(step, {"duration": result.duration, "steps": result.steps})
        lint = stages.lint_step(beat, work.title, work.out, work.state)
        if self.runner.why(lint):
            stages.write_lint(work.out, beat, {"problems": result.lint, "steps": result.steps,
                                               "smallest_text": result.smallest_text, "shown": result.shown,
                                               **result.frames})
            self.runner.finish(lint)
        beat_report = work.report.beats[beat.index]
        beat_report.status, beat_report.seconds = "done", result.seconds
        self.observer.beat_done(work.report, beat_report)
        work.state.save()

    def beat_failed(self, work: LessonWork, beat: BeatWork, exc: BaseException) -> None:
        beat_report = work.report.beats[beat.index]
        beat_report.status = "failed"
        beat_report.error = work.failure(beat, exc)
        self.observer.beat_done(work.report, beat_report)

    # -- the lesson video ------------------------------------------------------------------------------
    def finish(self, work: LessonWork, report: BuildReport) -> None:
        """Once every beat is done: the lesson record (lesson.json, poster, subtitles) and the lesson page, so
        a page can show the new beats at once; then the clips joined into the lesson video; then the chain."""
        self.lint_rendered(work)
        failed = [b for b in work.report.beats if b.status == "failed"]
        if failed:
            work.report.steps["video"] = "skipped"
            work.state.save()
            self.fail(work, "\n".join(b.error for b in failed))
            return
        try:
            self.outcome(report, work, (record := self.record_step(work)), lambda: self.runner.run(record))
            work.state.save()
            if "page" in self.settings.only:
                self.lesson_page(work, report)
                if work.report.status == "failed":
                    return
                self.observer.page_ready(work.report)
            step = self.video_step(work)
            outcome = self.outcome(report, work, step, lambda: self.runner.run(step))
            work.report.steps["video"] = outcome.status
            self.runner.finish(stages.chain_step(work.entry, self.settings, work.state, [b.name for b in work.beats],
                                                 work.chain_inputs))
        except Exception as exc:
            work.state.save()
            message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
            self.fail(work, f"{work.entry.script.relative_to(ROOT)}: lesson video: {message}")
            return
        work.state.save()
        work.report.mark()
        self.observer.lesson_done(work.report)

    def lint_rendered(self, work: LessonWork) -> None:
        """Lint the lesson's beats from their records (a render records each beat's dry-run facts with its clip):
        the problems of beats this run rendered are kept on their reports with the script's file and line, for
        the summary, serve's console and --strict; every beat's go to the lesson folder's lint.json, which
        `render serve` marks on the lesson page."""
        if work.lesson is None or self.runner.dry:
            return
        found: dict[str, list[str]] = {}
        for beat in work.beats:
            try:
                problems = [f"{work.where(beat)}: {p}" for p in self.findings(work, beat).problems]
            except (OSError, ValueError, KeyError):  # no lint record yet (the beat failed): nothing to say
                continue
            found[beat.name] = problems
            if work.report.beats[beat.index].status == "done":
                work.report.beats[beat.index].problems = problems
        write_text(work.out / "lint.json", json.dumps(found, indent=1))

    def findings(self, work: LessonWork, beat: BeatWork, found: dict[str, Any] | None = None) -> Any:
        """What lint finds in a beat: its dry run's facts (`found`, else its lint record) and its narration."""
        from render.checks import BeatLint, code_findings, picture_findings, script_helpers, text_findings

        assert work.lesson is not None
        source = work.lesson.beats[beat.index]
        if found is None:
            found = json.loads((work.out / "beats" / f"{beat.stem}.lint.json").read_text())
        problems, warnings = text_findings(source, beat.text, beat.trace["beat"])
        more, warned = picture_findings(source, beat.text, beat.trace["beat"], found)
        if work.lesson.script is not None:
            more += code_findings(source, beat.trace["beat"], script_helpers(work.lesson.script))
        return BeatLint(beat.name, problems + more, warnings + warned, found.get("smallest_text"), work.where(beat),
                        found.get("picture_share"), found.get("first_content"), source.visual.kind)

    def record_step(self, work: LessonWork) -> Step:
        """lesson.json, the poster and the subtitles: what pages and decks read, without the joined video."""
        assert work.lesson is not None
        narrated = self.narrated(work)
        inputs = stages.record_inputs(work.entry, work.beats, work.lesson, work.state, self.settings.draft)
        return Step("record", inputs, stages.record_outputs(narrated), work.out, work.state,
                    lambda: self.write_record(work, narrated), label="lesson record")

    def video_step(self, work: LessonWork) -> Step:
        assert work.lesson is not None
        narrated = self.narrated(work)
        inputs = stages.video_inputs(work.beats, work.state, self.preview)
        return Step("video", inputs, ["lesson.mp4"], work.out, work.state, lambda: self.assemble(work, narrated),
                    label="video")

    @staticmethod
    def narrated(work: LessonWork) -> bool:
        return all(b.wav is not None for b in work.beats)

    def durations(self, work: LessonWork) -> list[float]:
        from render import video

        for beat in work.beats:
            beat.duration = beat.duration or video.video_duration(work.out / "beats" / f"{beat.stem}.mp4")
        return [b.duration for b in work.beats]

    def write_record(self, work: LessonWork, narrated: bool) -> dict[str, Any]:
        """The poster (the second beat's last frame), lesson.json, when narrated the subtitles, and the upload-ready
        description (with chapters) and thumbnail (the title card's frame)."""
        from render import publish
        from render.files import write_bytes
        from render.subtitles import write_subtitles

        assert work.lesson is not None
        durations = self.durations(work)
        if narrated:
            cues, start = [], 0.0
            for beat, duration in zip(work.beats, durations, strict=True):
                cues += [(start + s["start"], start + s["end"], s["text"]) for s in beat.segments]
                start += duration
            write_subtitles(cues, work.out / "lesson.vtt", work.out / "lesson.srt", end=sum(durations))
        key_beat = work.beats[1] if len(work.beats) > 1 else work.beats[0]  # each clip's last frame is beside it
        write_bytes(work.out / "poster.png", (work.out / "beats" / f"{key_beat.stem}.png").read_bytes())
        record = stages.lesson_record(work.entry, work.lesson, work.trace, work.beats, narrated, self.settings.draft)
        record.write(work.out / "lesson.json")
        publish.write_description(record, work.out / "description.txt")
        publish.write_thumbnail(work.out / "beats" / f"{work.beats[0].stem}.png", work.out / "thumbnail.png")
        return {}

    def assemble(self, work: LessonWork, narrated: bool) -> dict[str, Any]:
        """Join the clips into lesson.mp4, with chapters and, when narrated, the lesson's audio."""
        from render import video
        from render.audio import lesson_audio
        from render.files import temp_name

        clips = [work.out / "beats" / f"{b.stem}.mp4" for b in work.beats]
        durations = self.durations(work)
        audio = None
        if narrated:
            audio = temp_name(work.out / "lesson-audio.m4a")
            lesson_audio([work.out / "beats" / f"{b.stem}.f32" for b in work.beats], durations, audio,
                         preview=self.preview)
        try:
            video.join_clips(clips, [b.title for b in work.beats], durations, work.out / "lesson.mp4", audio)
        finally:
            if audio is not None:
                audio.unlink(missing_ok=True)
        return {}

    # -- helpers -------------------------------------------------------------------------------------
    def outcome(self, report: BuildReport, work: LessonWork, step: Step,
                run: Callable[[], Outcome] | None = None) -> Outcome:
        """Decide (or `run`) a step of `work`'s lesson and keep its outcome in the plan."""
        outcome = run() if run else self.runner.start(step)
        report.plan[work.entry.id].append(outcome)
        return outcome

    def narration_step(self, work: LessonWork, beat: BeatWork) -> Step:
        step = stages.narration_step(beat, self.voice, work.entry.slug, work.out, work.state)
        step.label = f"{beat.stem}: narration"
        return step

    def clip_step(self, work: LessonWork, beat: BeatWork) -> Step:
        step = stages.clip_step(beat, work.title, self.settings, work.out, work.state)
        step.label = f"{beat.stem}: clip"
        return step

    def fail(self, work: LessonWork, error: str) -> None:
        work.report.status = "failed"
        work.report.error = error
        work.report.mark()
        self.observer.lesson_done(work.report)

    @property
    def executor(self) -> Executor:
        if self._executor is None and self.settings.scheduler:
            from render.cluster import dask_executor

            self._executor, self._close_cluster = dask_executor(self.settings.scheduler)
        if self._executor is None:
            self._executor = RenderPool(self.settings.jobs)
        return self._executor

    def warm_workers(self) -> None:
        """Start the render processes (each imports Manim) while this one imports torch and traces."""
        if isinstance(self.executor, RenderPool):
            from render.clips import warm_worker

            for _ in range(max(1, self.settings.jobs)):
                self.executor.submit(warm_worker)

    def stop_workers(self) -> None:
        """Kill the pool's processes now rather than wait for the beats they are rendering."""
        if isinstance(self._executor, RenderPool):
            self._executor.kill()

    def close(self) -> None:
        if not self.runner.dry:
            IMPORTS.save()
        if self._own_executor and self._executor is not None:
            if isinstance(self._executor, RenderPool):
                self._executor.shutdown(cancel_futures=True)
            else:  # a cluster's executor: closing its client next cancels what is left
                self._executor.shutdown(wait=False)
            self._executor = None
        if self._close_cluster is not None:
            self._close_cluster()
            self._close_cluster = None

    @property
    def device(self) -> str:
        """The trace's device option: a named one is checked here (importing torch); `auto` is resolved by
        the trace's own process, so deciding what to rebuild never imports torch."""
        if self._device is None:
            from render.trace import resolve_device

            name = self.settings.device
            self._device = name if name == "auto" else resolve_device(name)
        return self._device

    @property
    def voice(self) -> Any:
        if self._voice is None and self.narrating:
            from render.narrate import check_voice, voice_from_option

            self._voice = voice_from_option(self.settings.voice)
            check_voice(self._voice)
        return self._voice

    @property
    def preview(self) -> bool:
        """Lesson audio joined quickly (render serve, drafts): the beats' own loudness, the fast AAC coder."""
        return self.settings.preview or self.settings.draft

    @property
    def narrating(self) -> bool:
        return self.settings.voice != "none" and has_module("render.narrate")


class Lint(Build):
    """`render lint`: each beat's lint step, read from its record when current (a render records it too),
    else dry-run in the worker pool; then the checks on narration alone, in this process."""

    def lint(self, entries: list[LessonEntry]) -> dict[str, list[Any] | str]:
        from render.checks import BeatLint

        report = BuildReport()
        found: dict[str, list[BeatLint] | str] = {}
        works = [w for w in (self.open(e, report) for e in entries) if w.report.status != "planned"]
        jobs: dict[Future[Any], tuple[LessonWork, BeatWork, Step]] = {}
        try:
            for work in works:
                try:
                    self.plan(work, report)
                except StudioError as exc:
                    found[work.entry.id] = str(exc)
                    continue
                for beat in work.beats:
                    self.lint_beat(work, beat, jobs)
            failed: dict[tuple[str, str], str] = {}  # (lesson id, beat) -> why its dry run failed
            fresh: dict[tuple[str, str], dict[str, Any]] = {}  # (lesson id, beat) -> what its dry run found
            for future in list(jobs):
                work, beat, step = jobs.pop(future)
                try:
                    result = future.result()
                except StudioError as exc:  # a visual that cannot draw its data, a render process that died
                    failed[work.entry.id, beat.name] = str(exc)
                    continue
                fresh[work.entry.id, beat.name] = result
                if not self.runner.dry:  # a read-only lint (another render holds the folder) writes nothing
                    stages.write_lint(work.out, beat, result)
                    self.runner.finish(step)
                    work.state.save()
            for work in works:
                found.setdefault(work.entry.id, [
                    BeatLint(b.name, [failed[work.entry.id, b.name]], where=work.where(b))
                    if (work.entry.id, b.name) in failed
                    else self.findings(work, b, fresh.get((work.entry.id, b.name))) for b in work.beats])
        finally:
            self.close()
        return found  # type: ignore[return-value]

    def lint_beat(self, work: LessonWork, beat: BeatWork, jobs: dict[Future[Any], Any]) -> None:
        from render.checks import dry_run_job

        step = stages.lint_step(beat, work.title, work.out, work.state)
        if self.runner.start(step).status == "cached":
            return
        job = {"title": beat.title, "lesson": work.title, "visual": beat.visual, "trace": beat.trace, "timing": None}
        jobs[self.executor.submit(dry_run_job, job)] = (work, beat, step)

def lint(entries: list[LessonEntry], settings: Settings, executor: Executor | None = None) -> dict[str, Any]:
    """Lint lessons as steps of the build (cached per beat); lesson id -> [BeatLint] or its error. While another
    render or a serve rebuild holds the build folder, lint reads what is recorded and dry-runs the rest
    without writing anything (unless `settings.wait`: then it waits for the folder)."""
    try:
        with build_lock(settings.build_dir, wait=settings.wait):
            return Lint(settings, executor).lint(entries)
    except BuildBusy:
        return Lint(settings, executor, dry=True).lint(entries)


def video_code_digest() -> dict[str, str]:
    """Every file of the picture-making code (the gallery keys its clips on it)."""
    from render.hashing import tree_digest

    return tree_digest([ROOT / "render", ROOT / "scenes"])


def clean_leftovers(build_dir: Path) -> list[Path]:
    """Remove temporary files a killed render left in the build folder (never a live render's)."""
    removed = []
    for path in stale_temporaries(build_dir):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def build(entries: list[LessonEntry], settings: Settings, executor: Executor | None = None,
          observer: Observer | None = None) -> BuildReport:
    """Build the given lessons with `settings`; the plain entry point the CLI and tests call."""
    if "video" in settings.only:
        from render.video import ffmpeg_exe

        ffmpeg_exe(), ffmpeg_exe("ffprobe")  # a missing tool is named with its install hint before any work
    with build_lock(settings.build_dir, wait=settings.wait):
        clean_leftovers(settings.build_dir)
        return Build(settings, executor, observer).run(entries)


def status(entries: list[LessonEntry], settings: Settings) -> BuildReport:
    """The same plan as `build`, decided and explained but not run: what would be redone, and why."""
    return Build(settings, dry=True).run(entries)


__all__ = ["PARTS", "BuildReport", "LessonReport", "build", "lint", "status"]
