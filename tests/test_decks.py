"""The decks, checked for what they are: the HTML deck parsed and played in headless Chromium, the PPTX
reopened with python-pptx and converted by LibreOffice, both fed hostile lesson text."""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from render import decks
from scenes import theme
from scenes.typed_code import typed_code
from tests.test_decks_fixtures import (
    HOSTILE,
    PageProblems,
    launch_chromium,
    make_built_lesson,
    make_hostile_lesson,
)

ASSETS_REL = "../../assets"
H264_AAC = 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"'


@pytest.fixture(scope="module")
def built_lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    return make_built_lesson(tmp_path_factory)


@pytest.fixture(scope="module")
def hostile_lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    return make_hostile_lesson(tmp_path_factory)


# --------------------------------------------------------------------------------------------- helpers


class Slides(HTMLParser):
    """The deck's <section> slides: their classes, text, notes, media and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.slides: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href", "poster"):
            if a.get(key):
                self.urls.append(a[key] or "")
        if tag == "img" and self.slides:
            self.slides[-1]["images"].append(a.get("src"))
        if tag in ("img", "link", "meta", "br", "source", "track", "input"):
            return  # void elements: no end tag
        if tag == "section":
            self.slides.append(
                {"class": a.get("class", ""), "text": "", "notes": "", "videos": [], "code": "", "images": []}
            )
        elif tag == "video" and self.slides:
            self.slides[-1]["videos"].append(a)
        elif tag == "aside" and "notes" in (a.get("class") or ""):
            self._in.append("#notes")
            return
        elif tag == "code" and "language-python" in (a.get("class") or ""):
            self._in.append("#code")
            self.slides[-1]["code_style"] = a.get("style") or ""
            return
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if not self.slides:
            return
        key = "notes" if "#notes" in self._in else "code" if "#code" in self._in else "text"
        self.slides[-1][key] += data


def parse(path: Path) -> Slides:
    p = Slides()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def same_code(shown: str, source: str) -> bool:
    """Laid-out code means what the source means: the same syntax tree."""
    return ast.dump(ast.parse(shown)) == ast.dump(ast.parse(source))


def assert_code_fits_html(slide: dict[str, Any], beat: dict[str, Any]) -> None:
    """The slide's code is the beat's code, at a size from largest to least, no line wider than its panel."""
    size = float(re.fullmatch(r"font-size: ([\d.]+)px", slide["code_style"]).group(1))  # type: ignore[union-attr]
    largest, floor, least = decks.HTML_CODE_SIZES
    assert least <= size <= largest
    lines = slide["code"].strip("\n").splitlines()
    assert same_code(slide["code"], beat["source"])
    cols = decks.columns(decks.HTML_TEXT_WIDTH - decks.HTML_CODE_PAD[0], size)
    assert max(map(decks.display_width, lines)) <= cols, (size, cols, lines)
    if size < largest:  # it shrank because the code is wide or long, never for nothing
        assert max(len(x) for x in beat["source"].splitlines()) > decks.columns(
            decks.HTML_TEXT_WIDTH - decks.HTML_CODE_PAD[0], size + 1
        ) or len(lines) > 8


def deck(lesson_fixture: tuple[dict[str, Any], Path]) -> Path:
    lesson, lesson_dir = lesson_fixture
    decks.copy_deck_assets(lesson_dir.parent.parent)
    return decks.write_html_deck(lesson, lesson_dir, ASSETS_REL)


# --------------------------------------------------------------------------------------------- units


def test_inline_code_runs() -> None:
    assert decks.inline_parts("Call `torch.zeros` twice") == [
        ("Call ", False),
        ("torch.zeros", True),
        (" twice", False),
    ]
    assert decks.inline_parts("an odd ` tick") == [("an odd ` tick", False)]
    assert decks.is_rtl("שלום world") and not decks.is_rtl("hello שלום")
    assert decks.format_duration(61.2) == "1:01"


def test_theme_css_comes_from_the_theme() -> None:
    css = decks.theme_css()
    for name, value in theme.css_variables().items():
        assert f"{name}: {value};" in css
    # the static deck CSS uses the variables, never a colour of its own
    static = (decks.DECK_ASSETS / "deck.css").read_text()
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgb\(", static)


def test_fit_size_shrinks_long_text() -> None:
    short = decks.fit_size(["Recap"], 12, 1, 36)
    long = decks.fit_size(["word " * 80], 12, 1, 36)
    assert short == 36 and 9 <= long < 20


LONG_SOURCE = '''def full_attention(device):
    Q = torch.randn(1, 3, 2, 2, device=device)
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, Q) / math.sqrt(Q.shape[-1]) + torch.zeros(1, 3, 3, 3, device=device)
    # a long comment that explains what the softmax does along the last axis of the scores, for every head
    weights = scores.softmax(dim=-1)
    expect(bool(torch.allclose(weights.sum(-1), torch.ones(1, 3, 3))), "every row of the weights sums to one")
    if weights.shape[-1] == 3:
        table = {"weights": weights, "scores": scores, "query": Q, "rows": weights.shape[-2], "cols": weights.shape[-1]}
    return table'''


def test_break_code_keeps_meaning_and_indentation() -> None:
    for cols in (40, 50, 60, 80):
        lines = decks.break_code(LONG_SOURCE, cols)
        assert same_code("\n".join(lines), LONG_SOURCE)
        assert max(map(len, lines)) <= cols, (cols, [x for x in lines if len(x) > cols])
        # a broken line goes on one indent deeper than where it began; nothing starts left of its block
        source_lines = LONG_SOURCE.splitlines()
        for line in lines:
            first_piece = any(s.startswith(line.rstrip('"')) for s in source_lines)
            if not first_piece and not line.lstrip().startswith("#"):
                assert len(line) - len(line.lstrip()) >= 8, line
    lines = decks.break_code(LONG_SOURCE, 50)
    assert '        "every row of the weights sums to one")' in lines  # after the comma, not mid-call
    assert all(x.startswith("    # ") for x in lines if "#" in x and "comment" in x)
    # the words of a string split into adjacent literals: the same string
    split = decks.break_code('f(x, "one two three four five six seven eight nine ten")', 30)
    assert same_code("\n".join(split), 'f(x, "one two three four five six seven eight nine ten")')
    assert len(split) > 2 and all(len(x) <= 30 for x in split)
    # a long string as a whole value goes in parentheses, split into adjacent literals: the same value
    alone = "x = 'a string with no brackets around it at all, too long'"
    wrapped = decks.break_code(alone, 24)
    assert same_code("\n".join(wrapped), alone) and max(map(len, wrapped)) <= 24
    assert wrapped[0] == "x = (" and wrapped[-1] == ")"
    # a line with nowhere to break stays whole rather than change its meaning
    assert decks.break_code("x = 'a_string_with_no_place_to_break_at_all'", 20) == [
        "x = 'a_string_with_no_place_to_break_at_all'"
    ]
    # an f-string splits between its fields, never inside one
    formatted = 'f(a, f"The size of {a!r} must {{match}} the size of {b:>{w}} at dim {d}", b)'
    split = decks.break_code(formatted, 30)
    assert same_code("\n".join(split), formatted) and all(x.count("{") == x.count("}") for x in split)
    # a value with nowhere to break outside brackets goes in parentheses, its pieces aligned
    assert decks.break_code("    last_a, last_b, bad_dim = a.shape[-1], b.shape[-1], a.dim() - 1", 40) == [
        "    last_a, last_b, bad_dim = (", "        a.shape[-1], b.shape[-1],", "        a.dim() - 1", "    )"
    ]


def test_fit_code_shrinks_to_a_floor_then_breaks() -> None:
    short = decks.fit_code("def f(device):\n    return {}", 480, 400, 19, 14)
    assert short.size == 19 and short.lines == ["def f(device):", "    return {}"]
    wide = "x = f(" + ", ".join(["aaaa"] * 11) + ")"  # 70 characters: fits at 14px only when broken
    fitted = decks.fit_code(wide, 480, 400, 19, 14)
    assert fitted.size == 14 and len(fitted.lines) == 2 and max(map(len, fitted.lines)) <= fitted.columns
    fitted = decks.fit_code(wide.replace("aaaa", "a"), 480, 400, 19, 14)  # 40 characters
    assert fitted.size == 19 and len(fitted.lines) == 1
    tall = decks.fit_code("\n".join(f"x{i} = {i}" for i in range(28)), 480, 400, 19, 14, least=10)
    assert tall.size == 10 and len(tall.lines) * tall.size * 1.35 <= 400  # below the floor only for rows


def test_long_code_fits_html_and_pptx(built_lesson: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    from pptx import Presentation

    lesson, lesson_dir = built_lesson
    long = {**lesson, "beats": [{**b, "source": LONG_SOURCE} for b in lesson["beats"]]}
    html = decks.write_html_deck(long, lesson_dir, ASSETS_REL)
    for beat, slide in zip(long["beats"], parse(html).slides[1:-1], strict=True):
        assert_code_fits_html(slide, beat)
        assert slide["code"].count("\n") > LONG_SOURCE.count("\n")  # broken, not soft-wrapped
    prs = Presentation(str(decks.write_pptx_deck(long, lesson_dir)))
    for slide in list(prs.slides)[1:-1]:
        assert_code_fits_pptx(slide, LONG_SOURCE)
    deck(built_lesson)
    decks.write_pptx_deck(lesson, lesson_dir)


def assert_code_fits_pptx(slide: Any, source: str) -> None:
    """The slide's code box holds the source laid out: same meaning, never wrapped by PowerPoint, every
    line and row inside the box at its font size."""
    from pptx.util import Emu

    [box] = [s for s in slide.shapes if s.has_text_frame and s.text_frame.paragraphs[0].runs
             and s.text_frame.paragraphs[0].runs[0].font.name == theme.MONO and s.fill.type is not None]
    frame = box.text_frame
    assert frame.word_wrap is False
    lines = [p.text for p in frame.paragraphs]
    assert same_code("\n".join(lines), source)
    [size] = {r.font.size.pt for p in frame.paragraphs for r in p.runs}
    largest, floor, least = decks.PPTX_CODE_SIZES
    assert least <= size <= largest
    inner_w = Emu(box.width).inches - 2 * decks.PPTX_INSET[0]
    inner_h = Emu(box.height).inches - 2 * decks.PPTX_INSET[1]
    assert max(map(decks.display_width, lines)) <= decks.columns(inner_w * 72, size)
    assert len(lines) * size * decks.PPTX_LINE <= inner_h * 72 + 0.5
    assert Emu(box.top).inches + Emu(box.height).inches <= 7.0  # above the footer


# --------------------------------------------------------------------------------------------- HTML


def test_html_deck_has_one_slide_per_beat(built_lesson: tuple[dict[str, Any], Path]) -> None:
    lesson, lesson_dir = built_lesson
    parsed = parse(deck(built_lesson))
    slides = parsed.slides
    assert len(slides) == len(lesson["beats"]) + 2
    assert "title-slide" in slides[0]["class"] and "recap-slide" in slides[-1]["class"]
    for objective in ("Create tensors from lists with", "torch.tensor"):
        assert objective in slides[0]["text"]
    for beat, slide in zip(lesson["beats"], slides[1:-1], strict=True):
        assert beat["title"] in slide["text"]
        assert slide["notes"].strip() == beat["narration"]
        assert_code_fits_html(slide, beat)
        [video] = slide["videos"]
        assert video["src"] == beat["clip"] and video["poster"] == beat["poster"]
        assert beat["poster"] in slide["images"]  # the printed page shows the poster
        assert "data-autoplay" in video and "muted" not in video
    for item in lesson["recap"]:
        assert item.replace("`", "") in slides[-1]["text"]
    # every file the deck refers to is there (offline: no URL with a scheme)
    for url in parsed.urls:
        if url == "data:,":  # the empty favicon that keeps browsers from asking a server for one
            continue
        assert "://" not in url and not url.startswith("//"), url
        assert (lesson_dir / url).resolve().is_file(), url


def test_every_clip_gets_a_poster(built_lesson: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    """A beat whose key frame is missing gets a frame of its clip as the poster, kept in deck-media."""
    from PIL import Image, ImageStat

    lesson, lesson_dir = built_lesson
    copy = tmp_path / "build" / "module1" / lesson_dir.name
    shutil.copytree(lesson_dir, copy)
    (copy / lesson["beats"][1]["poster"]).unlink()
    slides = parse(decks.write_html_deck(lesson, copy, ASSETS_REL)).slides[1:-1]
    posters = [slide["videos"][0]["poster"] for slide in slides]
    assert posters[0] == lesson["beats"][0]["poster"] and posters[2] == lesson["beats"][2]["poster"]
    assert posters[1].startswith("deck-media/") and slides[1]["images"] == [posters[1]]
    frame = Image.open(copy / posters[1]).convert("L")
    assert ImageStat.Stat(frame).mean[0] > 40  # a picture, not a black frame
    (copy / lesson["beats"][1]["poster"]).write_bytes((lesson_dir / lesson["beats"][1]["poster"]).read_bytes())
    decks.write_html_deck(lesson, copy, ASSETS_REL)
    assert not (copy / "deck-media").exists()  # the stand-in goes once the key frame is back


def test_hostile_text_is_escaped_in_html(hostile_lesson: tuple[dict[str, Any], Path]) -> None:
    lesson, _ = hostile_lesson
    path = deck(hostile_lesson)
    html = path.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert html.count("<script") == 4  # reveal, notes, highlight and the initialise block only
    slides = parse(path).slides
    for slide in slides:
        assert HOSTILE in slide["text"] + slide["code"], slide["text"][:200]
    for beat, slide in zip(lesson["beats"], slides[1:-1], strict=True):
        assert slide["notes"].strip() == beat["narration"]
        assert same_code(slide["code"], beat["source"])  # the hostile string, split to fit: the same value
        assert "<script>alert" in slide["code"]


def test_copy_deck_assets_is_cheap_when_unchanged(tmp_path: Path) -> None:
    assets = decks.copy_deck_assets(tmp_path)
    files = sorted(p for p in assets.rglob("*") if p.is_file())
    assert (assets / "reveal" / "reveal.js").is_file() and (
        assets / "reveal" / "plugin" / "notes.js"
    ).is_file()
    before = {p: p.stat().st_mtime_ns for p in files}
    decks.copy_deck_assets(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in files} == before  # nothing rewritten


@pytest.mark.slow
def test_html_deck_plays_in_chromium(built_lesson: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    lesson, lesson_dir = built_lesson
    deck(built_lesson)
    # Copy the build to a "USB stick" folder elsewhere: the deck must work from there, offline.
    stick = tmp_path / "usb-stick"
    shutil.copytree(lesson_dir.parent.parent, stick)
    stick_deck = stick / lesson_dir.relative_to(lesson_dir.parent.parent) / "deck.html"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    n = len(lesson["beats"]) + 2
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            page = context.new_page()
            problems = PageProblems(page)
            page.goto(stick_deck.as_uri())
            page.wait_for_function("window.Reveal && Reveal.isReady()")
            can_play = page.evaluate("t => document.createElement('video').canPlayType(t)", H264_AAC)
            assert can_play in ("probably", "maybe"), "this chromium cannot decode H.264/AAC"
            assert page.evaluate("Reveal.getTotalSlides()") == n
            for index in range(n):
                assert page.evaluate("Reveal.getIndices().h") == index
                slide = page.evaluate("Reveal.getCurrentSlide().dataset")
                if 1 <= index <= len(lesson["beats"]):
                    assert slide["beat"] == lesson["beats"][index - 1]["name"]
                    # the clip loads and plays, with its sound, as the slide opens
                    page.wait_for_function(
                        """() => { const v = Reveal.getCurrentSlide().querySelector('video');
                        return v.readyState >= 2 && !v.paused && v.currentTime > 0.3
                               && v.webkitAudioDecodedByteCount > 0; }""",
                        timeout=15000,
                    )
                    media = page.evaluate(
                        """() => { const v = Reveal.getCurrentSlide().querySelector('video');
                        return {ready: v.readyState, audio: v.audioTracks.length, muted: v.muted,
                                width: v.videoWidth, src: v.currentSrc}; }"""
                    )
                    assert media["ready"] >= 2 and media["audio"] >= 1 and not media["muted"], media
                    assert media["width"] > 0 and media["src"].startswith("file://")
                    # the code fits its panel as laid out: no scrolling, no wrapping
                    code = page.evaluate(
                        """() => { const c = Reveal.getCurrentSlide().querySelector('pre code');
                        const s = getComputedStyle(c);
                        return {over: [c.scrollWidth - c.clientWidth, c.scrollHeight - c.clientHeight],
                                white: s.whiteSpace, rows: Math.round(c.getBoundingClientRect().height)}; }"""
                    )
                    assert code["over"] == [0, 0] and code["white"] == "pre", code
                page.wait_for_timeout(900)  # let the slide transition finish before the picture
                page.screenshot(path=str(shots / f"slide-{index}.png"))
                page.keyboard.press("ArrowRight")
            # a slide left behind stops playing
            page.keyboard.press("Home")
            page.wait_for_timeout(300)
            assert page.evaluate("[...document.querySelectorAll('video')].every(v => v.paused)")

            # overview (o / Esc) and fullscreen (f)
            page.keyboard.press("o")
            page.wait_for_function("Reveal.isOverview()")
            page.screenshot(path=str(shots / "overview.png"))
            page.keyboard.press("o")
            page.wait_for_function("!Reveal.isOverview()")
            page.keyboard.press("f")
            page.wait_for_function("document.fullscreenElement !== null", timeout=5000)
            page.keyboard.press("Escape")

            # speaker view (s): a window with the current slide's notes
            page.keyboard.press("ArrowRight")
            with page.expect_popup() as popup_info:
                page.keyboard.press("s")
            notes_window = popup_info.value
            notes_problems = PageProblems(notes_window)
            notes_window.wait_for_function(
                "document.querySelector('.speaker-controls-notes .value') &&"
                " document.querySelector('.speaker-controls-notes .value').textContent.trim().length > 0",
                timeout=15000,
            )
            shown = notes_window.evaluate(
                "document.querySelector('.speaker-controls-notes .value').textContent"
            )
            assert shown.strip() == lesson["beats"][0]["narration"]
            notes_window.screenshot(path=str(shots / "speaker-view.png"))
            notes_window.close()

            assert problems.errors == [] and notes_problems.errors == []
            assert problems.offsite() == []

            # print to PDF: one page per slide
            printer = context.new_page()
            print_problems = PageProblems(printer)
            printer.goto(stick_deck.as_uri() + "?print-pdf")
            printer.wait_for_function("window.Reveal && Reveal.isReady()")
            printer.wait_for_timeout(500)
            printer.wait_for_function("[...document.images].every(i => i.complete)")
            printed = printer.evaluate(
                """() => [...document.querySelectorAll('.beat-media')].map(m => ({
                    video: getComputedStyle(m.querySelector('video')).display,
                    poster: getComputedStyle(m.querySelector('.clip-poster')).display,
                    loaded: m.querySelector('.clip-poster').naturalWidth}))"""
            )
            assert printed == [{"video": "none", "poster": "block", "loaded": 854}] * len(lesson["beats"])
            pdf = tmp_path / "deck-print.pdf"
            printer.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
            assert print_problems.errors == []
        finally:
            browser.close()
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+(\d+)", pages, re.M).group(1) == str(n)  # type: ignore[union-attr]
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(shots / "print")], check=True)
    assert len(list(shots.glob("print-*.png"))) == n
    print(f"screenshots: {shots}")


@pytest.mark.slow
def test_hostile_text_shows_literally_in_chromium(
    hostile_lesson: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    lesson, _ = hostile_lesson
    path = deck(hostile_lesson)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            problems = PageProblems(page)
            page.goto(path.as_uri() + "#/1")
            page.wait_for_function("window.Reveal && Reveal.isReady()")
            page.wait_for_timeout(600)
            slide = page.evaluate(
                """() => { const s = Reveal.getCurrentSlide();
                const c = s.querySelector('pre code');
                return {title: s.querySelector('h2').textContent,
                        code: c.textContent,
                        code_overflow: [c.scrollWidth - c.clientWidth, c.scrollHeight - c.clientHeight],
                        scripts: document.querySelectorAll('script').length,
                        notes: s.querySelector('aside.notes').textContent}; }"""
            )
            page.screenshot(path=str(tmp_path / "hostile.png"))
            assert slide["title"] == lesson["beats"][0]["title"]
            assert same_code(slide["code"], lesson["beats"][0]["source"])  # highlighted, still literal
            assert "<script>alert(" in slide["code"] and slide["code_overflow"] == [0, 0]
            assert slide["notes"].strip() == lesson["beats"][0]["narration"]
            assert slide["scripts"] == 4
            assert problems.errors == []  # no alert() dialog, no error
        finally:
            browser.close()


# --------------------------------------------------------------------------------------------- PPTX


def pptx_texts(slide: Any) -> str:
    return "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)


def movies(slide: Any) -> list[Any]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.MEDIA]


def media_parts(slide: Any) -> list[Any]:
    return [r.target_part for r in slide.part.rels.values() if r.reltype.endswith("/media")]


def test_pptx_reopens_with_one_movie_per_beat(built_lesson: tuple[dict[str, Any], Path]) -> None:
    from PIL import Image, ImageStat
    from pptx import Presentation
    from pptx.util import Inches

    lesson, lesson_dir = built_lesson
    prs = Presentation(str(decks.write_pptx_deck(lesson, lesson_dir)))
    assert (prs.slide_width, prs.slide_height) == (Inches(13.333), Inches(7.5))  # 16:9
    slides = list(prs.slides)
    assert len(slides) == len(lesson["beats"]) + 2
    assert lesson["title"] in pptx_texts(slides[0])
    assert all(o.replace("`", "") in pptx_texts(slides[0]) for o in lesson["objectives"])
    assert all(r.replace("`", "") in pptx_texts(slides[-1]) for r in lesson["recap"])
    assert movies(slides[0]) == [] and movies(slides[-1]) == []
    for beat, slide in zip(lesson["beats"], slides[1:-1], strict=True):
        assert slide.notes_slide.notes_text_frame.text == beat["narration"]
        assert beat["title"] in pptx_texts(slide)
        [movie] = movies(slide)
        [video] = [p for p in media_parts(slide) if p.content_type == "video/mp4"]
        assert video.blob == (lesson_dir / beat["clip"]).read_bytes()  # 480p: embedded as it is
        # the poster frame is the beat's key moment, not a black frame
        poster = Image.open(io.BytesIO(movie.poster_frame.blob))
        assert max(ImageStat.Stat(poster.convert("L")).mean) > 40
        # the clip starts when the slide opens
        xml = slide._element.xml
        assert 'presetClass="mediacall"' in xml and f'spid="{movie.shape_id}"' in xml
        # theme: background, fonts, monospace code box
        assert str(slide.background.fill.fore_color.rgb) == theme.BACKGROUND.lstrip("#").upper()
        fonts = {
            r.font.name
            for s in slide.shapes
            if s.has_text_frame
            for p in s.text_frame.paragraphs
            for r in p.runs
        }
        assert fonts == {theme.FONT, theme.MONO}
        assert_code_fits_pptx(slide, beat["source"])


def test_pptx_hostile_text_and_big_silent_clip(
    hostile_lesson: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    from pptx import Presentation

    lesson, lesson_dir = hostile_lesson
    prs = Presentation(str(decks.write_pptx_deck(lesson, lesson_dir)))
    slides = list(prs.slides)
    for slide in slides:
        assert HOSTILE in pptx_texts(slide)
    for beat, slide in zip(lesson["beats"], slides[1:-1], strict=True):
        assert slide.notes_slide.notes_text_frame.text == beat["narration"]
        assert len(movies(slide)) == 1
    # the 4k clip (no audio yet) is embedded as a 1080p copy; the others as they are, no second encode
    [video] = [p for p in media_parts(slides[-2]) if p.content_type == "video/mp4"]
    embedded = tmp_path / "embedded.mp4"
    embedded.write_bytes(video.blob)
    info = decks.probe(embedded)
    assert info["height"] == 1080 and info["width"] == 1920 and not info["audio"]
    [first] = [p for p in media_parts(slides[1]) if p.content_type == "video/mp4"]
    assert first.blob == (lesson_dir / lesson["beats"][0]["clip"]).read_bytes()
    # a rebuild reuses the 1080p copy rather than re-encoding it
    copies = list((lesson_dir / "pptx-media").glob("*-1080p.mp4"))
    assert len(copies) == 1
    stamp = copies[0].stat().st_mtime_ns
    decks.write_pptx_deck(lesson, lesson_dir)
    assert copies[0].stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_pptx_converts_with_libreoffice(hostile_lesson: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed (./dev setup --test installs it)")
    lesson, lesson_dir = hostile_lesson
    pptx = decks.write_pptx_deck(lesson, lesson_dir)
    out = tmp_path / "pdf"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(pptx),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    pdf = out / "deck.pdf"
    assert pdf.is_file(), result.stdout + result.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+(\d+)", info, re.M).group(1) == str(len(lesson["beats"]) + 2)  # type: ignore[union-attr]
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True)
    pages = sorted(out.glob("page-*.png"))
    assert len(pages) == len(lesson["beats"]) + 2
    for page in pages:
        stat = ImageStat.Stat(Image.open(page).convert("RGB"))
        assert max(stat.stddev) > 10  # text and pictures drawn, not an empty background
    print(f"pages: {out}")


@pytest.mark.slow
class _LongErrors(dict):  # type: ignore[type-arg]
    """Traced values where every name holds a long error text: the widest comment a captured error gets."""

    def get(self, key: object, default: object = None) -> str:
        return "RuntimeError: " + "shapes cannot be multiplied " * 4


LONG_ERRORS = _LongErrors()


def test_module1_code_fits_its_slides_in_chromium(tmp_path: Path) -> None:
    """Every module-1 beat's code, laid out for its slide, fits its panel in Chromium's print view (the
    handout's): no line wider, no rows taller, the bullets above included (a beat whose compute only returns {}
    has no code panel, and its bullets must still fit)."""
    from playwright.sync_api import sync_playwright

    from render.course import load_course
    from render.lesson import load_lesson

    decks.copy_deck_assets(tmp_path)
    paths = []
    for entry in load_course().module("1").lessons:
        if not entry.scripted:
            continue
        script = load_lesson(entry.script)
        beats = [{"name": b.name, "title": b.title, "bullets": list(b.bullets), "narration": "",
                  "source": typed_code(b.source, LONG_ERRORS), "clip": None, "poster": None} for b in script.beats]
        lesson = {"id": entry.id, "slug": entry.slug, "module": 1, "title": entry.title, "beats": beats}
        folder = tmp_path / "module1" / entry.slug
        folder.mkdir(parents=True)
        paths.append(decks.write_html_deck(lesson, folder, ASSETS_REL))
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            for path in paths:
                page.goto(path.as_uri() + "?print-pdf")
                page.wait_for_function("window.Reveal && Reveal.isReady() && document.querySelector('.pdf-page')")
                over = page.evaluate(
                    """() => [...document.querySelectorAll('section.beat')].map(s => {
                        const c = s.querySelector('pre code'), t = s.querySelector('.beat-text');
                        return [s.dataset.beat, c ? c.scrollWidth - c.clientWidth : 0,
                                c ? c.scrollHeight - c.clientHeight : 0, t.scrollHeight - t.clientHeight]; })
                        .filter(r => r[1] > 0 || r[2] > 0 || r[3] > 0)"""
                )
                assert over == [], f"{path.parent.name}: {over}"
        finally:
            browser.close()


def test_module1_code_fits_both_decks_by_measure() -> None:
    """Every module-1 beat's code, laid out for the HTML panel and the PPTX box, fits them by the fonts'
    measure and means what the source means (the Chromium test above checks the HTML for real)."""
    from render.course import load_course
    from render.lesson import load_lesson

    pptx_w = (5.3 - 2 * decks.PPTX_INSET[0]) * 72
    pptx_h = (3.0 - 2 * decks.PPTX_INSET[1]) * 72
    for entry in load_course().module("1").lessons:
        if not entry.scripted:
            continue
        for beat in load_lesson(entry.script).beats:
            source = typed_code(beat.source, LONG_ERRORS).rstrip()  # as the lesson record holds it
            html, _ = decks.html_code(source, list(beat.bullets))
            largest, floor, least = decks.PPTX_CODE_SIZES
            pptx = decks.fit_code(source, pptx_w, pptx_h, largest, floor, decks.PPTX_LINE, least)
            for code in (html, pptx):
                assert same_code(code.text, source), beat.name
                assert max(map(decks.display_width, code.lines)) <= code.columns, (entry.id, beat.name)
            assert len(pptx.lines) * pptx.size * decks.PPTX_LINE <= pptx_h, (entry.id, beat.name)


def test_a_compute_that_returns_nothing_shows_no_code_on_its_slide() -> None:
    assert decks.computed("def objectives(device):\n    return {}\n") == ""
    assert decks.computed('def opening(device):\n    """A title card."""\n    return {}') == ""
    code = "def f(device):\n    x = torch.ones(2, device=device)\n    return {'x': x}"
    assert decks.computed(code + "\n") == code
    views = decks._beat_views({"beats": [{"name": "objectives", "title": "T", "source": "def objectives(device):\n"
                                          "    return {}\n"}]})
    assert views[0]["source"] == "" and views[0]["code"] == ""


def test_a_wide_line_puts_its_trailing_comment_above_it() -> None:
    """`(w_new * x).sum().backward()  # RuntimeError: ...` wider than the panel: the comment goes on its own
    line(s) above the code, which stays whole, instead of the code breaking mid-expression."""
    line = "    (w_new * x).sum().backward()  # RuntimeError: element 0 of tensors does not require grad"
    out = decks.break_code("if True:\n" + line, 50)
    assert out[-1] == "    (w_new * x).sum().backward()"
    assert all(x.lstrip().startswith("#") for x in out[1:-1]) and len(out) > 2
    assert max(map(decks.display_width, out)) <= 50
    assert same_code("\n".join(out), "if True:\n" + line)
    assert decks.break_code("x = 1  # short", 50) == ["x = 1  # short"]
