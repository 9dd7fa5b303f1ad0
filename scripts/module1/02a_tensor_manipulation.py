"""1.1.2 Tensor Surgery & Assembly: index, slice and mask tensors; join them with cat and stack; cut them
with split, chunk and unbind."""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Cat, Index, Mask, Split, Stack, Title

lesson = Lesson(
    objectives=[
        "Pick single elements and rows by index",
        "Slice ranges and steps out of a tensor",
        "Select with boolean masks",
        "Join tensors: `torch.cat` against `torch.stack`",
        "Cut tensors: `split`, `chunk` and `unbind`",
    ],
    recap=[
        "Indexing picks; slicing `start:stop:step` keeps a view",
        "A boolean mask keeps the cells where it is True",
        "`cat` grows an existing axis, `stack` makes a new one",
        "`split` by size, `chunk` by count, `unbind` drops an axis",
    ],
    challenge="Take a batch of images shaped batch, channels, height, width. Chunk it into equal "
    "groups (pick a count that divides the batch), stack the groups back along a new first axis, and "
    "predict the shape before you run it.",
)


def shares(piece, whole):
    """Whether `piece` reads the storage of `whole` (a view, not a copy)."""
    return piece.untyped_storage().data_ptr() == whole.untyped_storage().data_ptr()



@lesson.beat(
    "What you will learn",
    narration="""Scalpels ready, apprentices! Today is surgery day. | We shall pick single elements and whole
    rows by index, | carve ranges with slices, | and select with boolean masks. | Then we graft tensors
    together with cat and stack, learn when each is right, | and cut them apart again with split, chunk and
    unbind. By the end, no tensor in the laboratory will be safe.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Indexing: one row",
    narration="""Our patient is a {{ grid.shape }} grid counting up from {{ grid.values[0][0] }}. | Index it
    with a single number, {{ i }}, and the first axis answers: that whole row lights up. As in Python,
    counting starts at zero. | Out it comes, {{ row.values }}, a vector of {{ row.numel }}: one axis fewer than
    the grid. As the note says, it is a view: it shares the grid's memory.""",
    visual=Index("grid", "row", index="1"),
    slide=["`t[i]` picks along the first axis", "Counting starts at zero", "Each integer index drops an axis"],
)
def indexing(device):
    grid = torch.arange(12, device=device).reshape(3, 4)
    i = 1
    row = grid[i]
    expect(row.ndim == grid.ndim - 1, "an integer index drops an axis")
    expect(shares(row, grid), "the row is a view of the grid")
    expect_each([torch.zeros(5), torch.zeros(3, 4), torch.zeros(2, 3, 4), torch.zeros(1, 2, 1, 3)],
                lambda t: t[0].ndim == t.ndim - 1 and shares(t[0], t),
                "an integer index drops an axis and gives a view")
    return {"grid": grid, "row": row, "i": i}


@lesson.beat(
    "Indexing: one cell",
    narration="""Now one index per axis: {{ i }} for the row, {{ j }} for the column. | A negative index counts
    from the end, as in Python: {{ i }} is the last row, number {{ last }}, and the note does the sum. | Out
    comes {{ cell.item }}, a lone scalar: each integer index dropped an axis, so this tensor has no axes at
    all. When you need a plain Python number, call item on it.""",
    visual=Index("grid", "cell", index="-1, 2"),
    slide=["`t[i, j]`: one index per axis, one element", "`t[-1]`: negative indices count from the end",
           "A 0-D tensor; `t[i, j].item()` is a number"],
)
def one_cell(device):
    grid = torch.arange(12, device=device).reshape(3, 4)
    i, j = -1, 2
    cell = grid[i, j]
    last = len(grid) - 1
    expect(torch.equal(grid[i], grid[last]), "minus one is the last row")
    expect(cell.ndim == 0 and cell.shape == (), "one index per axis leaves a tensor with no axes")
    expect(isinstance(cell.item(), int) and cell.item() == grid[last, j], "item gives a plain Python number")
    expect_each([torch.zeros(5), torch.zeros(3, 4), torch.zeros(2, 3, 4), torch.zeros(1, 2, 1, 3)],
                lambda t: t[(-1,) * t.ndim].ndim == 0 and torch.equal(t[-1], t[t.shape[0] - 1]),
                "one index per axis leaves a scalar; minus one is the last along its axis")
    return {"grid": grid, "cell": cell, "i": i, "j": j, "last": last}


