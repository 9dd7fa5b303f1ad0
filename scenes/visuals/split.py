"""`Split`: a tensor cut into pieces along `dim` (split, chunk, unbind)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, note
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual, largest_arrangement


class Split(TensorVisual):
    """The source, then its cells travel into the pieces (each in its own colour). With `op="chunk"` and
    `asked` (a number, or the name of a traced value), says when fewer chunks came back than were asked."""

    takes: ClassVar[str] = "src, pieces..."

    options: ClassVar[dict[str, str]] = {
        "dim": "axis cut along (default 0)",
        "op": "'split', 'chunk' or 'unbind' (default 'split')",
        "asked": "chunk: how many chunks were asked for (a number, or the name of a traced value)",
    }

    def validate(self) -> None:
        src_name, *piece_names = self.spec.tensors
        src = self.beat[src_name]
        raw = int(self.option("dim", 0))
        if not -src.ndim <= raw < src.ndim:
            self.refuse(src_name, f"dim={raw} is not an axis of {src_name} ({shape_text(src.shape)}): a 0-D tensor "
                        "cannot be cut" if not src.ndim else f"dim={raw} is not an axis of {src_name} "
                        f"({shape_text(src.shape)})")
        dim = raw % src.ndim
        unbind = self.option("op", "split") == "unbind"
        for name in piece_names:
            piece = self.beat[name].shape
            expected = src.shape[:dim] + src.shape[dim + 1:] if unbind else None
            fits = piece == expected if unbind else (len(piece) == src.ndim and all(
                a == dim or n == m for a, (n, m) in enumerate(zip(piece, src.shape, strict=True))))
            if not fits:
                self.refuse(name, f"{shape_text(piece)} is not a piece of {src_name} ({shape_text(src.shape)}) cut "
                            f"along dim {dim}: {'unbind removes that axis' if unbind else 'the other axes match'}")
        total = len(piece_names) if unbind else sum(self.beat[n].shape[dim] for n in piece_names)
        if total != src.shape[dim]:
            self.refuse(piece_names[-1] if piece_names else src_name, f"the pieces cover {total} of the "
                        f"{src.shape[dim]} along dim {dim} of {src_name}: name every piece, in order")

    def steps(self) -> int:
        """The source; its cells travel into the pieces."""
        return 2

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, *piece_names = self.spec.tensors
        src = self.beat[src_name]
        dim = int(self.option("dim", 0)) % src.ndim
        op = self.option("op", "split")
        main, bottom = self.split_area(0.9)
        sgrid = self.grid(src_name)
        pieces = [self.grid(n, role=theme.SERIES[k % len(theme.SERIES)]) for k, n in enumerate(piece_names)]
        along = RIGHT if dim == src.ndim - 1 else DOWN
        arrangements = [lambda g: g.arrange(along, buff=theme.GAP)]
        if len(pieces) >= 3:  # many pieces: two columns keep them legible
            arrangements.append(lambda g: g.arrange_in_grid(cols=2, buff=theme.GAP))
        group = largest_arrangement(
            VGroup(*pieces), main, arrangements,
            around=lambda g: VGroup(sgrid.copy(), g).arrange(RIGHT, buff=theme.GAP * 2),
        )
        picture = VGroup(sgrid, group).arrange(RIGHT, buff=theme.GAP * 2)
        self.fit(picture, main)
        links = []
        offset = 0
        for k, name in enumerate(piece_names):
            piece = self.beat[name]
            for idx in piece.indices():
                src_idx = (
                    (*idx[:dim], k, *idx[dim:])
                    if op == "unbind"
                    else tuple(i + offset if a == dim else i for a, i in enumerate(idx))
                )
                links.append((src_name, sgrid, src_idx, name, pieces[k], idx))
                if sgrid.has(src_idx):
                    sgrid.cell(*src_idx)[0].set_stroke(theme.SERIES[k % len(theme.SERIES)])
            offset += 1 if op == "unbind" else piece.shape[dim]
        sizes = [1 if op == "unbind" else self.beat[n].shape[dim] for n in piece_names]
        self.shown["sizes"] = sizes
        text = f"{op}(dim={dim}): {src.shape[dim]} along dim {dim} -> pieces of " + ", ".join(map(str, sizes))
        if op == "unbind":
            text = f"unbind(dim={dim}): {len(piece_names)} pieces, axis {dim} removed from each"
        asked = self.option("asked")
        if isinstance(asked, str):
            asked = self.text_value(asked)
        if op == "chunk" and asked is not None:
            self.shown["asked"] = [int(asked), len(piece_names)]
            if int(asked) != len(piece_names):
                text = (
                    f"chunk({asked}, dim={dim}) asked for {asked} chunks but returned {len(piece_names)}: "
                    f"chunks of {sizes[0]} cover all {src.shape[dim]}"
                )
        caption = note(text, theme.ROLES["selected"] if "returned" in text else theme.MUTED)
        bottom.fit(caption)
        scene.play(appear(sgrid), run_time=0.8)
        yield
        fill(scene, self.pairs(links), pieces, Write(caption), run_time=1.3)
        yield
