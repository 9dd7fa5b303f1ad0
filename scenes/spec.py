"""What a lesson script says about a beat's picture: which visual, which trace entries, which options.

A `VisualSpec` is plain data, so lesson scripts name visuals without importing Manim and the build can
hash it. Visual `Name` is the class `Name` of some module in `scenes/visuals/`, named exactly as lesson
authors type it (`ReLU`, `MLP`, `MatmulSweep`); the index below finds it by reading the folder's source
with `ast` (no import, no Manim), together with the options the class declares. The build hashes the
visual's module and everything it imports from the project, so editing a shared visual re-renders exactly
the beats that use it.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenes.errors import UnknownVisual

VISUALS_DIR = Path(__file__).parent / "visuals"
VISUALS_PACKAGE = "scenes.visuals"
BASE = Path(__file__).parent / "visuals" / "base.py"  # Visual and TensorVisual
ROOTS = ("Visual", "TensorVisual")  # the protocol's base classes (scenes/visuals/base.py)


@dataclass(frozen=True)
class VisualInfo:
    """One visual as its source declares it: class name, module, options (inherited ones included) and the trace
    entries it takes (`takes`, like "x, W, [b], y": brackets mark an optional name, `...` one or more)."""

    name: str
    module: str
    options: dict[str, str]
    takes: str | None = None

    def check_count(self, given: tuple[str, ...]) -> None:
        """`UnknownVisual` saying what the visual takes when `given` has a count of names it cannot take."""
        if self.takes is not None and not counts_allowed(self.takes)(len(given)):
            raise UnknownVisual(f"{self.name} takes ({self.takes}); got {given!r}")


def counts_allowed(takes: str) -> Callable[[int], bool]:
    """Whether a count of names fits a `takes` declaration: "a, b, result" takes 3, "x, [token, x2]" 1 or 3,
    "inputs..., result" 2 or more, "" none."""
    counts, unbounded = {0}, False
    for group in re.findall(r"\[[^\]]*\]|[^,\[\]]+", takes):
        names = [n.strip() for n in group.strip("[] ").split(",") if n.strip()]
        if not names:
            continue
        many = any(n.endswith("...") for n in names)
        unbounded = unbounded or many
        if group.strip().startswith("["):
            counts |= {c + len(names) for c in counts}
        else:
            counts = {c + len(names) for c in counts}
    least = min(counts)
    return (lambda n: n >= least) if unbounded else (lambda n: n in counts)


@dataclass(frozen=True)
class _Class:
    name: str
    stem: str
    bases: tuple[str, ...]
    options: dict[str, str]
    takes: str | None


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _declared_options(cls: ast.ClassDef, path: Path) -> dict[str, str]:
    """The literal `options = {...}` (annotated or not) in a class body; {} when it declares none."""
    value = _declared(cls, path, "options")
    return {} if value is None else {str(k): str(v) for k, v in value.items()}


def _declared(cls: ast.ClassDef, path: Path, attribute: str) -> Any:
    """The literal value of `attribute = ...` (annotated or not) in a class body; None when it declares none."""
    for stmt in cls.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        if isinstance(target, ast.Name) and target.id == attribute and value is not None:
            try:
                return ast.literal_eval(value)
            except ValueError:
                raise UnknownVisual(f"{path}:{stmt.lineno}: {cls.name}.{attribute} must be a literal") from None
    return None


def _sources(folder: Path) -> list[Path]:
    """The folder's modules, and the protocol's base.py (so another folder's visuals can subclass it)."""
    paths = sorted(folder.glob("*.py"))
    return paths if BASE in paths else [BASE, *paths]


def _classes(paths: list[Path]) -> dict[str, _Class]:
    """Every top-level class of these modules, by name; a name defined twice is an error."""
    found: dict[str, _Class] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            if node.name in found:
                raise UnknownVisual(
                    f"class {node.name} is defined in both {found[node.name].stem}.py and {path.name}"
                )
            bases = tuple(_base_name(b) for b in node.bases)
            found[node.name] = _Class(node.name, path.stem, bases, _declared_options(node, path),
                                      _declared(node, path, "takes"))
    return found


def _options(name: str, classes: dict[str, _Class], seen: frozenset[str] = frozenset()) -> dict[str, str] | None:
    """A class's options with those of its visual bases first, or None when it is not a visual class."""
    cls = classes.get(name)
    if cls is None or name in seen:
        return None
    merged: dict[str, str] = {}
    visual = name in ROOTS and cls.stem == "base"
    for base in cls.bases:
        inherited = _options(base, classes, seen | {name})
        if inherited is not None:
            visual = True
            merged.update(inherited)
    return {**cls.options, **{k: v for k, v in merged.items() if k not in cls.options}} if visual else None


@functools.cache
def _index(paths: tuple[Path, ...], package: str, stamp: tuple[int, ...]) -> dict[str, VisualInfo]:
    classes = _classes(list(paths))
    index = {}
    for name, cls in classes.items():
        options = _options(name, classes)
        if options is not None and cls.stem != "base" and not name.startswith("_"):
            index[name] = VisualInfo(name, f"{package}.{cls.stem}", options, cls.takes)
    return dict(sorted(index.items()))


_known: dict[tuple[Path, str], dict[str, VisualInfo]] = {}


def visual_index(folder: Path | None = None, package: str | None = None) -> dict[str, VisualInfo]:
    """Visuals by class name: every top-level class in `folder` (default scenes/visuals) that subclasses
    `Visual` or `TensorVisual`, directly or through another class there. Read with `ast`, once per process
    until `forget_visuals` (every beat's spec asks; a long-running `render serve` forgets before each
    rebuild)."""
    key = (folder or VISUALS_DIR, package or VISUALS_PACKAGE)
    if key not in _known:
        paths = tuple(_sources(key[0]))
        _known[key] = _index(paths, key[1], tuple(p.stat().st_mtime_ns for p in paths))
    return _known[key]


def forget_visuals() -> None:
    """Read the visuals' folder again at the next `visual_index` (its files may have changed)."""
    _known.clear()


def available_visuals() -> list[str]:
    """The names lesson scripts may use, sorted."""
    return list(visual_index())


def visual_info(kind: str) -> VisualInfo:
    """The index entry of visual `kind`; `UnknownVisual` listing the valid names when there is none."""
    index = visual_index()
    if kind not in index:
        raise UnknownVisual(f"unknown visual {kind!r}; the vocabulary has {', '.join(index)}")
    return index[kind]


@dataclass(frozen=True)
class VisualSpec:
    """A visual from the vocabulary applied to named trace entries (inputs first, result last)."""

    kind: str
    tensors: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        info = visual_info(self.kind)
        valid = info.options
        info.check_count(self.tensors)
        for name in self.options:
            if name not in valid:
                takes = f"it takes {', '.join(valid)}" if valid else "it takes none"
                raise UnknownVisual(f"{self.kind} takes no option {name!r}; {takes}")

    @property
    def module(self) -> str:
        return visual_info(self.kind).module

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