@lesson.beat(
    "Slicing ranges and steps",
    narration="""Now a finer cut: a range on the rows and a step on the columns. | The stop of a range is left
    out, exactly as in Python lists, so row {{ stop }} stays behind; the step of {{ step }} takes every other
    column. Only these cells glow. | Out comes a {{ block.shape }} block whose rows read {{ block.values[0] }},
    then {{ block.values[1] }}. And, as the note says, a slice copies nothing: it is a view into the same
    storage, so writing into it would wound the original too.""",
    visual=Index("grid", "block", index="0:2, ::2"),
    slide=["`t[a:b]`: the stop is left out", "`t[:, ::2]`: every other column",
           "Slices are views, not copies", "Steps must be positive: `t.flip(0)` reverses"],
)
def slicing(device):
    grid = torch.arange(12, device=device).reshape(3, 4)
    block = grid[0:2, ::2]
    stop, step = 2, 2
    expect(torch.equal(block, grid[0:stop, ::step]), "the stop and step the narration names")
    expect(torch.equal(block, grid[[0, 1]][:, [0, 2]]), "rows 0 and 1, every other column")
    expect(shares(block, grid), "a slice shares the grid's storage")
    patient = grid.clone()
    patient[0:2, ::2][0, 1] = -1
    expect(patient[0, 2] == -1, "writing into a slice changes the original")
    expect_each([grid[0:2, 1:3], grid[:, ::2], grid[1:, :], grid[::2, 1::2], grid[-2:, :-1]],
                lambda piece: shares(piece, grid), "slices, with or without a step, are views of the same storage")
    expect(capture_error(lambda: grid[::-1]) != "", "a negative step is refused")
    expect(torch.equal(grid.flip(0)[0], grid[-1]) and not shares(grid.flip(0), grid), "flip reverses, as a copy")
    return {"grid": grid, "block": block, "stop": stop, "step": step}


@lesson.beat(
    "Boolean masks",
    narration="""Sometimes we select by value, not position. Compare the scores with zero and you get a mask
    of {{ mask.dtype }}, True wherever a score is positive. | Those cells glow in both grids. | Index with the
    mask and only they survive, flattened into a vector of {{ kept.numel }}: {{ kept.values }}. As the caption
    says, a mask of the full shape always gives a flat vector like this. This ritual filters padding and drops
    outliers.""",
    visual=Mask("scores", "mask", "kept"),
    slide=["`mask = t > 0` is a bool tensor", "`t[mask]`: a copy of the True cells",
           "Full-shape mask: a 1-D result", "Row mask `t[rows]`: whole rows kept"],
)
def masks(device):
    scores = torch.tensor([[0.5, -1.2, 2.0],
                           [-0.3, 1.1, -2.4]], device=device)
    mask = scores > 0
    kept = scores[mask]
    expect(mask.dtype == torch.bool, "a comparison gives a bool mask")
    expect(kept.ndim == 1 and kept.numel() == mask.sum(), "a full-shape mask keeps its True cells, flat")
    rows = scores[:, 0] > 0
    expect(scores[rows].shape == (rows.sum(), scores.shape[1]), "a row mask keeps whole rows")
    expect(not shares(kept, scores), "unlike a slice, a masked result is a copy")
    expect_each([torch.randn(shape).to(dt) for shape in [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)]
                 for dt in (torch.float32, torch.float16, torch.bfloat16)],
                lambda t: t[t > 0].ndim == 1 and t[t > 0].numel() == int((t > 0).sum()),
                "a full-shape mask always gives a 1-D result of its True cells")
    return {"scores": scores, "mask": mask, "kept": kept}


@lesson.beat(
    "torch.cat: join along an axis",
    narration="""Now we graft. Here are two patients, {{ a.shape }} and {{ b.shape }}. | torch dot cat joins
    them along an axis that already exists, here the first one, the rows: the result is {{ joined.shape }}.
    Every other axis must match; only the joined one grows. Cat is how batches of data are glued into one
    larger batch.""",
    visual=Cat("a", "b", "joined", dim=0),
    slide=["`torch.cat([a, b], dim=0)`", "The joined axis grows", "All other axes must match"],
)
def concatenate(device):
    a = torch.zeros(2, 3, device=device)
    b = torch.ones(1, 3, device=device)
    joined = torch.cat([a, b], dim=0)
    expect(joined.shape == (a.shape[0] + b.shape[0], a.shape[1]), "only the joined axis grows")
    expect(capture_error(lambda: torch.cat([a, torch.ones(1, 2)])) != "", "other axes must match")
    return {"a": a, "b": b, "joined": joined}


