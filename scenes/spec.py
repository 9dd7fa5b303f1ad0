"""What a lesson script says about a beat's picture: which visual, which trace entries, which options.

A `VisualSpec` is plain data, so lesson scripts name visuals without importing Manim and the build can
hash it. Visual `Name` is implemented by class `Name` in `scenes/visuals/<snake_name>.py`; the build hashes
that module and everything it imports from the project, so editing a shared visual re-renders exactly the
beats that use it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VISUALS_DIR = Path(__file__).parent / "visuals"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@functools.lru_cache(maxsize=1)
def available_visuals() -> list[str]:
    """Visual names found in scenes/visuals (each file's CamelCase name)."""
    names = []
    for path in sorted(VISUALS_DIR.glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        names.append("".join(part.capitalize() for part in path.stem.split("_")))
    return names


@dataclass(frozen=True)
class VisualSpec:
    """A visual from the vocabulary applied to named trace entries (inputs first, result last)."""

    kind: str
    tensors: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (VISUALS_DIR / f"{snake(self.kind)}.py").is_file():
            raise ValueError(
                f"unknown visual {self.kind!r}; the vocabulary has {', '.join(available_visuals())}"
            )

    @property
    def module(self) -> str:
        return f"scenes.visuals.{snake(self.kind)}"

    @property
    def implementation(self) -> str:
        return f"{self.module}:{self.kind}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "tensors": list(self.tensors), "options": self.options}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VisualSpec:
        return cls(data["kind"], tuple(data["tensors"]), dict(data["options"]))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))
