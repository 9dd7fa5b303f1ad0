"""The one theme: colours, fonts and sizes shared by the Manim scenes and the deck CSS.

Plain data (no Manim import) so the deck builder can read it too. Colours are hex strings by role.
"""

from __future__ import annotations

from typing import Any

# The laboratory: a dark bench, glowing reagents.
BACKGROUND = "#12141c"
PANEL = "#1d2130"
PANEL_EDGE = "#3a4160"
TEXT = "#e8e6f0"
MUTED = "#9aa0b8"
ACCENT = "#c77dff"  # Torchenstein's violet spark

ROLES = {
    "input": "#4cc9f0",
    "output": "#80ed99",
    "selected": "#ffd166",
    "gradient": "#ff6b6b",
    "ghost": "#5c6380",
    "error": "#ff4d6d",
    "summed": "#f28482",  # einsum indices that are summed away
    "free": "#80ed99",  # einsum indices kept in the result
}

# Several inputs of one picture (cat, stack, split pieces), in order.
# Six hues far apart on the dark background (no two yellows or oranges: six curves on one plot stay apart).
SERIES = ["#4cc9f0", "#ffd166", "#c77dff", "#80ed99", "#ff6b6b", "#f1f3f9"]

# The three fields of a stored float (BitFields).
BIT_FIELDS = {"sign": "#ff6b6b", "exponent": "#4cc9f0", "mantissa": "#ffd166"}

DTYPE_COLORS = {
    "float32": "#4cc9f0",
    "float64": "#4895ef",
    "float16": "#f4a261",
    "bfloat16": "#e76f51",
    "int64": "#80ed99",
    "int32": "#57cc99",
    "int16": "#38a3a5",
    "int8": "#22577a",
    "uint8": "#2a9d8f",
    "bool": "#ffd166",
}

DEVICE_COLORS = {"cpu": "#adb5bd", "cuda": "#76b900", "mps": "#a2aaad"}

FONT = "DejaVu Sans"
MONO = "DejaVu Sans Mono"

# Manim units: the frame is 14.2 wide and 8 high whatever the resolution.
FRAME_MARGIN = 0.35
TITLE_SIZE = 34
BODY_SIZE = 26
CELL_SIZE = 22
CAPTION_SIZE = 22
CODE_SIZE = 18
BADGE_SIZE = 17
NOTE_SIZE = 22  # explanations under a picture: equations, "asked for 4, got 3"
CELL_WIDTH = 0.9
CELL_HEIGHT = 0.55
GAP = 0.6  # between the tensors of one picture


def dtype_color(dtype: str) -> str:
    return DTYPE_COLORS.get(dtype, ROLES["input"])


def device_color(device: str) -> str:
    return DEVICE_COLORS.get(device.split(":")[0], TEXT)


def css_variables() -> dict[str, Any]:
    """The theme as CSS custom properties, for the deck and course page templates."""
    variables = {
        "--bg": BACKGROUND,
        "--panel": PANEL,
        "--panel-edge": PANEL_EDGE,
        "--text": TEXT,
        "--muted": MUTED,
        "--accent": ACCENT,
        "--font": f"'{FONT}', sans-serif",
        "--mono": f"'{MONO}', monospace",
    }
    variables.update({f"--{role}": color for role, color in ROLES.items()})
    variables.update({f"--dtype-{name}": color for name, color in DTYPE_COLORS.items()})
    variables.update({f"--device-{name}": color for name, color in DEVICE_COLORS.items()})
    return variables
