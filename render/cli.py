"""The `render` command: a thin click layer over `render.build` and friends.

`render module1` builds a module (or lessons by id or slug); subcommands list, new, status, check, lint.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from render.course import ROOT, load_course
from render.errors import CannotWrite, StudioError, UnknownName, stop_requested
from render.settings import PARTS, QUALITIES, Settings

# logs and CI are not terminals: give them a width the summary table fits in
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


class StudioFailure(click.ClickException):
    """A `StudioError` as the CLI shows it: its message alone, and its exit code."""

    def __init__(self, error: StudioError):
        super().__init__(str(error))
        self.exit_code = error.exit_code  # type: ignore[misc]


class DefaultGroup(click.Group):
    """A group whose unknown first word is handed to the default `build` command (`render module1`), and
    that turns the studio's errors into clean messages: anything else is a bug, shown with its traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, "build")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StudioError as exc:
            raise StudioFailure(exc) from None
        except OSError as exc:
            clean = CannotWrite.from_os_error(exc)
            if clean is None:
                raise
            raise StudioFailure(clean) from None
        except KeyboardInterrupt:
            console.print(stop_message)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BaseException as exc:
            if stop_requested():  # a library turned the Ctrl-C into its own error (asyncio's CancelledError)
                console.print(stop_message)
                sys.exit(130)
            if not isinstance(exc, Exception):
                raise
            import traceback

            traceback.print_exc()
            console.print("[bold red]This is a bug in Torchenstein Studio, not in your lesson:[/] please report it "
                          "with the traceback above.")
            sys.exit(70)


