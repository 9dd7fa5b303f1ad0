"""`ComputationGraph`: the autograd graph from the trace, laid out in layers (leaves left, loss right)."""

from __future__ import annotations

from typing import Any

from manim import DOWN, RIGHT, Arrow, RoundedRectangle, VGroup

from scenes import theme
from scenes.mobjects.text import label
from scenes.trace import AutogradGraph


def layers(graph: AutogradGraph) -> dict[str, int]:
    """Each node's layer: its longest distance from a root (a node nothing sends gradients to)."""
    incoming = {n.id: 0 for n in graph.nodes}
    for _, dst in graph.edges:
        incoming[dst] += 1
    depth = {n.id: 0 for n in graph.nodes if incoming[n.id] == 0}
    frontier = list(depth)
    children: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        children.setdefault(src, []).append(dst)
    while frontier:  # a DAG: relax until stable (graphs here are small)
        nxt = []
        for node in frontier:
            for child in children.get(node, []):
                if depth.get(child, -1) < depth[node] + 1:
                    depth[child] = depth[node] + 1
                    nxt.append(child)
        frontier = nxt
    return depth


class ComputationGraph(VGroup):
    """One box per grad_fn node (its class name and the tensor it made), arrows in the forward direction.
    `boxes[id]`, `edges[(src, dst)]` (src sends gradients to dst; the arrow points dst -> src, forward)."""

    def __init__(self, graph: AutogradGraph, *, subtitles: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        subtitles = subtitles or {}
        depth = layers(graph)
        deepest = max(depth.values(), default=0)
        self.layer_of = {nid: deepest - d for nid, d in depth.items()}  # 0 = leaves (left)
        self.boxes: dict[str, VGroup] = {}
        self.values: dict[str, Any] = {}
        columns: dict[int, list[str]] = {}
        for node in graph.nodes:
            columns.setdefault(self.layer_of[node.id], []).append(node.id)
        names = {n.id: n for n in graph.nodes}
        cols = VGroup()
        for layer in sorted(columns):
            col = VGroup()
            for nid in columns[layer]:
                node = names[nid]
                title = label(node.name, theme.CAPTION_SIZE - 4, theme.ACCENT)
                lines = VGroup(title)
                if node.tensor:
                    lines.add(label(node.tensor, theme.CAPTION_SIZE, theme.TEXT, weight="BOLD"))
                sub = subtitles.get(nid)
                value = label(sub, theme.CAPTION_SIZE - 4, theme.ROLES["output"]) if sub else VGroup()
                lines.add(value)
                self.values[nid] = value
                lines.arrange(DOWN, buff=0.1)
                box = RoundedRectangle(
                    corner_radius=0.1,
                    width=max(2.2, lines.width + 0.3),
                    height=lines.height + 0.3,
                    stroke_color=theme.PANEL_EDGE,
                    stroke_width=2,
                    fill_color=theme.PANEL,
                    fill_opacity=1,
                )
                group = VGroup(box, lines.move_to(box))
                self.boxes[nid] = group
                col.add(group)
            cols.add(col.arrange(DOWN, buff=0.5))
        cols.arrange(RIGHT, buff=1.0)
        self.columns = cols
        self.edges: dict[tuple[str, str], Arrow] = {}
        arrows = VGroup()
        for src, dst in graph.edges:
            a, b = self.boxes[dst], self.boxes[src]  # forward: from the input (dst) to the op that used it
            arrow = Arrow(
                a.get_right(), b.get_left(), buff=0.08, stroke_width=3, tip_length=0.15, color=theme.MUTED
            )
            self.edges[(src, dst)] = arrow
            arrows.add(arrow)
        self.arrows = arrows
        self.add(arrows, cols)
