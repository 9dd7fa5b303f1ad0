"""`render serve`: serve the course over HTTP, rebuild it and what each edit touched, and reload open pages.

The server is the standard library's threading HTTP server over the build folder. It listens first and
serves the last good build at once while the first rebuild runs behind it: a page with no build yet is a
short "being built" page. Every HTML page it serves gets a small script that listens on a
server-sent-events channel (`/__studio/events`): while a rebuild runs it shows a "rebuilding" note; after
it, the page reloads (opening the lesson page on the beat that changed); while a script is broken it shows
the error, with its file and line, in an overlay; the last good outputs stay in place. The watcher is
`watchfiles`, not a polling loop.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from render.build import Observer
from render.course import ROOT, LessonEntry
from render.pool import RenderPool
from render.settings import Settings

WATCHED = ("scripts", "scenes", "templates", "assets")
NOTE_CSS = ("position:fixed;top:8px;right:8px;z-index:99999;margin:0;padding:4px 10px;border-radius:6px;"
            "background:#3a2f0b;color:#ffd479;font:13px/1.4 monospace")
BUILDING = "rebuilding… (this is the last good build; it reloads when the new pages are ready)"
LIVE_JS = """
(() => {
  const events = new EventSource("/__studio/events");
  const tag = document.currentScript;  // its data-version: the version the page was served at
  let seen = tag && tag.dataset.version ? Number(tag.dataset.version) : null;
  function overlay(text) {
    let box = document.getElementById("studio-error");
    if (!text) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("pre");
      box.id = "studio-error";
      box.style.cssText = "position:fixed;inset:auto 12px 12px 12px;max-height:60vh;overflow:auto;z-index:99999;" +
        "background:#2a0d12;color:#ffd7dc;border:2px solid #ff5c7a;border-radius:8px;padding:14px;" +
        "font:14px/1.4 monospace;white-space:pre-wrap;margin:0";
      document.body.appendChild(box);
    }
    box.textContent = text;
  }
  function joining(text) {
    const video = document.querySelector("video.lesson");
    let note = document.getElementById("studio-joining");
    if (!text || !video) { if (note) note.remove(); return; }
    if (!note) {
      note = document.createElement("p");
      note.id = "studio-joining";
      note.style.cssText = "margin:6px 0;font:14px/1.4 monospace;color:#ffd479";
      video.after(note);
    }
    note.textContent = text;
  }
  function building(on) {
    let note = document.getElementById("studio-building");
    if (!on || document.body.hasAttribute("data-studio-pending")) { if (note) note.remove(); return; }
    if (!note) {  // a page of the last good build
      note = document.createElement("p");
      note.id = "studio-building";
      note.style.cssText = NOTE_CSS;
      note.textContent = BUILDING;
      document.body.appendChild(note);
    }
  }
  function swapVideos(version) {  // the lesson video joined again: reload it in place, where it was
    for (const video of document.querySelectorAll("video.lesson")) {
      const at = video.currentTime;
      const base = video.getAttribute("src").split("?")[0];
      video.src = base + "?v=" + version;
      for (const track of video.querySelectorAll("track")) {
        track.src = track.getAttribute("src").split("?")[0] + "?v=" + version;
      }
      video.load();
      video.addEventListener("loadedmetadata", () => { video.currentTime = Math.min(at, video.duration); },
                             { once: true });
    }
  }
  function markLint() {  // a lesson page: each beat lint finds a problem in gets the problems under its title
    if (!document.querySelector("ol.beats")) return;
    fetch("lint.json", { cache: "no-store" }).then((r) => r.ok ? r.json() : {}).then((found) => {
      for (const [name, problems] of Object.entries(found)) {
        const beat = document.getElementById(name);
        if (!beat || !problems.length) continue;
        beat.classList.add("studio-lint");
        beat.style.borderColor = "#ffd479";
        const list = document.createElement("ul");
        list.className = "studio-lint";
        list.style.cssText = "margin:6px 0 0;padding-left:18px;color:#ffd479;font:13px/1.4 monospace";
        for (const problem of problems) {
          const item = document.createElement("li");
          item.textContent = "lint: " + problem;
          list.appendChild(item);
        }
        beat.querySelector("h2").after(list);
      }
    }).catch(() => {});
  }
  markLint();
  const deck = location.pathname.endsWith("/deck.html");
  const here = location.pathname.replace(/index\\.html$/, "");
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    overlay(state.error);
    building(state.building);
    const mine_lesson = state.lesson && here.endsWith(state.lesson + "/");
    joining(state.joining && mine_lesson ? "The lesson video is being joined again; it refreshes here." : "");
    if (seen !== null && state.version !== seen && !state.error) {
      if (state.scope === "video" && mine_lesson) {
        swapVideos(state.version);  // this page's text and posters are new already
      } else if (state.scope === "video" ? !deck : (state.scope !== "decks" || deck)) {
        if (mine_lesson && state.beat) location.hash = state.beat;
        location.reload();
      }
    }
    seen = state.version;
  };
})();
""".replace("NOTE_CSS", json.dumps(NOTE_CSS)).replace("BUILDING", json.dumps(BUILDING))
PENDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body data-studio-pending style="background:#14161c;color:#e8e6e3;font:16px/1.5 system-ui,sans-serif;padding:2em">
<h1>{title}</h1><p>{text}</p></body></html>
"""


