"""Slide decks from a built lesson: an offline reveal.js HTML deck and a PowerPoint deck.

Both decks are made from the same beats as the video (one slide per beat: its title, bullets, the code
that ran, its clip with sound, its narration as speaker notes), between a title slide with the lesson's
objectives and a closing recap slide. They read the lesson's `lesson.json` data (paths relative to the
lesson folder), never the Manim pipeline, so a template edit rebuilds the decks and not the videos.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import io
import json
import math
import re
import subprocess
import textwrap
import tokenize
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from render.course import ROOT
from render.errors import StudioError
from render.hashing import file_digest
from render.state import atomic_path, write_bytes, write_text
from render.templating import environment
from scenes import theme

REVEAL = ROOT / "node_modules" / "reveal.js"
DECK_ASSETS = ROOT / "assets" / "deck"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {  # (css family, weight, style) -> file name under DEJAVU
    (theme.FONT, "normal", "normal"): "DejaVuSans.ttf",
    (theme.FONT, "bold", "normal"): "DejaVuSans-Bold.ttf",
    (theme.MONO, "normal", "normal"): "DejaVuSansMono.ttf",
}
# What the decks need from the npm package, by where it goes under build/assets/reveal.
REVEAL_FILES = {
    "reveal.js": "dist/reveal.js",
    "reveal.css": "dist/reveal.css",
    "reset.css": "dist/reset.css",
    "plugin/notes.js": "plugin/notes/notes.js",
    "plugin/highlight.js": "plugin/highlight/highlight.js",
    "plugin/monokai.css": "plugin/highlight/monokai.css",
    "LICENSE": "LICENSE",
}
MAX_EMBED_HEIGHT = 1080  # PowerPoint and LibreOffice play 1080p H.264; a 4k clip gets a 1080p copy
INLINE_CODE = re.compile(r"`([^`]+)`")
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class DeckError(StudioError):
    """A deck cannot be built (missing reveal.js, a clip that ffmpeg cannot read); the message says why."""


# ---------------------------------------------------------------------------------------------- shared


def inline_parts(text: str) -> list[tuple[str, bool]]:
    """Split markdown-ish bullet text into (text, is_code) runs: `x.shape` becomes a code run."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    for m in INLINE_CODE.finditer(text):
        if m.start() > pos:
            parts.append((text[pos : m.start()], False))
        parts.append((m.group(1), True))
        pos = m.end()
    if pos < len(text):
        parts.append((text[pos:], False))
    return parts


def is_rtl(text: str) -> bool:
    """Whether the first strongly directional character is right-to-left (Hebrew, Arabic...)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def format_duration(seconds: float | None) -> str:
    """61.2 -> '1:01' (what the course page and title slide show)."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def _lesson_view(lesson: dict[str, Any]) -> dict[str, Any]:
    """The lesson's fields with defaults for the optional ones, so templates stay StrictUndefined-clean."""
    view: dict[str, Any] = {
        "blurb": "",
        "objectives": [],
        "recap": [],
        "challenge": "",
        "device": "",
        "torch": "",
        "poster": None,
        "video": None,
        "vtt": None,
        "srt": None,
        "duration": None,
    }
    view.update(lesson)
    return view


def computed(source: str) -> str:
    """A beat's source as a slide shows it: '' for a compute that only returns nothing (a title card's
    `def objectives(device): return {}` is not code to teach)."""
    source = source.rstrip()
    try:
        body = ast.parse(textwrap.dedent(source)).body
    except SyntaxError:
        return source
    if len(body) == 1 and isinstance(body[0], ast.FunctionDef):
        statements = [s for s in body[0].body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if all(isinstance(s, ast.Return) and (s.value is None or (isinstance(s.value, ast.Dict) and not s.value.keys))
               for s in statements):
            return ""
    return source


def _beat_views(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    """The beats as the templates and the PPTX writer read them (bullets split into code runs, the code
    laid out for the HTML slide)."""
    views = []
    for number, beat in enumerate(lesson["beats"], start=1):
        source = computed(beat.get("source") or "")
        code, bullet_size = html_code(source, [b.replace("`", "") for b in beat.get("bullets", [])])
        views.append(
            {
                "number": number,
                "name": beat["name"],
                "title": beat["title"],
                "bullets": [inline_parts(b) for b in beat.get("bullets", [])],
                "narration": beat.get("narration", ""),
                "source": source,
                "code": code.text,
                "code_size": code.size,
                "bullet_size": bullet_size if bullet_size != HTML_BULLET_SIZES[0] else None,  # else deck.css's
                "clip": beat.get("clip"),
                "poster": beat.get("poster"),
                "start": beat.get("start", 0.0),
                "duration": beat.get("duration"),
            }
        )
    return views


# ---------------------------------------------------------------------------------------------- code

MONO_EM = 0.602  # DejaVu Sans Mono's advance width, in em: every character is this wide
OPENERS = {"(", "[", "{", ","}
BINARY = {"+", "-", "*", "/", "//", "%", "@", "**", "|", "&", "==", "!=", "<", ">", "<=", ">=", "and", "or"}
OPERAND_END = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}
ASSIGN = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "|=", "&=", "^=", ">>=", "<<=", "**="}
MIN_REST = 10  # characters a broken line should carry on with, when it can
CONTINUATION = "    "  # a broken line goes on one indent deeper than where it started