def settings_options(f: Any) -> Any:
    # no defaults here: an option left out comes from the build folder's memory, [tool.studio], or the default
    options = [
        click.option("--quality", "-q", type=click.Choice(list(QUALITIES)), default=None,
                     help="low 480p15 (default), medium 720p30, high 1080p60, 4k 2160p60."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default=None,
                     help="Where the traces compute: auto (default) takes CUDA, then MPS, then the CPU."),
        click.option("--jobs", "-j", type=int, default=None, help="Render processes (default: the cores)."),
        click.option("--voice", default=None,
                     help="piper (natural, default), espeak (fast), a piper .onnx path, or none (silent)."),
        click.option("--build-dir", type=click.Path(path_type=Path), default=ROOT / "build",
                     help="Where outputs go."),
        click.option("--scheduler", envvar="STUDIO_SCHEDULER", default=None,
                     help="Render beats on a Dask cluster: tcp://host:8786, or local:N for N local workers."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_settings(quality: str | None, device: str | None, jobs: int | None, voice: str | None, build_dir: Path,
                  scheduler: str | None = None, remember: bool = False, **extra: Any) -> Settings:
    """Settings from the command line, else what this build folder was last rendered with, else `[tool.studio]`
    in pyproject.toml, else the defaults; says where a value came from when it is not the default. With
    `remember` (a render, serve), this folder keeps them for the next command."""
    import os

    from render.settings import choose
    from render.settings import remember as keep

    build_dir = build_dir.resolve()
    values, notes = choose({"quality": quality, "device": device, "jobs": jobs, "voice": voice}, build_dir)
    for note in notes:
        console.print(f"[dim]settings: {note}[/]")
    if values["quality"] not in QUALITIES:
        raise click.UsageError(f"quality {values['quality']!r} is not one of {', '.join(QUALITIES)}")
    if values["device"] not in ("auto", "cpu", "cuda", "mps"):
        raise click.UsageError(f"device {values['device']!r} is not one of auto, cpu, cuda, mps")
    cores: object = values.get("jobs") or os.cpu_count() or 1
    if not isinstance(cores, int) or cores < 1:
        raise click.UsageError(f"jobs {cores!r} is not a whole number of processes")
    settings = Settings(build_dir=build_dir, quality=str(values["quality"]), device=str(values["device"]),
                        jobs=cores, voice=str(values["voice"]), scheduler=scheduler or None, **extra)
    if remember:
        keep(settings)
    return settings


def select(names: tuple[str, ...]) -> list[Any]:
    course = load_course()
    try:
        return course.select(names)
    except UnknownName as exc:
        raise click.UsageError(str(exc)) from None


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Torchenstein Studio: render course modules into narrated videos, decks and a course page.

    \b
    render module1            build module 1 (also: 1, m1, a lesson id 1.1.2 or slug)
    render course             build every module of the course (also: render all)
    render list               modules and lessons, and which have scripts
    render status module1     what would be redone and why
    render check              the tools and devices this machine has
    """
    import signal

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)  # terminated (kill, a closing session) stops like Ctrl-C


INTERRUPTED = "[yellow]interrupted:[/] finished steps are kept; the next render goes on from there"
SERVE_STOPPED = "[yellow]stopped serving:[/] the build folder keeps every finished step"
stop_message = INTERRUPTED  # what Ctrl-C prints: render serve says it stopped, not that a render broke off
GRACE_SECONDS = 3.0


def interrupted(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: unwind as KeyboardInterrupt (workers are killed, finished steps kept); a step that
    holds on to it (a browser printing a handout, a notebook kernel) gets GRACE_SECONDS, then the process
    kills its children and exits 130. Every output is written under a temporary name, so nothing half
    written takes a good file's place; the next run removes the temporaries."""
    import threading

    from render.errors import request_stop

    request_stop()
    timer = threading.Timer(GRACE_SECONDS, force_exit)
    timer.daemon = True  # a render that unwinds in time exits without waiting for it
    timer.start()
    raise KeyboardInterrupt


def force_exit() -> None:
    import os
    import signal

    console.print(stop_message)
    for pid in children():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(130)


def children() -> list[int]:
    """This process's children: render workers, a trace, ffmpeg, Chromium's driver, a notebook kernel."""
    import multiprocessing
    import os

    found = {p.pid for p in multiprocessing.active_children() if p.pid}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(found)


@main.command()
@click.argument("targets", nargs=-1, required=True)
@settings_options
@click.option("--force", is_flag=True, help="Redo every step.")
@click.option("--only", "only", multiple=True,
              help="Rebuild only some parts: video, decks, notebooks, page (repeat or comma-separate).")
@click.option("--wait", is_flag=True, help="Wait for another render on the same build folder instead of refusing.")
@click.option("--frame-by-frame", is_flag=True,
              help="Encode every held frame as bare Manim does (slower; to compare with the default).")
@click.option("--strict", is_flag=True, help="Fail (exit 1) when lint finds a problem in any beat of these lessons.")
@click.option("--timings", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write each phase's wall and CPU seconds (traces, narration, clips, joins, decks) to this JSON.")
def build(targets: tuple[str, ...], force: bool, only: tuple[str, ...], wait: bool, frame_by_frame: bool,
          strict: bool, timings: Path | None, **options: Any) -> None:
    """Build modules or lessons: traces, narration, beat clips, lesson videos, decks and the course page."""
    from render.build import build as run_build
    from render.progress import RichObserver, summary_table

    parts = tuple(p.strip() for o in only for p in o.split(",") if p.strip()) or PARTS
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise click.UsageError(f"--only takes {', '.join(PARTS)}; got {', '.join(unknown)}")
    entries = select(targets)
    settings = make_settings(force=force, only=parts, wait=wait, still_holds=not frame_by_frame, remember=True,
                             **options)
    observer = RichObserver(console)
    with observer:
        report = run_build(entries, settings, observer=observer)
    if stop_requested():  # a step swallowed the interrupt and finished: still an interrupted render
        raise KeyboardInterrupt
    if timings is not None:
        write_timings(timings, report, settings)
    console.print(summary_table(report, settings))
    for lesson in report.lessons:
        if lesson.status == "failed":
            console.print(f"[bold red]✗ {lesson.entry.id} {lesson.entry.title}[/]\n  {lesson.error}")
    problems = [p for lesson in report.lessons for beat in lesson.beats for p in beat.problems]
    if problems:
        console.print(f"[yellow]lint: {plural(len(problems), 'problem')} in the beats just rendered[/] "
                      f"(render lint {' '.join(targets)} lists every beat's):")
        for problem in problems:
            console.print(f"  [yellow]⚠[/] {problem}", highlight=False)
    if strict and report.ok:
        problems += [p for p in strict_problems(entries, settings) if p not in problems]
        if problems:
            console.print(f"[bold red]--strict: {plural(len(problems), 'lint problem')}[/]")
            sys.exit(1)
    if not report.ok:
        sys.exit(1)


def write_timings(path: Path, report: Any, settings: Settings) -> None:
    """The build's phases as JSON: wall, summed and CPU seconds per phase, the build's wall, the video minutes."""
    import json

    from render.files import write_text
    from render.stages import lesson_dir
    from render.steps import phases

    records = [lesson_dir(settings, lesson.entry) / "lesson.json" for lesson in report.lessons]
    video = sum(float(json.loads(p.read_text()).get("duration", 0.0)) for p in records if p.is_file())
    write_text(path, json.dumps({"wall": round(report.seconds, 3), "video_minutes": round(video / 60, 2),
                                 "phases": phases(report.spent)}, indent=1))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def strict_problems(entries: list[Any], settings: Settings) -> list[str]:
    """Every lint problem of these lessons' beats (read from the records a render just wrote), each printed."""
    from render.build import lint as run_lint

    found: list[str] = []
    for entry_id, beats in run_lint(entries, settings).items():
        if isinstance(beats, str):
            found.append(f"{entry_id}: {beats}")
            continue
        found += [f"{b.where}: {p}" for b in beats for p in b.problems]
    for problem in found:
        console.print(f"  [red]✗[/] {problem}", highlight=False)
    return found


@main.command()
@click.argument("targets", nargs=-1, required=True)
@settings_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (loopback by default).")
@click.option("--port", default=8000, show_default=True, help="Port to serve on.")
@click.option("--draft", is_flag=True, help="Each beat as a still per step with its narration: the fastest loop.")
def serve(targets: tuple[str, ...], host: str, port: int, draft: bool, **options: Any) -> None:
    """Serve the course on http://HOST:PORT at once (the last good build) while it rebuilds, then rebuild what
    each saved edit touched and reload open pages."""
    from render.serve import serve as run_serve

    entries = select(targets)
    global stop_message
    stop_message = SERVE_STOPPED
    run_serve(entries, make_settings(draft=draft, remember=True, **options), host, port, say=console.print)


@main.command("list")
def list_lessons() -> None:
    """Modules and lessons of the course, and whether each has a lesson script yet."""
    course = load_course()
    table = Table(title=course.title)
    for col in ("id", "lesson", "slug", "script"):
        table.add_column(col)
    for module in course.modules:
        table.add_row(f"[bold]{module.name}[/]", f"[bold]{module.title}[/]", "", "")
        for lesson in module.lessons:
            mark = "[green]✓ scripted[/]" if lesson.scripted else "[dim]planned[/]"
            table.add_row(lesson.id, lesson.title, lesson.slug, mark)
    Console().print(table)


@main.command()
@click.argument("lesson")
@click.argument("title", required=False)
@click.option("--add", is_flag=True, help="Add LESSON to scripts/course.toml first, when it is not there yet.")
def new(lesson: str, title: str | None, add: bool) -> None:
    """Scaffold a lesson script for LESSON (an id in scripts/course.toml, or its slug), ready to fill in and
    lint clean. A new id (like 2.6.1) is added to scripts/course.toml with --add, or after you confirm; a
    section its module lacks (2.6) is added with it."""
    from render.scaffold import add_to_manifest, manifest_entry, next_number, scaffold_lesson, section_entry, section_of

    course = load_course()
    try:
        entry = course.lesson(lesson)
    except UnknownName:
        section, exists = section_of(course, lesson)
        if not title:
            raise click.UsageError(f"{lesson} is not in scripts/course.toml yet: give its title too, "
                                   f'render new {lesson} "Its title"') from None
        where = f"section {section}" if exists else f"a new section {section}"
        if not add and not (sys.stdin.isatty() and click.confirm(
                f"{lesson} is not in scripts/course.toml: add it to {where}?", default=True)):
            lines = manifest_entry(lesson, title, next_number(course))
            if not exists:
                lines = section_entry(section, title) + "\n" + lines
            module = section.split(".")[0]
            place = f"after the lessons of section {section}" if exists else f"at the end of module {module}"
            raise click.UsageError(f"{lesson} is not in scripts/course.toml. Run render new {lesson} "
                                   f'"{title}" --add, or add these lines {place}:\n\n{lines}') from None
        if add_to_manifest(course, lesson, title):
            click.echo(f"added section {section} to scripts/course.toml, titled like the lesson: rename it and "
                       "fill in what it teaches (learn) there")
        click.echo(f"added {lesson} to scripts/course.toml ({where}): write its blurb there")
        entry = load_course().lesson(lesson)
    try:
        path = scaffold_lesson(entry, title)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path.relative_to(ROOT)}: preview it with render serve {entry.id} --draft, check it with "
               f"render lint {entry.id}")


@main.command()
@click.argument("targets", nargs=-1, required=True)
@settings_options
def status(targets: tuple[str, ...], **options: Any) -> None:
    """Say what `render TARGETS` would redo, and why."""
    from render.build import status as plan_status

    report = plan_status(select(targets), make_settings(**options))
    for lesson in report.lessons:
        entry = lesson.entry
        stale = [o for o in report.plan.get(entry.id, []) if o.status != "cached"]
        if lesson.status == "planned":
            click.echo(f"{entry.id} {entry.slug}: planned: no script yet")
        elif lesson.status == "failed":
            click.echo(f"{entry.id} {entry.slug}: fails: {lesson.error}")
        elif not stale:
            click.echo(f"{entry.id} {entry.slug}: up to date")
        else:
            click.echo(f"{entry.id} {entry.slug}: {lesson.reason or 'video up to date'}")
            for o in stale:
                click.echo(f"    {o.label} {o.reason}")
    page = [o for o in report.plan.get("page", []) if o.status != "cached"]
    click.echo("course page: " + ("; ".join(f"{o.status} {o.reason}" for o in page) if page else "up to date"))


@main.command()
def check() -> None:
    """Report ffmpeg, Cairo/Pango, LaTeX, the voices, torch and its devices, with install hints."""
    from render.doctor import run_checks

    table = Table(title="render check")
    for col in ("", "what", "found", "to fix"):
        table.add_column(col)
    ok = True
    for item in run_checks():
        ok &= item.ok or not item.required
        mark = "[green]✓[/]" if item.ok else ("[red]✗[/]" if item.required else "[yellow]–[/]")
        table.add_row(mark, item.name, item.found, "" if item.ok else item.hint)
    Console().print(table)
    if not ok:
        sys.exit(1)


@main.command()
@click.argument("targets", nargs=-1, required=True)
@settings_options
@click.option("--wait", is_flag=True, help="Wait for a render or serve rebuild on the same build folder to finish.")
def lint(targets: tuple[str, ...], wait: bool, **options: Any) -> None:
    """Lint every beat: layout, narration cues against visual steps, typed numbers, words the voice misreads.
    Cached per beat like a render (a lint right after a render reads what the render found)."""
    from render.build import lint as run_lint

    failed = False
    modules: dict[str, list[tuple[str, Any]]] = {}
    for entry_id, found in run_lint(select(targets), make_settings(wait=wait, **options)).items():
        if not isinstance(found, str):
            modules.setdefault(entry_id.split(".")[0], []).extend((entry_id, b) for b in found)
        if isinstance(found, str):
            click.echo(f"✗ {entry_id}: {found}")
            failed = True
            continue
        problems = [(b.where or b.name, p) for b in found for p in b.problems]
        warnings = [(b.name, w) for b in found for w in b.warnings]
        sizes = [b.smallest_text for b in found if b.smallest_text is not None]
        smallest = f", smallest value text {min(sizes):.1f} px at 480p" if sizes else ""
        click.echo(f"{'✗' if problems else '✓'} {entry_id}: {plural(len(found), 'beat')}, "
                   f"{plural(len(problems), 'problem')}, {plural(len(warnings), 'warning')}{smallest}")
        for name, text in problems:
            click.echo(f"    {name}: {text}")
        if sizes:
            click.echo("    smallest value text (px at 480p): "
                       + ", ".join(f"{b.name} {b.smallest_text:.1f}" for b in found if b.smallest_text is not None))
        for name, text in warnings:
            click.echo(f"    {name}: warning: {text}")
        failed |= bool(problems)
    for module, beats in modules.items():
        click.echo(frames_summary(module, beats))
    if failed:
        sys.exit(1)


def frames_summary(module: str, beats: list[tuple[str, Any]]) -> str:
    """Per module: its beats, the smallest share of the frame a picture covers (cards aside) and the longest
    wait for a beat's first content."""
    from render.checks import CARDS

    shares = [(b.picture_share, f"{lesson} {b.name}") for lesson, b in beats
              if b.picture_share is not None and b.kind not in CARDS]
    firsts = [(b.first_content, f"{lesson} {b.name}") for lesson, b in beats if b.first_content is not None]
    text = f"module {module}: {plural(len(beats), 'beat')}"
    if shares:
        share, where = min(shares)
        text += f", smallest picture {share:.0%} of the frame ({where})"
    if firsts:
        first, where = max(firsts)
        text += f", first content after at most {first:.2f} s ({where})"
    return text


@main.command()
@click.option("--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or mps")
@click.option("--jobs", type=int, default=2, show_default=True, help="clips rendered at once")
@click.option("--only", multiple=True, help="render only these gallery beats (by name: see --list)")
@click.option("--list", "listing", is_flag=True, help="Name every gallery beat and its visual; render nothing.")
def gallery(quality: str, device: str, jobs: int, only: tuple[str, ...], listing: bool) -> None:
    """One clip per visual of the vocabulary, on build/gallery/index.html with a contact sheet."""
    import difflib

    from render.gallery import build_gallery, load_gallery

    beats = load_gallery().beats
    if listing:
        for beat in beats:
            click.echo(f"{beat.name:<28} {beat.visual.kind}({', '.join(map(repr, beat.visual.tensors))})  {beat.title}")
        return
    names = [b.name for b in beats]
    for name in only:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            raise click.UsageError(f"no gallery beat {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                                   + " (render gallery --list names them all)")
    result = build_gallery(quality=quality, device=device, jobs=jobs, only=list(only) or None)
    problems = [(c.name, p) for c in result.clips for p in c.lint]
    for name, p in problems:
        click.echo(f"    {name}: {p}")
    for error in result.errors:  # a gallery file that failed; the others rendered
        click.echo(f"✗ {error}")
    click.echo(f"{len(result.clips)} clips ({sum(c.rendered for c in result.clips)} rendered), "
               f"{len(problems)} layout problems: {result.index}  {result.contact_sheet}")
    if problems or result.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
