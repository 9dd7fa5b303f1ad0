"""`ModuleBoxes`: a traced nn.Module as nested boxes (class names, parameter shapes, counts, training flag)."""

from __future__ import annotations

from typing import Any

from manim import DOWN, LEFT, RIGHT, UP, Mobject, RoundedRectangle, VGroup, VMobject

from scenes import theme
from scenes.mobjects.text import label, mono
from scenes.trace import ModuleEntry, ModuleNode, TensorEntry, shape_text

HEAD_SIZE = 20
LINE_SIZE = 17
DEPTH_COLORS = [theme.ACCENT, theme.ROLES["input"], theme.SERIES[1], theme.SERIES[3]]
BUFFER_COLOR = theme.SERIES[1]
TRAIN_COLOR, EVAL_COLOR = theme.ROLES["output"], theme.ROLES["gradient"]


def kept_children(children: tuple[ModuleNode, ...], limit: int) -> list[ModuleNode | int]:
    """The children drawn: all when they are few, else the first ones, the count elided, and the last."""
    if len(children) <= limit:
        return list(children)
    head = max(1, limit - 2)
    return [*children[:head], len(children) - head - 1, children[-1]]


def tensor_line(local: str, entry: TensorEntry, kind: str) -> VGroup:
    """`weight 8x4` for a parameter; buffers in their own colour, with `buffer` (or `not saved`)."""
    name_color = theme.TEXT if kind == "parameter" else BUFFER_COLOR
    parts = [mono(local, LINE_SIZE, name_color), mono(shape_text(entry.shape), LINE_SIZE, theme.MUTED)]
    if kind != "parameter":
        note = "buffer" if kind == "buffer" else "buffer, not saved"
        parts.append(label(note, LINE_SIZE, BUFFER_COLOR if kind == "buffer" else theme.ROLES["ghost"]))
    return VGroup(*parts).arrange(RIGHT, buff=0.15)