@dataclass(frozen=True)
class FittedCode:
    """Code laid out for a box: its lines (some broken at syntactic points) and the font size they fit at."""

    lines: list[str]
    size: float
    columns: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def display_width(text: str) -> int:
    """How many monospace cells `text` takes: wide characters (CJK, emoji) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def columns(width: float, size: float) -> int:
    """How many monospace characters fit `width` at font `size` (both in the same unit: px or pt)."""
    return max(1, int(width / (size * MONO_EM)))


@dataclass(frozen=True)
class Cut:
    """A place a line may break: after column `col`, at bracket `depth`; a cut inside a string literal
    closes it with `close` and reopens it with `reopen` on the next line (adjacent literals join)."""

    col: int
    depth: int
    close: str = ""
    reopen: str = ""


def _string_cuts(tok: tokenize.TokenInfo, depth: int) -> list[Cut]:
    """Cuts after the spaces of a one-line string literal; in an f-string, only outside its {fields}."""
    match = re.fullmatch(r"([rRuUbBfF]{0,2})('|\")(.*)\2", tok.string, re.S)
    if match is None or tok.start[0] != tok.end[0]:
        return []
    prefix, quote, body = match.groups()
    start = tok.start[1] + len(prefix) + 1
    formatted = "f" in prefix.lower()
    cuts, fields, i = [], 0, 0
    while i < len(body):
        ch = body[i]
        if formatted and body[i : i + 2] in ("{{", "}}"):
            i += 2
            continue
        if formatted and ch in "{}":
            fields += 1 if ch == "{" else -1
        elif ch == " " and fields == 0 and 0 < i < len(body) - 1 and body[i - 1] != "\\":
            cuts.append(Cut(start + i + 1, depth + 1, quote, prefix + quote))
        i += 1
    return cuts


def _break_points(source: str) -> tuple[dict[int, list[Cut]], set[int]]:
    """Per line (0-based), where it may break: after a comma, an opening bracket or a binary operator, or
    between the words of a string literal, always inside brackets, where Python joins lines itself (so the
    code means the same); and the lines that begin inside brackets (their indentation is free)."""
    points: dict[int, list[Cut]] = {}
    inside: set[int] = set()
    depth = 0
    targets: dict[int, bool] = {}  # bracket depth -> between a comprehension's `for` and its `in`
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return points, inside
    row = 0
    for i, tok in enumerate(tokens):
        if tok.start[0] != row and tok.type not in (tokenize.NL, tokenize.NEWLINE):
            row = tok.start[0]
            if depth > 0:
                inside.add(row - 1)
        if tok.type == tokenize.NAME and tok.string in ("for", "in") and depth > 0:
            targets[depth] = tok.string == "for"
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if depth <= 0:
            continue
        if tok.type == tokenize.STRING:
            points.setdefault(tok.start[0] - 1, []).extend(_string_cuts(tok, depth))
            continue
        if tok.type not in (tokenize.OP, tokenize.NAME):
            continue
        prev = tokens[i - 1]
        operand = prev.type in OPERAND_END or prev.string in ")]}"
        binary = tok.string in BINARY and operand  # not `-1`, `*args`
        subscript = tok.string == "[" and operand  # `x[` stays whole; a list's `[` may break
        if tok.string not in OPENERS and not binary or subscript:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or nxt.start[0] != tok.end[0] or nxt.type in (tokenize.NL, tokenize.COMMENT):
            continue  # the line ends here anyway
        if nxt.string in ")]}" or tok.string == "," and targets.get(depth):
            continue  # not `f(` before `)`, nor `for a,` before `b in`
        points.setdefault(tok.end[0] - 1, []).append(Cut(tok.end[1], depth))
    return points, inside


def _choose(cuts: list[Cut], start: int, width: int, line: str) -> Cut | None:
    """The cut for the next piece: the shallowest one that fits (a piece of at least a third of the width
    when there is one, so the line does not come apart at its first bracket), the latest among those;
    when none fits, the earliest beyond."""
    usable = [c for c in cuts if c.col > start and line[start : c.col].strip() and line[c.col :].strip()]
    fitting = [c for c in usable if display_width(line[start : c.col]) + len(c.close) <= width]
    if fitting:
        long_enough = [c for c in fitting if display_width(line[start : c.col]) >= width // 3] or fitting
        shallowest = min(c.depth for c in long_enough)
        best = [c for c in long_enough if c.depth == shallowest]
        # not a stub such as `3)` left alone on the next line when a fuller break exists
        best = [c for c in best if len(line[c.col :].strip()) >= MIN_REST] or best
        return max(best, key=lambda c: c.col)
    return min(usable, key=lambda c: c.col, default=None)


def _break_line(line: str, cuts: list[Cut], cols: int, hang: str = CONTINUATION) -> list[str]:
    """`line` in pieces no wider than `cols` where its cuts allow; pieces after the first are indented one
    level deeper than the line."""
    indent = line[: len(line) - len(line.lstrip())]
    pieces: list[str] = []
    start = 0
    lead = ""  # what the current piece starts with: the continuation indent (and a reopened string)
    while display_width(lead) + display_width(line[start:]) > cols:
        cut = _choose(cuts, start, cols - display_width(lead), line)
        if cut is None:
            break
        text = line[start : cut.col]
        text = text.lstrip() if pieces else text
        pieces.append(lead + (text if cut.close else text.rstrip()) + cut.close)
        start = cut.col
        while start < len(line) and line[start] == " " and not cut.close:
            start += 1
        lead = indent + hang + cut.reopen
    rest = line[start:]
    pieces.append(lead + rest if pieces else rest)
    return pieces


def _trailing_comment(line: str) -> tuple[str, str]:
    """A code line split into its code and its trailing `# comment` ("" when it has none or is all comment)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return line, ""
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    if not comments or comments[0].start[1] == 0:
        return line, ""
    indent = line[: len(line) - len(line.lstrip())]
    at = comments[0].start[1]
    return indent + line.strip()[:at].rstrip(), line.strip()[at:]


