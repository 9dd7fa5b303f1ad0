"""A PDF handout per lesson: `deck.pdf`, the HTML deck's print view (reveal.js `?print-pdf`) printed by
headless Chromium through Playwright, one slide per page, each clip shown as its poster.

Chromium is the system's (Debian's `chromium`), never a browser Playwright downloads; both come with
`./dev setup --test`. Without them the handout is a `ToolMissing` that says how to install them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from render.errors import StudioError, ToolMissing
from render.files import atomic_path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = """() => window.Reveal && Reveal.isReady()
    && document.querySelector('.pdf-page') !== null
    && [...document.images].every(i => i.complete)"""


class HandoutError(StudioError):
    """The deck could not be printed (a script error on the page, an image that did not load)."""


def _failed(request: Any, problems: list[str]) -> None:
    """A request that failed, unless it is a clip's (the print shows its poster and never needs it)."""
    if not request.url.endswith(".mp4"):
        problems.append(f"could not load {request.url}: {request.failure}")


def find_chromium() -> str:
    """The system Chromium's path; ToolMissing when there is none."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ToolMissing("chromium not found: the PDF handout is printed by it (apt-get install chromium, "
                      "or ./dev setup --test)")


def write_handout(deck_html: Path, dest: Path | None = None, timeout: float = 120.0) -> Path:
    """Print `deck_html`'s print view to `dest` (default: deck.pdf beside it), one slide per page.

    Waits until reveal.js has laid out the pages and every image (the posters) has loaded; a page error or
    an image that fails to load is a HandoutError, and no half-written PDF is left."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ToolMissing("playwright is not installed: the PDF handout needs it (./dev setup --test)") from exc
    dest = dest or deck_html.with_name("deck.pdf")
    chromium = find_chromium()
    problems: list[str] = []
    ms = timeout * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
            page.on("requestfailed", lambda r: _failed(r, problems))
            page.goto(deck_html.resolve().as_uri() + "?print-pdf", timeout=ms)
            page.wait_for_function(READY, timeout=ms)
            page.evaluate("document.fonts.ready.then(() => true)")
            broken = page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
            problems += [f"image did not load: {src}" for src in broken]
            if problems:
                raise HandoutError(f"{deck_html}: cannot print the handout: " + "; ".join(problems[:5]))
            with atomic_path(dest) as tmp:
                page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HandoutError(f"{deck_html}: chromium could not print the handout: {first}") from exc
        finally:
            browser.close()
    return dest
