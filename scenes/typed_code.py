"""A beat's code as a learner types it: the compute function's body, without the studio's machinery.

The code panel, the decks and the notebook show this, not the function the trace ran: the body at top level
(`device` is the learner's, as in the notebook's first cell), the `expect(...)` checks hidden (the trace ran
them, and every claim is checked there), a captured error as the line that raises with the error beside it,
returned expressions as assignments, no `return {...}` and no lint comments. Pure Python (`ast`), so scenes
and the build use the same text; a source it cannot read is shown as it is.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

CHECKS = ("expect", "expect_each")
CAPTURE = "capture_error"
MACHINERY = ("render.lesson", "scenes")  # `from render.lesson import expect` inside a beat is hidden with the
# checks; an import the shown code reads (`from render.course import load_course`) stays
ERROR_WIDTH = 48  # characters of a traced error written beside the line that raises it
LINT_COMMENT = re.compile(r"\s*#\s*(noqa|type:\s*ignore|pragma)\b.*$")


def typed_code(source: str, values: dict[str, Any] | None = None, runnable: bool = False) -> str:
    """The learner's code for a compute function's `source`; `values` are the beat's traced values (the
    captured errors' texts). `runnable` writes a captured error as try/except printing it (a notebook cell
    runs as shown); otherwise as the raising line with the error in a comment beside it."""
    text = textwrap.dedent(source).rstrip()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return source.rstrip()
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return source.rstrip()
    fn = tree.body[0]
    lines = text.splitlines()
    errors = _returned_errors(fn, {} if values is None else values)
    replaced: dict[int, tuple[int, list[str]]] = {}  # first line -> (last line, replacement lines)
    hidden = _hidden_captures(fn)
    body = fn.body[1:] if _is_docstring(fn.body[0]) else fn.body
    if body is not fn.body:
        replaced[fn.body[0].lineno] = (fn.body[0].end_lineno or fn.body[0].lineno, [])
    for stmt in _all_statements(body):
        first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
        if _only_checks(stmt):
            replaced[first] = (last, [])
            continue
        orelse = getattr(stmt, "orelse", None)
        if isinstance(stmt, ast.If | ast.For | ast.While) and orelse and all(_only_checks(s) for s in orelse):
            keyword = next(r for r in range(orelse[0].lineno - 1, first, -1) if lines[r - 1].strip().startswith("else"))
            replaced[keyword] = (last, [])  # an else that only checks goes with its checks
        elif isinstance(stmt, ast.If | ast.For | ast.While) and all(_only_checks(s) for s in stmt.body):
            replaced[stmt.body[0].lineno] = (stmt.body[-1].end_lineno or stmt.body[0].lineno, ["pass"])
        elif isinstance(stmt, ast.Return) and stmt in body:
            replaced[first] = (last, _returned(stmt, lines, errors, runnable))
        elif stmt in hidden and (raised := _captured(stmt)) is not None:
            replaced[first] = (last, _raising(_segment(raised, lines), errors.get(hidden[stmt]), runnable))
    kept: list[str] = []
    row = _first_shown_line(fn, lines)
    while row <= (fn.end_lineno or row):
        if row in replaced:
            last, new = replaced[row]
            indent = _indent(lines[row - 1])
            kept.extend(indent + n for n in new)
            row = last + 1
            continue
        kept.append(LINT_COMMENT.sub("", lines[row - 1]))
        row += 1
    code = textwrap.dedent("\n".join(kept)).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", code)


def _first_shown_line(fn: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """The body's first line, a comment written above its first statement included (the learner reads it)."""
    row = fn.body[0].lineno
    while row - 1 > fn.lineno and lines[row - 2].strip().startswith("#"):
        row -= 1
    return row


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _all_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement of a body, nested ones after their parent (checks inside a loop are hidden too)."""
    found: list[ast.stmt] = []
    for stmt in body:
        found.append(stmt)
        if not _only_checks(stmt):
            for field in ("body", "orelse", "finalbody"):
                found.extend(_all_statements(getattr(stmt, field, []) or []))
    return found


def _is_check(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id in CHECKS)


def _only_checks(stmt: ast.stmt) -> bool:
    """A check (or an import of the studio's helpers), or a loop or branch that does nothing but check (hidden
    whole)."""
    module = stmt.module or "" if isinstance(stmt, ast.ImportFrom) else None
    if _is_check(stmt) or (module is not None and any(module == m or module.startswith(f"{m}.") for m in MACHINERY)):
        return True
    if isinstance(stmt, ast.For | ast.While | ast.If | ast.With):
        inner = list(stmt.body) + list(getattr(stmt, "orelse", []) or [])
        return bool(inner) and all(_only_checks(s) for s in inner)
    return False


def _captured(stmt: ast.stmt) -> ast.expr | None:
    """The expression in `name = capture_error(lambda: EXPR)...` (the one that raises), or None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    return _lambda_body(stmt.value)