def _break_comment(line: str, cols: int) -> list[str]:
    """A long comment line as several comment lines at its indentation."""
    indent = line[: len(line) - len(line.lstrip())]
    words = line.strip().removeprefix("#").strip()
    return textwrap.wrap(words, max(10, cols - len(indent) - 2), initial_indent=indent + "# ",
                         subsequent_indent=indent + "# ") or [line]


def _wrap_value(line: str, cols: int) -> list[str] | None:
    """An assignment's value or a return's, on a line with nowhere to break (`a, b = x[0], y[0]`,
    `note = 'a long string'`), put in parentheses, where it can break: the same statement (checked on
    its syntax tree); None when the line is not such a statement, or that would not make it fit."""
    indent = line[: len(line) - len(line.lstrip())]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
        original = ast.dump(ast.parse(line.strip()))
    except (tokenize.TokenError, SyntaxError):
        return None
    depth, split = 0, None
    for tok in tokens:
        depth += (tok.string in "([{") - (tok.string in ")]}") if tok.type == tokenize.OP else 0
        if depth == 0 and (tok.type == tokenize.OP and tok.string in ASSIGN or tok.string == "return" and
                           tok.start[1] == 0):
            split = tok.end[1]
    if split is None or not line.strip()[split:].strip():
        return None
    head, value = line.strip()[:split], line.strip()[split:].strip()
    inner = break_code(f"(\n{value}\n)", cols - len(indent + CONTINUATION), hang="")[1:-1]
    wrapped = [f"{indent}{head} (", *(indent + CONTINUATION + x for x in inner), f"{indent})"]
    try:
        same = ast.dump(ast.parse(textwrap.dedent("\n".join(wrapped)))) == original
    except SyntaxError:
        same = False
    return wrapped if same and max(map(display_width, wrapped)) <= cols else None


def break_code(source: str, cols: int, hang: str = CONTINUATION) -> list[str]:
    """The source's lines, those wider than `cols` broken at syntactic points with their indentation kept
    (a broken line's next pieces `hang` deeper)."""
    points, inside = _break_points(source)
    out: list[str] = []
    statement = ""  # the indentation of the line the current statement began on
    for number, line in enumerate(source.splitlines()):
        cuts = points.get(number, [])
        if number not in inside:
            statement = line[: len(line) - len(line.lstrip())]
        elif display_width(line) > cols:  # a deep continuation line: its indentation is free
            indent = statement + hang
            shift = len(line) - len(line.lstrip()) - len(indent)
            if shift > 0:
                line, cuts = indent + line.lstrip(), [dataclasses.replace(c, col=c.col - shift) for c in cuts]
        code, comment = _trailing_comment(line) if number not in inside else (line, "")
        if display_width(line) > cols and comment and display_width(code) <= cols:
            indent = line[: len(line) - len(line.lstrip())]  # a wide line's comment goes on its own line above
            out.extend([*_break_comment(indent + comment, cols), code])
        elif display_width(line) <= cols:
            out.append(line)
        elif line.lstrip().startswith("#"):
            out.extend(_break_comment(line, cols))
        else:
            pieces = _break_line(line, cuts, cols, hang)
            wrapped = _wrap_value(line, cols) if display_width(pieces[-1]) > cols else None
            out.extend(wrapped or pieces)
    return out


