"""Content hashes of a step's real inputs: files, the code a visual imports, settings and tool versions."""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def digest(value: Any) -> str:
    """sha256 of a JSON-able value in canonical form (sorted keys, no whitespace)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()[:20]


def file_digest(path: Path) -> str:
    """The content hash of a file (computed once per process for an unchanged file)."""
    stat = path.stat()
    return _content_digest(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _content_digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]


def tree_digest(paths: Iterable[Path]) -> dict[str, str]:
    """{path relative to the project: content hash} for files, walking folders."""
    out: dict[str, str] = {}
    for path in paths:
        if not path.exists():
            out[_name(path)] = "absent"
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts or f.suffix == ".pyc":
                continue
            out[_name(f)] = file_digest(f)
    return out


def _name(path: Path) -> str:
    """A file's name in a digest: relative to the project when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def module_path(module: str, folders: tuple[Path, ...] = ()) -> Path | None:
    """The file of a module inside this project (scenes.x -> scenes/x.py), also looked for in `folders`
    (a lesson script's own folder), or None if it is not ours."""
    first = module.split(".", 1)[0]
    for top in (ROOT, *folders):
        if first not in _names_in(top):  # torch, manim, typing...: not ours, no need to look further
            continue
        base = top.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@functools.lru_cache(maxsize=64)
def _names_in(folder: Path) -> frozenset[str]:
    """Module names a folder can provide: its sub-folders and .py files (read once per process)."""
    try:
        return frozenset(p.stem if p.suffix == ".py" else p.name for p in folder.iterdir())
    except OSError:
        return frozenset()


def forget_files() -> None:
    """Forget the folder listings and import walks cached for this process (a long-running process whose
    files change calls this before planning again)."""
    from scenes.spec import forget_visuals

    _names_in.cache_clear()
    _dependencies.cache_clear()
    _code_digest.cache_clear()
    forget_visuals()


class ImportMemo:
    """Parsed imports kept between runs in the build's state folder, keyed by file, mtime and size: parsing
    the studio's and the scripts' sources was most of a no-op rerun's time."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.found: dict[str, list[str]] = {}
        self.dirty = False

    def open(self, path: Path) -> None:
        if path == self.path:
            return
        self.path, self.dirty = path, False
        try:
            self.found = dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            self.found = {}

    def get(self, path: Path, stat: Any) -> tuple[str, ...]:
        key = f"{path}|{stat.st_mtime_ns}|{stat.st_size}"
        if key not in self.found:
            self.found[key] = list(_parsed_imports(path, stat.st_mtime_ns, stat.st_size))
            self.dirty = True
        return tuple(self.found[key])

    def save(self) -> None:
        from render.files import write_text

        if self.path is not None and self.dirty:
            live = {k: v for k, v in self.found.items() if Path(k.split("|", 1)[0]).is_file()}
            with contextlib.suppress(OSError):  # a cache: a read-only or full disk only costs the next run time
                write_text(self.path, json.dumps(live))
            self.dirty = False


IMPORTS = ImportMemo()


def _imports(path: Path) -> tuple[str, ...]:
    return IMPORTS.get(path, path.stat())


def script_imports(script: Path) -> tuple[str, ...]:
    """What a script imports: module names, and `module.name` for each name imported from a module."""
    try:
        return _imports(script)
    except OSError:
        return ()


@functools.lru_cache(maxsize=1024)
def _parsed_imports(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError):
        return ()  # a broken script fails when it is loaded, with its line
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return tuple(found)


def code_dependencies(module: str) -> list[Path]:
    """`module`'s file and every project file it imports, transitively (parsed, not imported)."""
    return list(_dependencies(module))


@functools.lru_cache(maxsize=256)
def _dependencies(module: str) -> tuple[Path, ...]:
    return tuple(_follow([module], {}, ()))


# data files a project module reads for a script that imports it (0.1.1 draws the course manifest)
READS = {ROOT / "render" / "course.py": (ROOT / "scripts" / "course.toml",)}


def script_dependencies(script: Path) -> list[Path]:
    """A lesson script and every project file it imports, transitively: the studio's modules and helper
    modules of its own (`from _models import MLP` beside it, or `from scripts.module2._models import MLP`)."""
    seen: dict[Path, None] = {script: None}
    found = _follow(list(_imports(script)), seen, (script.parent,))
    return sorted({*found, *(data for path in found for data in READS.get(path, ()))})


def _follow(stack: list[str], seen: dict[Path, None], folders: tuple[Path, ...]) -> list[Path]:
    while stack:
        name = stack.pop()
        parts = name.split(".")
        # importing a.b.c runs a/__init__ and a/b/__init__ too
        for i in range(1, len(parts) + 1):
            path = module_path(".".join(parts[:i]), folders)
            if path is None or path in seen:
                continue
            seen[path] = None
            stack.extend(_imports(path))
    return sorted(seen)


def code_digest(module: str) -> dict[str, str]:
    """The content hashes of `module` and every project file it imports (once per process, until
    `forget_files`: `render lint` asks for the same modules' digests for every beat)."""
    return dict(_code_digest(module))


@functools.lru_cache(maxsize=256)
def _code_digest(module: str) -> tuple[tuple[str, str], ...]:
    return tuple(tree_digest(code_dependencies(module)).items())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def tool_version(tool: str) -> str:
    """First line of `tool -version` / `--version`, or 'missing'."""
    exe = shutil.which(tool)
    if exe is None:
        return "missing"
    flag = "-version" if tool in ("ffmpeg", "ffprobe") else "--version"
    try:
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0] if out else "unknown"


@functools.cache
def tool_versions() -> dict[str, str]:
    """Versions of everything that shapes an output, read without importing the heavy packages."""
    versions = {p: _version(p) for p in ("torch", "manim", "av", "manimpango", "pydub", "piper-tts", "python-pptx")}
    versions["ffmpeg"] = tool_version("ffmpeg")
    versions["espeak-ng"] = tool_version("espeak-ng")
    return versions
