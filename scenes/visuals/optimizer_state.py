"""`OptimizerState`: an optimiser's state step by step (the parameter, its gradient, and SGD's momentum buffer or
Adam's two moments), each a table with one row per step traced from the real optimiser's `opt.state[p]`; one
step's update is then worked for one element, every number read from the trace."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, Scene, SurroundingRectangle, VGroup

from scenes import theme
from scenes.anim import appear, glow
from scenes.errors import VisualError
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number
from scenes.visuals.base import TensorVisual

MAX_STEPS = 8  # rows of a table (steps traced); more would shrink the cells past legibility
MAX_ELEMENTS = 4  # columns: the elements of the parameter followed
MAX_DIGITS = 6  # decimals a table may grow to so its smallest non-zero value keeps two significant digits
LARGEST = 1e6  # no optimiser state this lesson-sized is larger: a sign the wrong tensor was named
FLOATS = ("float16", "bfloat16", "float32", "float64")
KIND = "OptimizerState"
AREA_W, AREA_H = 13.3, 5.7  # the beat's content area (scenes/beat.py CONTENT)
CHAR = 0.16  # width of a character of 22-point text, in Manim units
MIN_SCALE = 0.72  # below this a 22-point text is under the lint's 9 px at 480p


def hyper_text(value: float) -> str:
    """A hyperparameter as a learner types it: 0.9, 0.999, 0.01, 1e-08."""
    return f"{value:g}"


def table_digits(entry: TensorEntry, digits: int) -> int:
    """Decimals for a table: `digits`, or more (up to MAX_DIGITS) so its smallest non-zero value shows two
    significant digits (Adam's second moment is tiny; it must not read 0.000)."""
    sizes = [abs(float(v)) for v in entry.flat() if isinstance(v, int | float) and v != 0]
    if not sizes:
        return digits
    return min(MAX_DIGITS, max(digits, 1 - math.floor(math.log10(min(sizes)))))


FLAT = set("acemnorsuvwxzbdhiklt")  # letters that stand on the baseline (no descender)


def baseline(text: Any) -> float:
    """The y of a drawn name's baseline: the bottom of its first letter without a descender (its centre when
    none), so names with and without descenders (`params`, `grads`) line up as text does."""
    chars = [c for c in str(getattr(text, "text", "")) if not c.isspace()]
    glyphs = list(text.submobjects)
    for c, glyph in zip(chars, glyphs, strict=False):
        if c in FLAT:
            return float(glyph.get_bottom()[1])
    return float(text.get_y())


def power(t: int) -> str:
    """An exponent written as superscript digits: 3 -> ³."""
    return str(t).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


class OptimizerState(TensorVisual):
    """Tables side by side, one row per step: the parameter (a first row `start`, then after each step), its
    gradient at each step, and the optimiser's state after each step (SGD's `momentum_buffer`, or Adam's
    `exp_avg` and `exp_avg_sq`), every value traced from `opt.state[p]`. With `at` (a step number, 1-based) and
    `group` (the optimiser's hyperparameters), step `at` is worked for one element: its inputs light up (the
    gradient, the state and parameter before the step), then the state's update equation and the parameter's,
    each written with the traced numbers and ending in the value torch stored.

    `OptimizerState("params", "grads", "momentum_buffer", group="group", at=2)`: params (steps + 1, n), the
    others (steps, n). One state tensor means SGD with momentum, two mean Adam (first and second moment)."""

    takes: ClassVar[str] = "param, grad, states..."

    options: ClassVar[dict[str, str]] = {
        "group": "name of a traced dict of the optimiser's hyperparameters (from opt.param_groups[0]): lr and "
                 "momentum for SGD, lr, betas and eps for Adam; needed with `at`",
        "at": "a step number (1 to steps) whose update is worked for one element",
        "element": "the column (element of the parameter) the worked update follows (default 0)",
        "digits": "decimals shown (default 3; a table of tiny values gets more)",
    }

    @property
    def digits(self) -> int:
        return int(self.option("digits", 3))

    def steps(self) -> int:
        self.validate()
        return 1 + (3 if self.option("at") is not None else 0)

    # checks -----------------------------------------------------------------------------------------
    def names(self) -> tuple[str, str, list[str]]:
        tensors = list(self.spec.tensors)
        if len(tensors) not in (3, 4):
            raise VisualError(KIND, None, "give param, grad and one state (SGD's momentum_buffer) or two "
                              f"(Adam's exp_avg, exp_avg_sq); got {len(tensors)} names")
        return tensors[0], tensors[1], tensors[2:]

    def validate(self) -> None:
        param, grad, states = self.names()
        for name in (param, grad, *states):
            if name not in self.beat.tensors:
                raise VisualError(KIND, name, f"the beat returned no tensor {name!r}")
            entry = self.beat[name]
            if entry.dtype not in FLOATS:
                raise VisualError(KIND, name, f"optimiser values are floats, {name} is {entry.dtype}")
            if entry.ndim != 2:
                raise VisualError(KIND, name, f"needs a 2-D tensor (one row per step), got shape {list(entry.shape)}")
            if entry.truncated or entry.no_data:
                raise VisualError(KIND, name, "its values are not all traced")
            for v in entry.flat():
                if not isinstance(v, int | float) or not math.isfinite(v):
                    raise VisualError(KIND, name, f"a value is not finite ({v!r})")
                if abs(v) >= LARGEST:
                    raise VisualError(KIND, name, f"{v:g} is too large for an optimiser's state")
        steps, n = self.beat[grad].shape
        if not 1 <= steps <= MAX_STEPS:
            raise VisualError(KIND, grad, f"needs 1 to {MAX_STEPS} steps (rows), got {steps}")
        if not 1 <= n <= MAX_ELEMENTS:
            raise VisualError(KIND, grad, f"follows 1 to {MAX_ELEMENTS} elements (columns), got {n}")
        if list(self.beat[param].shape) != [steps + 1, n]:
            raise VisualError(KIND, param, f"needs shape [{steps + 1}, {n}] (the start, then one row per step "
                              f"of {grad}), got {list(self.beat[param].shape)}")
        for name in states:
            if list(self.beat[name].shape) != [steps, n]:
                raise VisualError(KIND, name, f"needs {grad}'s shape [{steps}, {n}], got {list(self.beat[name].shape)}")
        lines = []
        if self.option("at") is not None:
            t, j, hp = self.worked()
            recorded = self.shown.get("operands")
            lines = [text for text, _ in self.equations(t, j, hp)]
            if recorded is None:
                self.shown.pop("operands", None)  # recorded when the update is drawn, not when counted
            else:
                self.shown["operands"] = recorded
        self.legible(lines)

    def legible(self, lines: list[str]) -> None:
        """Refuse tables or equations too wide to draw at a legible size in the content area (from their
        characters, before anything is drawn)."""
        param, grad, states = self.names()
        steps, n = self.beat[grad].shape
        widths = {}
        for name in (param, grad, *states):
            entry = self.beat[name]
            digits = table_digits(entry, self.digits)
            widest = max(len(format_number(v, entry.dtype, digits)) for v in entry.flat())
            cell = max(theme.CELL_WIDTH * 0.75, 0.15 * widest + 0.28)
            widths[name] = max(n * cell + (n - 1) * 0.06, CHAR * len(name))
        wide = 1.3 + sum(widths.values()) + theme.GAP * (len(widths) - 1)
        strip = (1.7 if len(states) == 2 else 1.2) + 0.2 if lines else 0.0
        high = (steps + 1) * (theme.CELL_HEIGHT + 0.06) + 0.6 + (0.5 if self.hyper_parts() else 0.0)
        scale = min(AREA_W / wide, (AREA_H - strip) / high)
        if lines:
            scale = min(scale, AREA_W / (CHAR * max(len(text) for text in lines)))
        if scale < MIN_SCALE:
            raise VisualError(KIND, max(widths, key=lambda k: widths[k]), "the tables or the worked update are too "
                              "wide to stay legible: follow fewer elements, or shorter names and values")

    def worked(self) -> tuple[int, int, dict[str, float]]:
        """(step, element, hyperparameters) of the worked update, checked."""
        param, grad, states = self.names()
        steps, n = self.beat[grad].shape
        at, element = self.option("at"), self.option("element", 0)
        for what, v, top in (("at", at, steps), ("element", element, n - 1)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise VisualError(KIND, grad, f"{what} must be an int, got {v!r}")
            low = 1 if what == "at" else 0
            if not low <= v <= top:
                raise VisualError(KIND, grad, f"{what}={v} is outside {low} to {top}")
        name = self.option("group")
        if not name:
            raise VisualError(KIND, param, "a worked step needs group= (a traced dict of the hyperparameters)")
        group = self.beat.values.get(name)
        if not isinstance(group, dict):
            where = name if name in self.beat.values else param  # the entry the lesson returned, or the table
            raise VisualError(KIND, where, f"group={name!r} names no traced dict of hyperparameters")
        wanted = ["lr", "momentum"] if len(states) == 1 else ["lr", "beta1", "beta2", "eps"]
        hyper: dict[str, float] = {}
        betas = group.get("betas")
        if isinstance(betas, list) and len(betas) == 2:
            hyper["beta1"], hyper["beta2"] = betas
        for k in ("lr", "momentum", "eps", "weight_decay", "dampening"):
            if k in group:
                hyper[k] = group[k]
        for k in wanted:
            v = hyper.get(k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise VisualError(KIND, name, f"the group needs a number {k!r} for this update, got {v!r}")
        if hyper.get("weight_decay", 0) or hyper.get("dampening", 0) or group.get("nesterov") \
                or group.get("amsgrad") or group.get("maximize"):
            raise VisualError(KIND, name, "the worked update is plain SGD with momentum or plain Adam: no "
                              "weight_decay, dampening, nesterov, amsgrad or maximize")
        return at, element, {k: float(hyper[k]) for k in wanted}

    # drawing ----------------------------------------------------------------------------------------
    def table(self, name: str, role: str) -> TensorGrid:
        entry = self.beat[name]
        grid = TensorGrid(entry, role=role, digits=table_digits(entry, self.digits), show_indices=False,
                          show_badge=False, max_rows=MAX_STEPS + 1, max_cols=MAX_ELEMENTS, tag=name)
        # under "tables": each table has its own decimals (tiny second moments get more), so the cells are
        # checked against the trace with the decimals recorded in "digits" (tests/test_visuals_optimizer_state.py)
        self.shown.setdefault("tables", {})[name] = {",".join(map(str, i)): t for i, t in grid.shown.items()}
        self.shown.setdefault("digits", {})[name] = grid.digits
        return grid

    def hyper_line(self) -> VGroup | None:
        """The optimiser's hyperparameters as the group holds them (lr, momentum, betas, eps), or None without one."""
        parts = self.hyper_parts()
        if not parts:
            return None
        text = "    ".join(parts)
        self.shown["hyper"] = text
        return VGroup(label(text, theme.CAPTION_SIZE, theme.ACCENT))

    def hyper_parts(self) -> list[str]:
        """`lr = 0.1`, `betas = (0.9, 0.999)`...: the numbers the group holds."""
        group = self.beat.values.get(str(self.option("group", "")))
        if not isinstance(group, dict):
            return []
        parts = []
        for key in ("lr", "momentum", "betas", "eps"):
            v = group.get(key)
            if isinstance(v, list) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v) and v:
                parts.append(f"{key} = ({', '.join(hyper_text(float(x)) for x in v)})")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                parts.append(f"{key} = {hyper_text(float(v))}")
        return parts

    def value(self, name: str, row: int, col: int) -> str:
        """A cell's text as its table shows it (the equation quotes the table)."""
        entry = self.beat[name]
        return format_number(entry.at(row, col), entry.dtype, table_digits(entry, self.digits))

    def play(self, scene: Scene) -> Iterator[None]:
        self.validate()
        param, grad, states = self.names()
        steps = self.beat[grad].shape[0]
        worked = self.option("at") is not None
        main, strip = self.split_area(1.7 if len(states) == 2 else 1.2) if worked else (self.area, self.area)
        grids = [self.table(param, "input"), self.table(grad, "gradient"),
                 *[self.table(s, "output") for s in states]]
        names = ["start", *[f"step {t}" for t in range(1, steps + 1)]]
        rows = VGroup(*[label(text, theme.CAPTION_SIZE, theme.MUTED) for text in names])
        for g in grids[1:]:
            g.next_to(grids[grids.index(g) - 1], RIGHT, buff=theme.GAP)
            g.shift(UP * (grids[0].cell(1, 0).get_y() - g.cell(0, 0).get_y()))
            g.tag.shift(UP * (baseline(grids[0].tag) - baseline(g.tag)))  # names on one line, as text sits
        for t, text in enumerate(rows):
            text.next_to(grids[0].cell(t, 0), LEFT, buff=0.3)
        right = min(text.get_right()[0] for text in rows)
        for text in rows:
            text.shift(RIGHT * (right - text.get_right()[0]))
        hyper = self.hyper_line()
        if hyper is not None:  # in the empty corner beside `start`, over the tables that begin at step 1
            hyper.scale_to_fit_height(grids[0].cell(0, 0)[1].height * 1.15)
            room = grids[-1].get_right()[0] - grids[1].get_left()[0]
            hyper.move_to(grids[1].get_left(), aligned_edge=LEFT).set_y(grids[0].cell(0, 0).get_y())
            if hyper.width > room:  # no room in the corner: a line of its own under the tables
                hyper.next_to(VGroup(*grids), DOWN, buff=0.3).align_to(grids[1], LEFT)
        picture = VGroup(rows, *grids, *([hyper] if hyper is not None else []))
        self.fit(picture, main, max_scale=1.3)
        self.shown["rows"] = names
        scene.play(*[appear(g) for g in grids], FadeIn(rows), *([FadeIn(hyper)] if hyper is not None else []),
                   run_time=1.0)
        yield
        if not worked:
            return
        t, j, hp = self.worked()
        cells = {name: g for name, g in zip([param, grad, *states], grids, strict=True)}
        # step t: its inputs, the gradient at step t, the state after step t - 1, the parameter before step t
        inputs = [grids[0].cell(t - 1, j), grids[1].cell(t - 1, j)]
        if t > 1:
            inputs += [cells[s].cell(t - 2, j) for s in states]
        n = self.beat[grad].shape[1]
        row = [rows[t], *[grids[0].cell(t, c) for c in range(n)],
               *[g.cell(t - 1, c) for g in grids[1:] for c in range(n)]]
        band = SurroundingRectangle(VGroup(*row), color=theme.ACCENT, buff=0.06)
        self.shown["at"] = {"step": t, "element": j}
        scene.play(FadeIn(band), glow(inputs), rows[t].animate.set_color(theme.ACCENT), run_time=0.8)
        yield
        lines = self.equations(t, j, hp)
        self.shown["equations"] = [text for text, _ in lines]
        texts = VGroup(*[label(text, theme.NOTE_SIZE, color) for text, color in lines])
        texts.arrange(DOWN, aligned_edge=LEFT, buff=0.14)
        self.fit(texts, strip, max_scale=1.0)
        state_lines, param_line = texts[:-1], texts[-1]
        scene.play(FadeIn(state_lines), glow([cells[s].cell(t - 1, j) for s in states], theme.ROLES["output"]),
                   run_time=0.9)
        yield
        scene.play(FadeIn(param_line), glow([grids[0].cell(t, j)], theme.ROLES["output"]), run_time=0.9)
        yield

    def equations(self, t: int, j: int, hyper: dict[str, float]) -> list[tuple[str, str]]:
        """The worked update's lines, (text, colour): each state's, then the parameter's; every number is a
        traced value (a table's cell or a hyperparameter), and each line ends in the value torch stored."""
        param, grad, states = self.names()
        g = self.value(grad, t - 1, j)
        p0, p1 = self.value(param, t - 1, j), self.value(param, t, j)
        lr = hyper_text(hyper["lr"])
        self.shown["operands"] = {"grad": [grad, t - 1, j, g], "param_before": [param, t - 1, j, p0],
                                  "param_after": [param, t, j, p1]}
        out: list[tuple[str, str]] = []
        if len(states) == 1:
            (buf,) = states
            b1 = self.value(buf, t - 1, j)
            self.shown["operands"]["state"] = [[buf, t - 1, j, b1]]
            if t == 1:
                out.append((f"{buf} = {grad} = {b1}", theme.ROLES["output"]))
            else:
                b0 = self.value(buf, t - 2, j)
                self.shown["operands"]["state_before"] = [[buf, t - 2, j, b0]]
                mom = hyper_text(hyper["momentum"])
                out.append((f"{buf} = {mom} × {b0} + {g} = {b1}", theme.ROLES["output"]))
            out.append((f"{param} = {p0} − {lr} × {b1} = {p1}", theme.ROLES["input"]))
            return out
        m_name, v_name = states
        b1, b2, eps = hyper_text(hyper["beta1"]), hyper_text(hyper["beta2"]), hyper_text(hyper["eps"])
        m1, v1 = self.value(m_name, t - 1, j), self.value(v_name, t - 1, j)
        self.shown["operands"]["state"] = [[m_name, t - 1, j, m1], [v_name, t - 1, j, v1]]
        if t == 1:
            out.append((f"{m_name} = (1 − {b1}) × {g} = {m1}", theme.ROLES["output"]))
            out.append((f"{v_name} = (1 − {b2}) × {g}² = {v1}", theme.ROLES["output"]))
        else:
            m0, v0 = self.value(m_name, t - 2, j), self.value(v_name, t - 2, j)
            self.shown["operands"]["state_before"] = [[m_name, t - 2, j, m0], [v_name, t - 2, j, v0]]
            out.append((f"{m_name} = {b1} × {m0} + (1 − {b1}) × {g} = {m1}", theme.ROLES["output"]))
            out.append((f"{v_name} = {b2} × {v0} + (1 − {b2}) × ({g})² = {v1}", theme.ROLES["output"]))
        m_hat, v_hat = f"({m1} / (1 − {b1}{power(t)}))", f"√({v1} / (1 − {b2}{power(t)}))"
        out.append((f"{param} = {p0} − {lr} × {m_hat} / ({v_hat} + {eps}) = {p1}", theme.ROLES["input"]))
        return out