def fit_code(source: str, width: float, height: float, largest: float, floor: float,
             line_height: float = 1.35, least: float | None = None) -> FittedCode:
    """Lay code out for a box of `width` x `height` (px or pt): the largest size from `largest` down to
    `floor` at which every line fits as it is; else, from `floor`, lines broken at syntactic points; and
    only when a line cannot be broken enough or the rows are too many for the box, smaller still, down to
    `least`."""
    lines = source.splitlines() or [""]
    size = largest
    while size >= floor:
        if max(map(display_width, lines)) <= columns(width, size) and len(lines) * size * line_height <= height:
            return FittedCode(lines, size, columns(width, size))
        size -= 1
    size = floor
    least = floor if least is None else least
    while True:
        cols = columns(width, size)
        broken = break_code(source, cols) or [""]
        fits = max(map(display_width, broken)) <= cols and len(broken) * size * line_height <= height
        if fits or size - 1 < least:
            return FittedCode(broken, size, cols)
        size -= 1


# The HTML beat slide's text column, in CSS px of the 1280x720 slide (assets/deck/deck.css): code and
# bullets share it, so the code gets the height the bullets leave.
HTML_TEXT_WIDTH = 0.41 * (1280 - 2 * 16)
HTML_BODY_HEIGHT = 590
HTML_CODE_PAD = (2 * 14 + 2, 2 * 12 + 2)  # padding and border of the code panel: across, down
HTML_GAP = 14
HTML_BULLET = {"line": 1.3, "after": 10, "em": 0.6}
HTML_BULLET_SIZES = (24, 21, 18)  # px: the bullets give way to code that needs the room
HTML_CODE_LINE = 1.35
HTML_CODE_SIZES = (19, 14, 12)  # largest, floor, least (px)
PPTX_CODE_SIZES = (14, 10, 8)  # pt
PPTX_LINE = 1.2
PPTX_INSET = (0.1, 0.05)  # a text box's default inner margins (in): left/right, top/bottom


def bullets_height(bullets: list[str], size: float = 24) -> float:
    """About how tall the bullets stand in the HTML text column (px) at font `size`, from the font's
    average width."""
    b = HTML_BULLET
    per_line = max(8, int((HTML_TEXT_WIDTH - 1.1 * size) / (size * b["em"])))
    rows = [len(textwrap.wrap(text, per_line)) or 1 for text in bullets]
    return sum(r * size * b["line"] + b["after"] for r in rows)


def html_code(source: str, bullets: list[str]) -> tuple[FittedCode, int]:
    """The beat's code laid out for the HTML slide's code panel below its bullets, and the bullets' font
    size: smaller bullets only when the code cannot fit below full-size ones."""
    width = HTML_TEXT_WIDTH - HTML_CODE_PAD[0]
    largest, floor, least = HTML_CODE_SIZES
    for size in HTML_BULLET_SIZES:
        height = HTML_BODY_HEIGHT - HTML_CODE_PAD[1] - (bullets_height(bullets, size) + HTML_GAP if bullets else 0)
        code = fit_code(source, width, height, largest, floor, line_height=HTML_CODE_LINE, least=least)
        if len(code.lines) * code.size * HTML_CODE_LINE <= height:
            break
    return code, size


# ---------------------------------------------------------------------------------------------- assets


def _sync_file(src: Path, dest: Path) -> bool:
    """Copy `src` to `dest` atomically unless `dest` already holds the same bytes; True if it wrote."""
    data = src.read_bytes()
    if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
        return False
    write_bytes(dest, data)
    return True


def theme_css(bundled: frozenset[str] = frozenset()) -> str:
    """The theme's CSS custom properties (from scenes/theme.py) and its fonts, for decks and the page.

    `bundled`: font files copied beside the CSS (fonts/<name>); only those are referenced, so no
    request can fail when a font is absent."""
    lines = ["/* Generated from scenes/theme.py by render.decks.theme_css: edit the theme, not this file. */"]
    for (family, weight, style), name in FONT_FILES.items():
        if name in bundled:
            lines.append(
                f"@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: {style}; "
                f"src: local('{family}'), url('fonts/{name}') format('truetype'); }}"
            )
    lines.append(":root {")
    lines.extend(f"  {name}: {value};" for name, value in theme.css_variables().items())
    lines.append("}")
    return "\n".join(lines) + "\n"


