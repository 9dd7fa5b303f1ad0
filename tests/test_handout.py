"""The PDF handout, checked for what it is: one page per slide (pdfinfo), each clip's poster drawn where
the clip plays (pdftoppm, pixels), every line of code on its page (pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from render import decks, handout
from render.errors import ToolMissing
from tests.test_decks import LONG_SOURCE, assert_code_fits_html, parse
from tests.test_decks_fixtures import make_built_lesson

ASSETS_REL = "../../assets"


def test_missing_chromium_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolMissing, match="apt-get install chromium"):
        handout.find_chromium()


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


def page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_handout_prints_posters_and_code(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    if shutil.which("chromium") is None or shutil.which("pdftoppm") is None:
        pytest.skip("chromium and poppler-utils come with ./dev setup --test")
    lesson, lesson_dir = make_built_lesson(tmp_path_factory)
    lesson = {**lesson, "beats": [{**b, "source": LONG_SOURCE if i == 1 else b["source"]}
                                  for i, b in enumerate(lesson["beats"])]}
    decks.copy_deck_assets(lesson_dir.parent.parent)
    html = decks.write_html_deck(lesson, lesson_dir, ASSETS_REL)
    slides = parse(html).slides
    pdf = handout.write_handout(html)
    assert pdf == lesson_dir / "deck.pdf" and not list(lesson_dir.glob("*.tmp*"))
    n = len(lesson["beats"]) + 2
    assert pdf_pages(pdf) == n  # one slide per page
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == n
    for number, (beat, slide) in enumerate(zip(lesson["beats"], slides[1:-1], strict=True), start=2):
        image = Image.open(pages[number - 1]).convert("RGB")
        w, h = image.size
        # where the clip plays: its poster (the colourful test pattern), not a black box
        media = image.crop((int(w * 0.47), int(h * 0.2), int(w * 0.95), int(h * 0.6)))
        stat = ImageStat.Stat(media)
        assert min(stat.mean) > 20 and max(stat.stddev) > 40, (number, stat.mean, stat.stddev)
        # every line of the code is on the page, as laid out for the slide
        assert_code_fits_html(slide, beat)
        text = page_text(pdf, number)
        for line in slide["code"].strip("\n").splitlines():
            assert line.strip() in text, (number, line)
        assert beat["title"] in text
    print(f"pages: {tmp_path}")