@dataclass
class LiveState:
    """What open pages are told: a version that changes with each good rebuild, the error if the last
    rebuild failed, and where the change was (lesson folder, beat)."""

    version: int = 0
    error: str = ""
    lesson: str = ""
    beat: str = ""
    scope: str = "all"  # "decks": only deck pages reload; "video": lesson pages swap their video in place
    joining: str = ""  # the lesson folder whose video is being joined again
    building: bool = False  # a rebuild runs: pages show the last good build meanwhile
    saved: float = 0.0  # when the edit being rebuilt was noticed (perf_counter)
    said_draft: bool = False  # whether the console was told a draft leaves decks to a full render
    changed: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, **update: Any) -> None:
        with self.changed:
            for key, value in update.items():
                setattr(self, key, value)
            self.changed.notify_all()

    def tag(self, note: bool = True) -> str:
        """What a served HTML page gets before `</body>`: the live script, with the version it is served at
        (a rebuild that ends before the page listens still reloads it), and, on a page of the last good build,
        the rebuilding note while one runs."""
        with self.changed:
            version, building = self.version, self.building
        note_html = f'<p id="studio-building" style="{NOTE_CSS}">{BUILDING}</p>' if building and note else ""
        return f'{note_html}<script src="/__studio/live.js" data-version="{version}"></script>'

    def message(self) -> str:
        data = {"version": self.version, "error": self.error, "lesson": self.lesson, "beat": self.beat,
                "scope": self.scope, "joining": self.joining, "building": self.building}
        return f"data: {json.dumps(data)}\n\n"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files of the build folder; HTML pages get the live-reload script; the events channel."""

    live: LiveState

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/__studio/events":
            return self.events()
        if path == "/__studio/live.js":
            return self.send_text(LIVE_JS, "text/javascript")
        local = Path(self.translate_path(path))
        if local.is_dir() and not path.endswith("/"):
            return super().do_GET()  # redirected to the folder's address, so relative links resolve
        if local.is_dir() or (not local.suffix and not local.exists()):
            local = local / "index.html"
        if local.suffix == ".html":
            built = local.is_file()
            tag = self.live.tag(note=built)  # taken before the page is read: an old page never gets a new version
            if not built:
                return self.send_pending(tag)
            html = local.read_text(encoding="utf-8")
            html = html.replace("</body>", f"{tag}</body>") if "</body>" in html else html + tag
            return self.send_text(html, "text/html")
        return super().do_GET()

    def send_pending(self, tag: str) -> None:
        """A page with no build yet: while a rebuild runs, a page saying so, which reloads when it is written
        (503, to come back); else one saying it was not built (404)."""
        if self.live.building:
            title, status = "Being built", 503
            text = "This page has not been built yet. It is being built now, and opens here by itself when ready."
        else:
            title, status = "Not built", 404
            text = ("This page was not built: its lesson failed (the error shows here) or it is not among the "
                    "lessons being served. It opens here by itself once a rebuild writes it.")
        page = PENDING.format(title=title, text=text).replace("</body>", f"{tag}</body>")
        self.send_text(page, "text/html", status)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt video or poster keeps its name
        super().end_headers()

    def send_text(self, text: str, kind: str, status: int = 200) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "5")
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        live, sent = self.live, ""
        with contextlib.suppress(OSError):
            while True:
                with live.changed:  # a change published while the last message was being sent is not missed
                    if live.message() == sent:
                        live.changed.wait(timeout=15)  # a heartbeat also notices a closed page
                    sent = live.message()
                self.wfile.write(sent.encode())
                self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page closed or reloaded while a video streamed is no error worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def start_server(build_dir: Path, host: str, port: int, live: LiveState) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(type("LiveHandler", (Handler,), {"live": live}), directory=str(build_dir))
    server = Server((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="serve").start()
    return server


def lesson_folder(lesson: Any) -> str:
    return f"module{lesson.entry.module}/{lesson.entry.slug}"


def changed_beat(lesson: Any) -> str:
    """The first beat a rebuild rendered again ('' when none)."""
    return next((beat.name for beat in lesson.beats if beat.status == "done"), "")


class PageReloads(Observer):
    """Open pages reload as soon as a rebuilt lesson's page is written, before its video is joined again."""

    def __init__(self, live: LiveState, say: Callable[[str], None]):
        self.live, self.say = live, say
        self.published = False

    def page_ready(self, lesson: Any) -> None:
        folder, beat = lesson_folder(lesson), changed_beat(lesson)
        since = time.perf_counter() - self.live.saved
        self.say(f"page ready in {since:.1f} s" + (f": {folder}#{beat}" if beat else ""))
        self.live.publish(error="", version=self.live.version + 1, lesson=folder, beat=beat, scope="all",
                          joining=folder)
        self.published = True