def _lambda_body(node: ast.expr) -> ast.expr | None:
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == CAPTURE
                and call.args and isinstance(call.args[0], ast.Lambda)):
            return call.args[0].body
    return None


def _used_after(name: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, stmt: ast.stmt) -> bool:
    """Whether code after `stmt` (not a check; a returned expression counts, it is shown) reads `name`."""
    end = stmt.end_lineno or stmt.lineno
    for later in _all_statements(fn.body):
        if later.lineno <= end or _only_checks(later):
            continue
        read: list[ast.AST] = [later]
        if isinstance(later, ast.Return):  # a returned expression becomes an assignment the learner sees
            values = later.value.values if isinstance(later.value, ast.Dict) else [later.value]
            read = [v for v in values if v is not None and not isinstance(v, ast.Name | ast.Constant)]
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               for node in read for n in ast.walk(node)):
            return True
    return False


def _returned_errors(fn: ast.FunctionDef | ast.AsyncFunctionDef, values: dict[str, Any]) -> dict[str, str]:
    """Captured error texts by local name (and by key, for `"error": capture_error(...)` in the return)."""
    errors: dict[str, str] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                said = values.get(key.value)
                if isinstance(said, str):
                    errors[value.id if isinstance(value, ast.Name) else key.value] = said
    return errors


def _segment(node: ast.AST, lines: list[str]) -> str:
    return ast.get_source_segment("\n".join(lines), node) or ast.unparse(node)


def _raising(expr: str, error: str | None, runnable: bool) -> list[str]:
    """The line that raises: with its error beside it, or (runnable) in a try that prints the error."""
    expr = " ".join(expr.split())
    if runnable:
        return ["try:", f"    {expr}", "except Exception as error:", "    print(f\"{type(error).__name__}: {error}\")"]
    said = " ".join((error or "").split()) or "raises an error"
    if len(said) > ERROR_WIDTH:
        said = said[: ERROR_WIDTH - 1].rsplit(" ", 1)[0] + " …"
    return [f"{expr}  # {said}"]


def _returned(stmt: ast.Return, lines: list[str], errors: dict[str, str], runnable: bool) -> list[str]:
    """`return {...}` as the assignments of the expressions it computes (names returned as they are vanish)."""
    if not isinstance(stmt.value, ast.Dict):
        return [] if stmt.value is None else [f"result = {_segment(stmt.value, lines)}"]
    out: list[str] = []
    assigned: list[tuple[str, ast.expr]] = []
    for key, value in zip(stmt.value.keys, stmt.value.values, strict=True):
        if key is None or isinstance(value, ast.Name | ast.Constant):
            continue
        name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        raised = _lambda_body(value)
        if raised is not None:
            out.extend(_raising(_segment(raised, lines), errors.get(name or ""), runnable))
        elif name is not None and name.isidentifier():
            assigned.append((name, value))
    return out + [f"{name} = {' '.join(_segment(value, lines).split())}" for name, value in _unclobbered(assigned)]


def _unclobbered(assigned: list[tuple[str, ast.expr]]) -> list[tuple[str, ast.expr]]:
    """The returned values' assignments in an order where none rebinds a name a later one still reads
    (`"idx": idx.tolist(), "row": bincount(idx)` assigns `row` first); the written order where none does."""
    reads = {name: {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} for name, value in assigned}
    order: list[tuple[str, ast.expr]] = []
    left = list(assigned)
    while left:
        ready = next((item for item in left
                      if not any(item[0] in reads[other] for other, _ in left if other != item[0])), left[0])
        order.append(ready)
        left.remove(ready)
    return order


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def returned_names(source: str) -> dict[str, str] | None:
    """What the notebook prints after a beat's code: returned key -> the name holding it in the typed code;
    None when the function returns something other than a dict literal (the typed code names it `result`)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return {}
    fn = tree.body[0] if len(tree.body) == 1 else None
    if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            isinstance(s, ast.Return) and s.value is not None and not isinstance(s.value, ast.Dict) for s in fn.body):
        return None
    shown: dict[str, str] = {}
    hidden = {name for fn in tree.body if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
              for name in _hidden_captures(fn).values()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)) or _lambda_body(value):
                    continue
                if isinstance(value, ast.Name):
                    if value.id not in hidden:
                        shown[key.value] = value.id
                elif key.value.isidentifier() and not isinstance(value, ast.Constant):
                    shown[key.value] = key.value
    return shown


def _hidden_captures(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[ast.stmt, str]:
    """`name = capture_error(...)` statements the typed code writes as the raising line (their name is not read
    later: code that reads the captured text shows the capture as written), with the name."""
    hidden: dict[ast.stmt, str] = {}
    for stmt in _all_statements(fn.body):
        if _captured(stmt) is not None and isinstance(stmt, ast.Assign):  # _captured: one Name target
            name = stmt.targets[0].id  # type: ignore[attr-defined]
            if not _used_after(name, fn, stmt):
                hidden[stmt] = name
    return hidden