def copy_deck_assets(build_dir: Path) -> Path:
    """Put reveal.js (core, notes and highlight plugins), the theme CSS, deck CSS and fonts into
    `build_dir/assets`, so decks open offline from any folder copy. Files already identical are left alone.
    """
    if not (REVEAL / "dist" / "reveal.js").is_file():
        raise DeckError(
            f"reveal.js is not installed in {REVEAL.parent}: run `./dev setup` (it runs `npm install` "
            "from package.json; needs Node.js and npm)"
        )
    assets = build_dir / "assets"
    for name, source in REVEAL_FILES.items():
        _sync_file(REVEAL / source, assets / "reveal" / name)
    for src in sorted(DECK_ASSETS.glob("*")):
        if src.is_file():
            _sync_file(src, assets / "deck" / src.name)
    bundled = set()
    for name in FONT_FILES.values():
        if (DEJAVU / name).is_file():
            _sync_file(DEJAVU / name, assets / "deck" / "fonts" / name)
            bundled.add(name)
    css = theme_css(frozenset(bundled))
    css_file = assets / "deck" / "theme.css"
    if not css_file.is_file() or css_file.read_text(encoding="utf-8") != css:
        write_text(css_file, css)
    return assets


# ---------------------------------------------------------------------------------------------- HTML


def write_html_deck(lesson: dict[str, Any], lesson_dir: Path, assets_rel: str) -> Path:
    """Render `lesson_dir/deck.html` (templates/deck.html) from the lesson data.

    Clip, poster and notes paths stay relative to the lesson folder; `assets_rel` leads from the lesson
    folder to the shared assets (`../../assets`), which `copy_deck_assets` fills. Every clip gets a poster:
    its beat's key frame, or (when that file is missing) a frame taken from the clip into `deck-media`.
    """
    beats = _beat_views(lesson)
    with _keep_media(lesson_dir / "deck-media") as used:
        for beat in beats:
            clip = lesson_dir / beat["clip"] if beat["clip"] else None
            if clip is None or not clip.is_file() or (beat["poster"] and (lesson_dir / beat["poster"]).is_file()):
                continue
            poster = poster_frame(beat, lesson_dir, clip, lesson_dir / "deck-media")
            used.add(poster)
            beat["poster"] = poster.relative_to(lesson_dir).as_posix()
    html = (
        environment()
        .get_template("deck.html")
        .render(
            lesson=_lesson_view(lesson),
            beats=beats,
            inline_parts=inline_parts,
            assets=assets_rel.rstrip("/"),
            duration=format_duration(lesson.get("duration")),
        )
    )
    dest = lesson_dir / "deck.html"
    write_text(dest, html)
    return dest


# ---------------------------------------------------------------------------------------------- media


def probe(path: Path) -> dict[str, Any]:
    """Width, height and whether there is audio, from ffprobe."""
    try:
        out = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type,width,height",
                "-of",
                "json",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except FileNotFoundError as e:
        raise DeckError("ffprobe not found: install ffmpeg (./dev setup does)") from e
    except subprocess.CalledProcessError as e:
        raise DeckError(f"ffprobe cannot read {path}: {e.stderr.strip()[-300:]}") from e
    streams = json.loads(out).get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise DeckError(f"{path} has no video stream")
    return {
        "width": int(video["width"]),
        "height": int(video["height"]),
        "audio": any(s.get("codec_type") == "audio" for s in streams),
    }


def _ffmpeg(args: list[str], what: str) -> None:
    try:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True, text=True
        )
    except FileNotFoundError as e:
        raise DeckError("ffmpeg not found: install ffmpeg (./dev setup does)") from e
    except subprocess.CalledProcessError as e:
        raise DeckError(f"ffmpeg failed {what}: {e.stderr.strip()[-400:]}") from e


def embeddable_clip(clip: Path, media_dir: Path) -> Path:
    """The clip itself when it is 1080p or less (no second encode: the deck costs nothing on top of the video),
    else a 1080p copy in `media_dir`, named by the source's content hash so an unchanged clip is re-encoded
    only once."""
    info = probe(clip)
    if info["height"] <= MAX_EMBED_HEIGHT:
        return clip
    dest = media_dir / f"{clip.stem}-{file_digest(clip)[:12]}-{MAX_EMBED_HEIGHT}p.mp4"
    if not dest.is_file():
        with atomic_path(dest) as tmp:
            _ffmpeg(
                [
                    "-i",
                    str(clip),
                    "-vf",
                    f"scale=-2:{MAX_EMBED_HEIGHT}",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "20",
                    "-pix_fmt",
                    "yuv420p",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "160k",
                    "-movflags",
                    "+faststart",
                    str(tmp),
                ],
                f"re-encoding {clip} to {MAX_EMBED_HEIGHT}p",
            )
    return dest