def errors_of(report: Any) -> str:
    failed = [f"✗ {lesson.entry.id} {lesson.entry.title}\n{lesson.error}" for lesson in report.lessons
              if lesson.status == "failed"]
    if report.page.startswith("failed"):
        failed.append(f"course page: {report.page}")
    return "\n\n".join(failed)


def rebuild(entries: list[LessonEntry], settings: Settings, live: LiveState, say: Callable[[str], None],
            pool: Executor | None = None) -> bool:
    """Two builds: first what the pages show (videos, lesson pages, the course page), where open pages reload
    once a lesson's page is written and swap its video in place once joined; then the decks, handouts and
    notebooks, after which open decks reload (not in a draft: the fastest loop leaves them to a full render). A
    failure shows its error (and the result is False)."""
    from render.hashing import forget_files

    forget_files()
    first = replace(settings, only=tuple(p for p in settings.only if p in ("video", "page")))
    pages = PageReloads(live, say)
    live.publish(building=True)
    report = build_once(entries, first, live, say, pool, pages)
    if report is None:
        return False
    say(f"rebuilt in {report.seconds:.1f} s")
    for problem in (p for lesson in report.lessons for beat in lesson.beats for p in beat.problems):
        say(f"⚠ lint: {problem}")
    scope = "video" if pages.published else "all"  # the lesson pages are new already: their videos follow
    live.publish(error="", version=live.version + 1, scope=scope, joining="", building=False)
    rest = tuple(p for p in settings.only if p not in ("video", "page"))
    if rest and settings.draft:  # the fast loop: decks, handouts and notebooks wait for a full render
        if not live.said_draft:
            say("draft: decks, handouts and notebooks stay as the last full render made them")
            live.said_draft = True
        return True
    if rest:
        later = build_once(entries, replace(settings, only=(*rest, "page")), live, say, pool)
        if later is None:
            return False
        if any(o.ran for outcomes in later.plan.values() for o in outcomes):
            say(f"decks, handouts and notebooks rebuilt in {later.seconds:.1f} s")
            live.publish(error="", version=live.version + 1, scope="decks")
    return True