@lesson.beat(
    "torch.stack: a brand new axis",
    narration="""Stack is cat's more ambitious sibling. Give it two vectors of the same shape, {{ a.numel }}
    elements each, and it does not lengthen them: | it piles them up along a brand new axis, making
    {{ stacked.shape }}: the first input sits at index zero of that axis, the second at index one. Cat, as we
    just saw, grows an axis that is already there; stack creates one, for example to turn single samples into
    a batch.""",
    visual=Stack("a", "b", "stacked", dim=0),
    slide=["`torch.stack([a, b])`: new axis", "Inputs must share one shape", "cat extends, stack creates"],
)
def stacking(device):
    a = torch.tensor([1, 2, 3], device=device)
    b = torch.tensor([4, 5, 6], device=device)
    stacked = torch.stack([a, b], dim=0)
    flat = torch.cat([a, b], dim=0)
    expect(stacked.ndim == a.ndim + 1, "stack makes a new axis")
    expect(flat.ndim == a.ndim and flat.numel() == a.numel() + b.numel(), "cat lengthens an existing one")
    expect(torch.equal(stacked[0], a) and torch.equal(stacked[1], b), "input k sits at index k")
    expect(capture_error(lambda: torch.stack([a, a[:2]])) != "", "stack needs one shape")
    return {"a": a, "b": b, "stacked": stacked, "flat": flat}