def poster_frame(beat: dict[str, Any], lesson_dir: Path, clip: Path, media_dir: Path) -> Path:
    """The beat's poster (its key moment, drawn by the build); without one, a frame two thirds in."""
    if beat.get("poster") and (lesson_dir / beat["poster"]).is_file():
        return lesson_dir / beat["poster"]
    dest = media_dir / f"{clip.stem}-{file_digest(clip)[:12]}-poster.png"
    if not dest.is_file():
        at = max(0.0, float(beat.get("duration") or 0.0) * 2 / 3)
        with atomic_path(dest) as tmp:
            _ffmpeg(
                ["-ss", f"{at:.3f}", "-i", str(clip), "-frames:v", "1", str(tmp)],
                f"taking a poster frame from {clip}",
            )
    return dest


# ---------------------------------------------------------------------------------------------- PPTX


def xml_text(text: str) -> str:
    """Text that XML can hold (control characters dropped); everything else stays literal."""
    return XML_INVALID.sub("", text)


def fit_size(
    paragraphs: list[str],
    width: float,
    height: float,
    largest: float,
    smallest: float = 9.0,
    char_em: float = 0.58,
    spacing: float = 0.0,
) -> float:
    """The largest font size (pt) at which the paragraphs, wrapped, fit a box of width x height inches.

    An estimate from DejaVu's average character width, so the deck needs no font metrics; PowerPoint does
    not shrink text itself unless the deck is edited."""
    size = largest
    while size > smallest:
        per_line = max(1, int(width * 72 / (size * char_em)))
        lines = sum(max(1, math.ceil(len(p) / per_line)) for p in paragraphs)
        if lines * size * 1.2 + len(paragraphs) * size * spacing <= height * 72:
            break
        size -= 1
    return max(size, smallest)


def _rgb(hex_color: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_color.lstrip("#").upper())


class _PptxWriter:
    """Draws the slides on blank layouts with the theme's colours and fonts (16:9, 13.333 x 7.5 in)."""

    def __init__(self) -> None:
        from pptx import Presentation
        from pptx.util import Inches

        self.prs = Presentation()
        self.prs.slide_width = Inches(13.333)
        self.prs.slide_height = Inches(7.5)
        self.blank = self.prs.slide_layouts[6]

    def slide(self, notes: str) -> Any:
        s = self.prs.slides.add_slide(self.blank)
        fill = s.background.fill
        fill.solid()
        fill.fore_color.rgb = _rgb(theme.BACKGROUND)
        s.notes_slide.notes_text_frame.text = xml_text(notes)
        return s

    def text(
        self,
        slide: Any,
        box: tuple[float, float, float, float],
        paragraphs: list[list[tuple[str, bool]]],
        size: float,
        color: str = theme.TEXT,
        bold: bool = False,
        bullet: bool = False,
        fill: str | None = None,
        fit: bool = True,
        wrap: bool = True,
    ) -> Any:
        """A text box; each paragraph is a list of (text, is_code) runs, code runs in the monospace font."""
        from pptx.enum.text import MSO_AUTO_SIZE
        from pptx.oxml.ns import qn
        from pptx.util import Inches, Pt

        spacing = 0.5 if bullet else 0.0
        texts = [("• " if bullet else "") + "".join(t for t, _ in runs) for runs in paragraphs]
        if fit:
            size = fit_size(
                texts, box[2] - 0.2, box[3] - 0.1, size, spacing=spacing, char_em=0.66 if bold else 0.58
            )
        left, top, width, height = (Inches(v) for v in box)
        shape = slide.shapes.add_textbox(left, top, width, height)
        if fill:
            shape.fill.solid()
            shape.fill.fore_color.rgb = _rgb(fill)
            shape.line.color.rgb = _rgb(theme.PANEL_EDGE)
        frame = shape.text_frame
        frame.word_wrap = wrap
        frame.auto_size = MSO_AUTO_SIZE.NONE
        for i, runs in enumerate(paragraphs):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            plain = "".join(t for t, _ in runs)
            if is_rtl(plain):
                para._p.get_or_add_pPr().set("rtl", "1")
            if bullet:
                para.space_after = Pt(size * spacing)
                runs = [("• ", False), *runs]
            for text, code in runs:
                run = para.add_run()
                run.text = xml_text(text)
                run.font.size = Pt(size)
                run.font.bold = bold
                run.font.name = theme.MONO if code else theme.FONT
                run.font.color.rgb = _rgb(theme.ACCENT if code and not fill else color)
                if code or fill:  # name the font for every script, so Office does not swap it
                    rpr = run._r.get_or_add_rPr()
                    for tag in ("a:ea", "a:cs"):
                        el = rpr.find(qn(tag))
                        if el is None:
                            el = rpr.makeelement(qn(tag), {})
                            rpr.append(el)
                        el.set("typeface", theme.MONO)
        return shape

    def code(self, slide: Any, box: tuple[float, float, float, float], source: str) -> Any:
        """The code that ran, in a monospace panel that never wraps a line itself: the font shrinks to a
        floor, then long lines break at syntactic points (`fit_code`)."""
        left, top, width, most = box
        largest, floor, least = PPTX_CODE_SIZES
        inner = ((width - 2 * PPTX_INSET[0]) * 72, (most - 2 * PPTX_INSET[1]) * 72)
        code = fit_code(source, inner[0], inner[1], largest, floor, line_height=PPTX_LINE, least=least)
        height = min(most, len(code.lines) * code.size * PPTX_LINE / 72 + 2 * PPTX_INSET[1] + 0.1)
        return self.text(
            slide,
            (left, top, width, height),
            [[(line, True)] for line in code.lines],
            code.size,
            fill=theme.PANEL,
            fit=False,
            wrap=False,
        )

    def save(self, dest: Path) -> None:
        with atomic_path(dest) as tmp:
            self.prs.save(str(tmp))