class ModuleBoxes(VGroup):
    """One rounded box per submodule, children nested inside their parent, alternating rows and columns.

    `boxes[path]` is a module's box (its rectangle is `boxes[path][0]`), `heads[path]` its title line,
    `lines[dotted path]` the line of each parameter or buffer drawn, `shown[path]` what each box says
    (class, training flag, parameter shapes, count) for the truth tests. Past `max_children` children the
    middle ones are elided into a "… n more" box; past `max_depth` a module is drawn closed, with its count.
    """

    def __init__(self, module: ModuleEntry, *, max_children: int = 6, max_depth: int = 3,
                 buffers: bool = True, direction: Any = RIGHT, order_slots: bool = False,
                 previews: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.module = module
        self.max_children = max_children
        self.max_depth = max_depth
        self.show_buffers = buffers
        self.order_slots = order_slots
        self.preview_texts = previews or {}
        self.previews: dict[str, Mobject] = {}  # hidden value previews, revealed by a visual
        self.boxes: dict[str, VGroup] = {}
        self.heads: dict[str, VGroup] = {}
        self.slots: dict[str, Mobject] = {}
        self.lines: dict[str, VGroup] = {}
        self.shown: dict[str, dict[str, Any]] = {}
        self.elided: list[str] = []
        self.layers: list[tuple[int, VGroup]] = []  # (depth, a box's own pieces): what appears, outside in
        self.root = self._box(module.tree, 0, direction)
        self.add(self.root)

    def _head(self, node: ModuleNode, depth: int) -> VGroup:
        name = self.module.name if depth == 0 else node.name
        parts: list[VMobject] = [
            label(f"{name}: {node.cls}", HEAD_SIZE, DEPTH_COLORS[depth % len(DEPTH_COLORS)], weight="BOLD")
        ]
        if depth and node.children and node.parameter_count:  # a container's count (the root's: the caption)
            parts.append(label(f"{node.parameter_count:,} params", LINE_SIZE, theme.MUTED))
            self.shown[node.path]["count"] = node.parameter_count
        if depth == 0 or node.training != self.module.training:
            flag = "train" if node.training else "eval"
            parts.append(label(flag, LINE_SIZE, TRAIN_COLOR if node.training else EVAL_COLOR))
        if self.order_slots:  # room for the forward-order number, filled later
            slot = label("00", LINE_SIZE, theme.BACKGROUND)
            slot.set_opacity(0)
            self.slots[node.path] = slot
            parts.append(slot)
        head = VGroup(*parts).arrange(RIGHT, buff=0.18)
        self.heads[node.path] = head
        return head

    def _own_lines(self, node: ModuleNode) -> VGroup:
        lines = VGroup()
        record: dict[str, list[int]] = {}
        for local in node.parameters:
            path = node.full(local)
            entry = self.module.tensor(path)
            line = tensor_line(local, entry, "parameter")
            if local in node.shared:
                line.add(label(f"= {node.shared[local]}", LINE_SIZE, theme.MUTED)).arrange(RIGHT, buff=0.15)
            self._preview(path, line)
            self.lines[path] = line
            record[local] = list(entry.shape)
            lines.add(line)
        if self.show_buffers:
            for local in node.buffers:
                path = node.full(local)
                line = tensor_line(local, self.module.buffers[path], self.module.kind(path))
                self._preview(path, line)
                self.lines[path] = line
                record[local] = list(self.module.buffers[path].shape)
                lines.add(line)
        self.shown[node.path]["tensors"] = record
        if not len(lines):
            return lines
        if not node.children and len(lines) <= 2 and not node.buffers:  # a leaf's weight and bias: one line
            return lines.arrange(RIGHT, buff=0.35)
        return lines.arrange(DOWN, aligned_edge=LEFT, buff=0.08)

    def _preview(self, path: str, line: VGroup) -> None:
        """Room at the end of a tensor line for its values, drawn invisible until a visual reveals them."""
        if path in self.preview_texts:
            preview = mono(self.preview_texts[path], LINE_SIZE, theme.ROLES["output"]).set_opacity(0)
            line.add(preview).arrange(RIGHT, buff=0.15)
            self.previews[path] = preview

    def _box(self, node: ModuleNode, depth: int, direction: Any) -> VGroup:
        self.shown[node.path] = {"class": node.cls, "training": node.training}
        content = VGroup(self._head(node, depth))
        own = self._own_lines(node)
        pieces = VGroup(content[0])
        if len(own):
            content.add(own)
            pieces.add(own)
        if node.children and depth < self.max_depth:
            inner = VGroup()
            turn = DOWN if direction is RIGHT else RIGHT
            for child in kept_children(node.children, self.max_children):
                if isinstance(child, int):
                    more = self._more(child)
                    inner.add(more)
                    self.layers.append((depth + 1, more))
                    self.elided.extend(c.path for c in node.children[-1 - child:-1])
                else:
                    inner.add(self._box(child, depth + 1, turn))
            aligned = UP if direction is RIGHT else LEFT
            content.add(inner.arrange(direction, buff=0.18, aligned_edge=aligned))
        elif node.children:
            text = label(f"{len(node.children)} children, not drawn", LINE_SIZE, theme.MUTED)
            content.add(text)
            pieces.add(text)
            self.elided.extend(n.path for n in node.walk() if n is not node)
        content.arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        rect = RoundedRectangle(
            corner_radius=0.1, width=content.width + 0.28, height=content.height + 0.22,
            stroke_color=DEPTH_COLORS[depth % len(DEPTH_COLORS)], stroke_width=2.5,
            fill_color=theme.PANEL, fill_opacity=0.55 if depth else 0.3,
        ).move_to(content)
        box = VGroup(rect, content)
        self.boxes[node.path] = box
        self.layers.append((depth, VGroup(rect, *pieces)))
        return box

    def _more(self, count: int) -> VGroup:
        text = label(f"… {count} more", LINE_SIZE, theme.MUTED)
        rect = RoundedRectangle(corner_radius=0.12, width=text.width + 0.36, height=text.height + 0.3,
                                stroke_color=theme.ROLES["ghost"], stroke_width=2).move_to(text)
        return VGroup(rect, text)

    def order_badge(self, path: str, number: int) -> Mobject:
        """The forward-order number for a box, placed in the slot its title line kept for it."""
        badge = label(str(number), LINE_SIZE + 1, theme.ROLES["selected"], weight="BOLD")
        slot = self.slots[path]
        return badge.scale_to_fit_height(min(badge.height, slot.height * 1.05)).move_to(slot, aligned_edge=LEFT)

    def drawn_paths(self) -> list[str]:
        return list(self.boxes)


def module_caption(module: ModuleEntry) -> str:
    """`1,234 parameters (1,000 trainable) · training=True`: the totals torch counted."""
    trainable = "" if module.trainable_count == module.parameter_count else f" ({module.trainable_count:,} trainable)"
    return f"{module.parameter_count:,} parameters{trainable}  ·  {module.name}.training = {module.training}"