@lesson.beat(
    "split and chunk",
    narration="""Time to dissect. torch dot split takes the size of each piece: | asking for pieces of
    {{ size }} cuts our {{ source.numel }}-element vector into pieces of {{ sizes }}, as the caption reads:
    the last piece takes whatever is left. Each piece keeps its colour in the source, and every piece is a
    view of it: the cutting copies nothing.""",
    visual=Split("source", "p0", "p1", "p2", dim=0, op="split"),
    slide=["`split(t, size)`: pieces of that size", "`split(t, [2, 5])`: exactly those sizes",
           "Pieces are views"],
)
def split_chunk(device):
    source = torch.arange(7, device=device)
    size = 3
    p0, p1, p2 = torch.split(source, size)
    sizes = [p.numel() for p in (p0, p1, p2)]
    expect(sizes[:-1] == [size, size] and sizes[-1] <= size, "the last piece takes what is left")
    expect([p.numel() for p in source.split([2, 5])] == [2, 5], "a list gives exactly those sizes")
    base = source.untyped_storage().data_ptr()
    expect(all(p.untyped_storage().data_ptr() == base for p in (p0, p1, p2)), "pieces are views")
    expect_each([(torch.arange(n).reshape(n // 2, 2) if n % 2 == 0 else torch.arange(n), k, d)
                 for n in (6, 7, 10) for k in (1, 2, 3) for d in (0, -1)],
                lambda c: all(shares(p, c[0]) for p in (*c[0].split(c[1], dim=c[2]), *c[0].chunk(c[1], dim=c[2]))),
                "split and chunk both return views")
    return {"source": source, "p0": p0, "p1": p1, "p2": p2, "size": size, "sizes": sizes}


@lesson.beat(
    "Attention heads, chunked",
    narration="""An example from a real transformer. Each token carries a {{ width }}-wide query vector. |
    Multi-head attention cuts that width into heads. torch dot chunk takes how many pieces you want, not
    their size: chunk into {{ heads }} along the last axis and each head receives a {{ h0.shape }} slice of its
    own, {{ tokens }} tokens of {{ head_dim }} features. Each head then attends in its own way. Mwahaha,
    division of labour!""",
    visual=Split("query", "h0", "h1", dim=-1, op="chunk", asked=2),
    slide=["Query: tokens x model width", "`query.chunk(heads, dim=-1)`", "Each head gets its own slice",
           "`chunk(t, n)`: at most n pieces, maybe fewer"],
)
def heads(device):
    query = torch.randn(3, 4, device=device)
    heads = 2
    h0, h1 = query.chunk(heads, dim=-1)
    tokens, head_dim = h0.shape
    expect(torch.equal(torch.cat([h0, h1], dim=-1), query), "each head is its own slice of the width")
    expect(h0.untyped_storage().data_ptr() == query.untyped_storage().data_ptr(), "chunks are views too")
    expect(torch.equal(h1, query.view(tokens, heads, head_dim)[:, 1]), "the same heads as a view into heads")
    expect(len(torch.arange(6).chunk(4)) == 3, "chunk may hand back fewer pieces than asked")
    expect_each([(n, k) for n in range(1, 13) for k in range(1, 7)],
                lambda c: len(torch.arange(c[0]).chunk(c[1])) <= c[1]
                and (c[0] % c[1] != 0 or len(torch.arange(c[0]).chunk(c[1])) == c[1]),
                "chunk gives at most n pieces, exactly n when the length divides evenly")
    return {"query": query, "h0": h0, "h1": h1, "heads": heads, "width": query.shape[-1],
            "tokens": tokens, "head_dim": head_dim}


@lesson.beat(
    "unbind: one axis into many",
    narration="""The final cut: unbind removes an axis entirely. | Unbinding a {{ grid.shape }} grid along its
    first axis hands back {{ count }} separate rows of {{ r0.numel }} elements, no longer a grid at all. It is
    the exact reverse of stack: stack the rows again and the original grid returns, element for element.""",
    visual=Split("grid", "r0", "r1", dim=0, op="unbind"),
    slide=["`t.unbind(dim)`: a tuple of slices", "That axis disappears", "The reverse of `torch.stack`"],
)
def unbinding(device):
    grid = torch.arange(6, device=device).reshape(2, 3)
    rows = grid.unbind(dim=0)
    r0, r1 = rows
    count = len(rows)
    expect(r0.ndim == grid.ndim - 1, "unbind removes the axis")
    expect(torch.equal(torch.stack(rows), grid), "stack undoes unbind")
    expect_each([(torch.randn(shape), dim) for shape in [(2, 3), (4, 1, 5), (2, 3, 4)] for dim in (0, 1, -1)],
                lambda c: torch.equal(torch.stack(c[0].unbind(c[1]), dim=c[1]), c[0]),
                "stacking along the same axis undoes unbind, element for element")
    return {"grid": grid, "r0": r0, "r1": r1, "count": count}


@lesson.beat(
    "Recap",
    narration="""What a splendid operation, mwahaha! | Integer indices pick and drop an axis; slices keep
    ranges and steps, as views of the same storage. | Boolean masks keep whatever passes a test. | Cat
    lengthens an axis that exists, stack creates a new one. | Split cuts by size, chunk by count, and unbind
    tears an axis apart into a tuple of slices.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    t = torch.arange(12, device=device).reshape(3, 4)
    expect(t[1].ndim == 1 and t[0:2].ndim == 2, "an integer drops an axis, a slice keeps it")
    expect(t[0:2].untyped_storage().data_ptr() == t.untyped_storage().data_ptr(), "slices are views")
    expect(torch.cat([t, t]).shape[0] == 6 and torch.stack([t, t]).ndim == 3, "cat grows, stack creates")
    expect([p.shape[0] for p in t.split(2)] == [2, 1], "split cuts by size")
    expect(len(t.chunk(3)) == 3 and len(t.unbind(0)) == 3, "chunk cuts by count, unbind drops the axis")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Take a batch of images, shaped batch, channels, height and width.
    Chunk it into equal groups, with a count that divides the batch, then stack the groups back together
    along a new first axis. Before you run it, predict the final shape on paper. If torch agrees with you,
    allow yourself a triumphant cackle.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Chunk an image batch into equal groups", "Stack the groups on a new first axis",
           "Predict the shape, then run it"],
)
def challenge(device):
    images = torch.rand(8, 3, 4, 4, device=device)
    groups = torch.stack(images.chunk(4))
    expect(groups.shape == (4, 2, 3, 4, 4), "chunk then stack solves the trial")
    expect(capture_error(lambda: torch.stack(images.chunk(3))) != "", "unequal groups: stack refuses")
    return {}