def build_once(entries: list[LessonEntry], settings: Settings, live: LiveState, say: Callable[[str], None],
               pool: Executor | None, observer: Observer | None = None) -> Any:
    """One build; its report, or None when it failed (the error is shown on open pages and here)."""
    from render.build import build
    from render.errors import StudioError

    try:
        report = build(entries, settings, executor=pool, observer=observer)
    except StudioError as exc:
        live.publish(error=str(exc), joining="", building=False)
        say(f"✗ {exc}")
        return None
    error = errors_of(report)
    if error:
        say(error)
        live.publish(error=error, joining="", building=False)
        return None
    return report


def watch_changes(stop: threading.Event) -> Iterator[set[Any]]:
    from watchfiles import watch

    folders = [str(ROOT / f) for f in WATCHED if (ROOT / f).is_dir()]
    yield from watch(*folders, stop_event=stop, debounce=300, step=50)


class Edits:
    """Saved edits, watched from the start on a thread of their own: an edit saved while the first rebuild
    runs is rebuilt right after it, not lost. Iterating gives the changes saved since the last rebuild."""

    def __init__(self, stop: threading.Event):
        self.queue: queue.SimpleQueue[set[Any] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        threading.Thread(target=self.watch, args=(stop,), daemon=True, name="watch").start()

    def watch(self, stop: threading.Event) -> None:
        try:
            for changes in watch_changes(stop):
                self.queue.put(changes)
        except BaseException as exc:  # handed to the serving thread
            self.error = exc
        finally:
            self.queue.put(None)

    def __iter__(self) -> Iterator[set[Any]]:
        ended = False
        while not ended:
            first = self.queue.get()
            ended, changes = first is None, set(first or ())
            while not ended and not self.queue.empty():  # saved during the last rebuild: one rebuild for all
                more = self.queue.get()
                ended, changes = more is None, changes | (more or set())
            if changes:
                yield changes
        if self.error is not None:
            raise self.error


def serve(entries: list[LessonEntry], settings: Settings, host: str, port: int,
          say: Callable[[str], None] = print, stop: threading.Event | None = None) -> None:
    """Serve the last good build at once, rebuild behind it, then rebuild on every saved edit until `stop` is
    set (Ctrl-C in the CLI, which also stops the first rebuild)."""
    live = LiveState(building=True)
    settings = replace(settings, warm_trace=True, preview=True)
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(settings.build_dir, host, port, live)
    first = entries[0] if len(entries) == 1 else None
    where = f"module{first.module}/{first.slug}/" if first else ""
    say(f"serving http://{host}:{server.server_address[1]}/{where} (Ctrl-C to stop)")
    pool = Workers(settings)
    stop = stop or threading.Event()
    try:
        edits = Edits(stop)
        say("rebuilding; pages show the last good build until the new ones are ready")
        live.saved = time.perf_counter()
        ok = rebuild(entries, settings, live, say, pool.get())
        say(f"{'up to date' if ok else 'the error is shown on open pages'}; watching {', '.join(WATCHED)} for edits")
        for changes in edits:
            live.saved = time.perf_counter()
            pool.renew_if({Path(path) for _, path in changes})
            rebuild(entries, settings, live, say, pool.get())
    finally:
        stop.set()  # the watcher's thread ends
        server.shutdown()
        server.server_close()
        pool.close()


class Workers:
    """Render processes kept warm between rebuilds (Manim imported once); renewed when the scene code they
    imported changes, or when a scheduler's executor is used instead (settings.scheduler)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool: RenderPool | None = None

    def get(self) -> Executor | None:
        if self.settings.scheduler:
            return None  # the build opens the cluster's executor itself
        if self.pool is None:
            self.pool = RenderPool(self.settings.jobs)
        return self.pool

    def renew_if(self, paths: set[Path]) -> None:
        code = ROOT / "scenes"
        if any(p.is_relative_to(code) for p in paths):
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