def _autoplay(slide: Any, movie: Any, seconds: float) -> None:
    """Make the movie start when the slide opens (PowerPoint's 'Start: Automatically'), not on a click."""
    from lxml import etree

    shape_id = str(movie.shape_id)
    ms = max(1, int(seconds * 1000))
    ns = "http://schemas.openxmlformats.org/presentationml/2006/main"
    timing = slide._element.find(f"{{{ns}}}timing")
    if timing is not None:
        slide._element.remove(timing)
    xml = f"""
<p:timing xmlns:p="{ns}"><p:tnLst><p:par><p:cTn id="1" dur="indefinite" restart="never" nodeType="tmRoot">
 <p:childTnLst>
  <p:seq concurrent="1" nextAc="seek"><p:cTn id="2" dur="indefinite" nodeType="mainSeq"><p:childTnLst>
   <p:par><p:cTn id="3" fill="hold"><p:stCondLst><p:cond delay="indefinite"/>
     <p:cond evt="onBegin" delay="0"><p:tn val="2"/></p:cond></p:stCondLst><p:childTnLst>
    <p:par><p:cTn id="4" fill="hold"><p:stCondLst><p:cond delay="0"/></p:stCondLst><p:childTnLst>
     <p:par><p:cTn id="5" presetID="1" presetClass="mediacall" presetSubtype="0" fill="hold"
        nodeType="afterEffect"><p:stCondLst><p:cond delay="0"/></p:stCondLst><p:childTnLst>
      <p:cmd type="call" cmd="playFrom(0.0)"><p:cBhvr><p:cTn id="6" dur="{ms}" fill="hold"/>
       <p:tgtEl><p:spTgt spid="{shape_id}"/></p:tgtEl></p:cBhvr></p:cmd>
     </p:childTnLst></p:cTn></p:par>
    </p:childTnLst></p:cTn></p:par>
   </p:childTnLst></p:cTn></p:par>
  </p:childTnLst></p:cTn>
  <p:prevCondLst><p:cond evt="onPrev" delay="0"><p:tgtEl><p:sldTgt/></p:tgtEl></p:cond></p:prevCondLst>
  <p:nextCondLst><p:cond evt="onNext" delay="0"><p:tgtEl><p:sldTgt/></p:tgtEl></p:cond></p:nextCondLst>
  </p:seq>
  <p:video><p:cMediaNode vol="80000"><p:cTn id="7" fill="hold" display="0"><p:stCondLst>
   <p:cond delay="indefinite"/></p:stCondLst></p:cTn><p:tgtEl><p:spTgt spid="{shape_id}"/></p:tgtEl>
  </p:cMediaNode></p:video>
 </p:childTnLst></p:cTn></p:par></p:tnLst></p:timing>"""
    slide._element.append(etree.fromstring(xml))


