"""Rich progress for a build (lessons, beats, done/cached/failed) and the closing summary table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from render.build import BeatReport, BuildReport, LessonReport, Observer
from render.settings import Settings

STYLE = {"done": "green", "cached": "cyan", "failed": "bold red", "planned": "dim", "pending": "yellow",
         "skipped": "dim"}


class RichObserver(Observer):
    """One bar for the beats being rendered, a line per finished lesson."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
        self.task = self.progress.add_task("beats", total=0)

    def __enter__(self) -> RichObserver:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def planned(self, lesson: LessonReport, beats_to_render: int) -> None:
        task = self.progress.tasks[0]
        self.progress.update(self.task, total=(task.total or 0) + beats_to_render)

    def beat_done(self, lesson: LessonReport, beat: BeatReport) -> None:
        if beat.status in ("done", "failed"):
            self.progress.advance(self.task)
        description = f"{lesson.entry.id} {beat.name} [{STYLE[beat.status]}]{beat.status}"
        self.progress.update(self.task, description=description)
        if beat.status == "failed":
            self.console.print(f"[bold red]✗[/] {beat.error}")

    def lesson_done(self, lesson: LessonReport) -> None:
        style = STYLE.get(lesson.status, "")
        status = lesson.status if lesson.status != "pending" else "video ready"
        self.console.print(f"[{style}]●[/] {lesson.entry.id} {lesson.entry.title}: {status}")


def summary_table(report: BuildReport, settings: Settings) -> Table:
    w, h, fps = settings.resolution
    table = Table(title=f"render summary ({settings.quality}: {h}p{fps}, {report.seconds:.1f} s)")
    for col in ("lesson", "status", "beats done", "cached", "failed", "video", "decks", "time"):
        table.add_column(col)
    for lesson in report.lessons:
        style = STYLE.get(lesson.status, "")
        table.add_row(
            f"{lesson.entry.id} {lesson.entry.slug}", f"[{style}]{lesson.status}[/]",
            str(lesson.count("done")), str(lesson.count("cached")), str(lesson.count("failed")),
            lesson.steps.get("video", "-"), lesson.steps.get("decks", "-"), f"{lesson.seconds:.1f} s",
        )
    table.caption = f"course page: {report.page}; outputs in {settings.build_dir}"
    return table
