"""`Loader`: a DataLoader dealing a dataset's items into batches, in the order the real loader produced them.

The dataset's items are numbered cards in index order; then, one step per batch, copies of the cards the
loader picked fly down into that batch's row, in the traced order; a batch shorter than the largest is marked
short; items the loader never yielded (the partial batch `drop_last` threw away) are shown dropped, last.
Every index comes from the trace: nothing is shuffled or counted here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, cast

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, LaggedStart, RoundedRectangle, Scene, Text, Transform, VGroup

from scenes import theme
from scenes.lint import MIN_TEXT_PX, text_px
from scenes.mobjects.code_panel import CodePanel
from scenes.mobjects.text import label
from scenes.trace import TensorEntry
from scenes.typed_code import typed_code
from scenes.visuals.base import Area, TensorVisual

MAX_ITEMS = 12  # dataset cards in one row, legible at 480p
MAX_BATCHES = 6  # batch rows (one step each)
MAX_CHARS = 7  # characters of one card's value
INTEGER = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
CARD_H = 0.62
ROW_GAP = 0.28


def integers(entry: TensorEntry) -> list[int]:
    return [int(v) for v in entry.flat()]


class Loader(TensorVisual):
    """`Loader("data", "order", "sizes")`: `data` holds the dataset's items (1-D, one number per item,
    N <= 12), `order` the dataset indices in the order the DataLoader yielded them (1-D integers: the batches'
    indices concatenated), `sizes` each batch's size (1-D integers summing to len(order), at most 6 batches).
    Steps: the dataset (with the code, unless `code=False`); one per batch; one more for the items never
    yielded (dropped), if any."""

    takes: ClassVar[str] = "data, order, sizes"

    options: ClassVar[dict[str, str]] = {
        "code": "False: no code panel (default True: the beat's source on the left, shown with the dataset)",
        "digits": "decimals shown for float items (default 2)",
    }

    def validate(self) -> None:
        data_name, order_name, sizes_name = self.spec.tensors
        data, order, sizes = (self.beat[n] for n in self.spec.tensors)
        for e in (data, order, sizes):
            if e.no_data or e.truncated:
                self.refuse(e.name, "needs every value traced (a small CPU tensor)")
            if e.ndim != 1:
                self.refuse(e.name, f"needs a 1-D tensor, got shape {list(e.shape)}")
        if not 1 <= data.numel <= MAX_ITEMS:
            self.refuse(data_name, f"draws 1 to {MAX_ITEMS} dataset items, got {data.numel}")
        if data.is_complex:
            self.refuse(data_name, f"draws one real number per item, {data_name} is {data.dtype}")
        longest = max(len(data.label(i, digits=self.digits)) for i in range(data.numel))
        if longest > MAX_CHARS:
            self.refuse(data_name, f"a card holds up to {MAX_CHARS} characters, a value of {data_name} takes "
                        f"{longest}: show smaller values (or the indices)")
        for e in (order, sizes):
            if e.dtype not in INTEGER:
                self.refuse(e.name, f"needs integers (dataset indices, batch sizes), got {e.dtype}")
        n = data.numel
        bad = [i for i in integers(order) if not 0 <= i < n]
        if bad:
            self.refuse(order_name, f"index {bad[0]} is not an item of a dataset of {n}")
        counts = integers(sizes)
        if not 1 <= len(counts) <= MAX_BATCHES:
            self.refuse(sizes_name, f"draws 1 to {MAX_BATCHES} batches, got {len(counts)}")
        if any(not 1 <= c <= MAX_ITEMS for c in counts):
            self.refuse(sizes_name, f"each batch holds 1 to {MAX_ITEMS} items, got {counts}")
        if sum(counts) != order.numel:
            self.refuse(sizes_name, f"the batch sizes sum to {sum(counts)}, but {order_name} holds "
                        f"{order.numel} indices")

    def batches(self) -> list[list[int]]:
        """The traced order cut into the traced batch sizes."""
        _, order_name, sizes_name = self.spec.tensors
        order = integers(self.beat[order_name])
        out, start = [], 0
        for size in integers(self.beat[sizes_name]):
            out.append(order[start:start + size])
            start += size
        return out

    def dropped(self) -> list[int]:
        """Dataset indices the loader never yielded, in index order."""
        data_name, order_name, _ = self.spec.tensors
        seen = set(integers(self.beat[order_name]))
        return [i for i in range(self.beat[data_name].numel) if i not in seen]

    def steps(self) -> int:
        self.validate()
        return 1 + len(self.batches()) + (1 if self.dropped() else 0)

    def card(self, i: int, width: float, color: str) -> VGroup:
        data_name = self.spec.tensors[0]
        text = self.beat[data_name].label(i, digits=self.digits)
        box = RoundedRectangle(corner_radius=0.08, width=width, height=CARD_H, stroke_color=color,
                               stroke_width=2.5, fill_color=theme.PANEL, fill_opacity=1.0)
        value = label(text, theme.CELL_SIZE, theme.TEXT).move_to(box)
        tag = label(f"[{i}]", theme.CELL_SIZE - 1, theme.MUTED).next_to(box, UP, buff=0.05)
        return VGroup(box, value, tag)

    def row(self, head: str, cards: list[VGroup], head_width: float, tail: Any = None) -> VGroup:
        name = label(head, theme.BADGE_SIZE + 4, theme.MUTED)
        slot = VGroup(*cards).arrange(RIGHT, buff=0.12)
        group = VGroup(name, slot)
        if tail is not None:
            group.add(tail)
        name.move_to(slot.get_left() + LEFT * (head_width + 0.25), aligned_edge=LEFT)
        if tail is not None:
            tail.next_to(slot, RIGHT, buff=0.25)
        return group

    @staticmethod
    def place(code: CodePanel, picture: VGroup, area: Area, gap: float = 0.4) -> Area:
        """Place the code panel on the left, or above the cards, as keeps both largest; return the area left
        for the cards."""
        def left(fraction: float) -> tuple[float, float]:
            code_w = fraction * area.width
            rest_w = area.width - code_w - gap
            return (min(1.0, code_w / code.width, area.height / code.height),
                    min(1.4, rest_w / picture.width, area.height / picture.height))

        def top(fraction: float) -> tuple[float, float]:
            code_h = fraction * area.height
            rest_h = area.height - code_h - gap
            return (min(1.0, area.width / code.width, code_h / code.height),
                    min(1.4, area.width / picture.width, rest_h / picture.height))

        fractions = (0.3, 0.38, 0.46, 0.54, 0.6)
        best = max([(left, f) for f in fractions] + [(top, f) for f in fractions],
                   key=lambda c: (min(c[0](c[1])), c[0](c[1])[1]))
        place, fraction = best
        code.scale(place(fraction)[0])
        x0, y0 = area.x - area.width / 2, area.y + area.height / 2
        if place is left:
            code.move_to((x0 + code.width / 2, area.y, 0.0))
            rest_w = area.width - code.width - gap
            return Area(x0 + code.width + gap + rest_w / 2, area.y, rest_w, area.height)
        code.move_to((x0 + code.width / 2, y0 - code.height / 2, 0.0))
        rest_h = area.height - code.height - gap
        return Area(area.x, y0 - code.height - gap - rest_h / 2, area.width, rest_h)

    def play(self, scene: Scene) -> Iterator[None]:
        self.validate()
        data_name, order_name, sizes_name = self.spec.tensors
        data, order, sizes = (self.beat[n] for n in self.spec.tensors)
        n = data.numel
        batches, dropped = self.batches(), self.dropped()
        width = max(0.62, max(label(data.label(i, digits=self.digits), theme.CELL_SIZE).width for i in range(n)) + 0.25)
        heads = [f"batch {k}" for k in range(len(batches))] + ["dataset"] + (["dropped"] if dropped else [])
        head_width = max(label(h, theme.BADGE_SIZE + 4).width for h in heads)
        full = max(len(b) for b in batches)

        items = [self.card(i, width, theme.ROLES["input"]) for i in range(n)]
        dataset = self.row("dataset", items, head_width)
        rows, slots, tails = [], [], []
        for k, batch in enumerate(batches):
            short = len(batch) < full
            tail = label(f"{len(batch)} items" + (", short" if short else ""), theme.BADGE_SIZE + 4,
                         theme.ROLES["selected"] if short else theme.MUTED)
            cards = [self.card(i, width, theme.SERIES[k % len(theme.SERIES)]) for i in batch]
            rows.append(self.row(f"batch {k}", cards, head_width, tail))
            slots.append(cards)
            tails.append(tail)
        dropped_cards = [self.card(i, width, theme.ROLES["error"]) for i in dropped]
        dropped_row = self.row("dropped", dropped_cards, head_width) if dropped else None
        # batch rows' cards line up under the dataset's first card
        column = [dataset, *rows, *([dropped_row] if dropped_row else [])]
        picture = VGroup(*column).arrange(DOWN, buff=ROW_GAP, aligned_edge=LEFT)
        picture[1:].shift(DOWN * 0.25)

        area = self.area
        code = CodePanel(typed_code(self.beat.source, self.beat.values)) if self.option("code", True) else None
        if code is not None:
            area = self.place(code, picture, area)
        self.fit(picture, area, max_scale=1.4)
        if text_px(cast(Text, items[0][2])) < MIN_TEXT_PX:
            self.refuse(data_name, f"{n} cards this wide are too small to read beside the rest; draw fewer or "
                        "shorter values, or pass code=False")

        self.shown[data_name] = {str(i): data.label(i, digits=self.digits) for i in range(n)}
        self.shown[order_name] = {str(k): order.label(k) for k in range(order.numel)}
        self.shown[sizes_name] = {str(k): sizes.label(k) for k in range(sizes.numel)}
        self.shown["batches"] = [list(b) for b in batches]
        self.shown["dealt"] = [[k, j, i, data.label(i, digits=self.digits)]
                               for k, b in enumerate(batches) for j, i in enumerate(b)]
        self.shown["dropped"] = list(dropped)
        first = [FadeIn(dataset[0]), LaggedStart(*[FadeIn(c) for c in items], lag_ratio=0.05)]
        if code is not None:
            self.shown["code"] = code.lines
            first.insert(0, FadeIn(code, shift=0.2 * RIGHT))
        scene.play(*first, run_time=0.6)
        yield
        for k, (row, cards) in enumerate(zip(rows, slots, strict=True)):
            batch = batches[k]
            copies = [items[i].copy() for i in batch]
            scene.add(*copies)
            scene.play(FadeIn(row[0]), LaggedStart(*[Transform(c, dst) for c, dst in zip(copies, cards, strict=True)],
                                                   lag_ratio=0.08, group=VGroup()), run_time=0.6)
            scene.remove(*copies)
            scene.add(*cards)
            scene.play(FadeIn(tails[k]), *[items[i].animate.set_opacity(0.45) for i in sorted(set(batch))],
                       run_time=0.5)
            yield
        if dropped_row is not None:
            copies = [items[i].copy().set_opacity(1.0) for i in dropped]
            scene.add(*copies)
            scene.play(FadeIn(dropped_row[0]),
                       *[Transform(c, dst) for c, dst in zip(copies, dropped_cards, strict=True)], run_time=0.6)
            scene.remove(*copies)
            scene.add(*dropped_cards)
            yield