@contextlib.contextmanager
def _keep_media(media_dir: Path) -> Iterator[set[Path]]:
    """Collect the media files this build uses, then delete older ones (a re-encoded clip whose source
    changed) so the folder does not grow."""
    used: set[Path] = set()
    yield used
    if media_dir.is_dir():
        for f in media_dir.iterdir():
            if f.is_file() and f not in used:
                f.unlink()
        with contextlib.suppress(OSError):
            media_dir.rmdir()


def write_pptx_deck(lesson: dict[str, Any], lesson_dir: Path) -> Path:
    """Write `lesson_dir/deck.pptx`: title, one slide per beat (clip as a movie with its poster frame,
    code in a monospace box, narration as notes) and recap. Clips over 1080p are embedded as 1080p copies
    kept in `lesson_dir/pptx-media`."""
    w = _PptxWriter()
    media_dir = lesson_dir / "pptx-media"
    footer = f"Lesson {lesson['id']}  ·  computed with torch {lesson.get('torch', '')} on {lesson.get('device', '')}"
    _pptx_title(w, lesson, lesson_dir, footer)
    with _keep_media(media_dir) as used:
        for beat in _beat_views(lesson):
            _pptx_beat(w, beat, lesson_dir, media_dir, used, footer)
        _pptx_recap(w, lesson)
        dest = lesson_dir / "deck.pptx"
        w.save(dest)
    return dest


def _pptx_title(w: _PptxWriter, lesson: dict[str, Any], lesson_dir: Path, footer: str) -> None:
    from pptx.util import Inches

    s = w.slide(notes=lesson.get("blurb", ""))
    w.text(s, (0.6, 0.5, 12.1, 1.4), [[(lesson["title"], False)]], 36, bold=True)
    w.text(s, (0.6, 1.9, 12.1, 0.9), [list(inline_parts(lesson.get("blurb", "")))], 18, color=theme.MUTED)
    objectives = lesson.get("objectives") or []
    if objectives:
        w.text(s, (0.6, 2.9, 6.6, 0.5), [[("You will learn", False)]], 20, color=theme.ACCENT, bold=True)
        w.text(s, (0.6, 3.45, 6.6, 3.3), [inline_parts(o) for o in objectives], 18, bullet=True)
    if lesson.get("poster") and (lesson_dir / lesson["poster"]).is_file():
        s.shapes.add_picture(str(lesson_dir / lesson["poster"]), Inches(7.5), Inches(3.0), width=Inches(5.2))
    w.text(s, (0.6, 6.85, 12.1, 0.4), [[(footer, False)]], 12, color=theme.MUTED)


def _pptx_beat(w: _PptxWriter, beat: dict[str, Any], lesson_dir: Path, media_dir: Path, used: set[Path],
               footer: str) -> None:
    """A beat's slide: title, bullets, code, and its clip as a movie that starts when the slide opens."""
    from pptx.util import Inches

    s = w.slide(notes=beat["narration"])
    w.text(s, (0.5, 0.3, 12.3, 1.0), [[(beat["title"], False)]], 30, bold=True)
    w.text(s, (0.5, 1.4, 5.3, 2.4), beat["bullets"], 18, bullet=True)
    if beat["source"]:
        w.code(s, (0.5, 3.9, 5.3, 3.0), beat["source"])
    if beat["clip"] and (lesson_dir / beat["clip"]).is_file():
        clip = lesson_dir / beat["clip"]
        movie_file = embeddable_clip(clip, media_dir)
        poster = poster_frame(beat, lesson_dir, clip, media_dir)
        used.update({movie_file, poster})
        info = probe(movie_file)
        width = 6.9
        height = width * info["height"] / info["width"]
        movie = s.shapes.add_movie(str(movie_file), Inches(6.1), Inches(1.4), Inches(width), Inches(height),
                                   poster_frame_image=str(poster), mime_type="video/mp4")
        _autoplay(s, movie, float(beat["duration"] or 0.0))
    w.text(s, (0.5, 7.0, 12.3, 0.35), [[(f"{footer}  ·  beat {beat['number']}: {beat['name']}", False)]], 10,
           color=theme.MUTED)


def _pptx_recap(w: _PptxWriter, lesson: dict[str, Any]) -> None:
    s = w.slide(notes="Recap. " + " ".join(lesson.get("recap") or []))
    w.text(s, (0.6, 0.5, 12.1, 1.0), [[("Recap", False)]], 36, bold=True)
    w.text(s, (0.6, 1.6, 12.1, 3.4), [inline_parts(r) for r in lesson.get("recap") or []], 20, bullet=True)
    if lesson.get("challenge"):
        w.text(s, (0.6, 5.1, 12.1, 0.5), [[("Your challenge", False)]], 20, color=theme.ACCENT, bold=True)
        w.text(s, (0.6, 5.6, 12.1, 1.3), [inline_parts(lesson["challenge"])], 18)
