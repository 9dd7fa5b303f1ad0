"""1.2.1 Elemental Tensor Alchemy: element-wise operations, reductions, in-place operations and autograd."""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Elementwise, InPlace, Reduce, Show, Title

lesson = Lesson(
    objectives=[
        "Combine tensors cell by cell with + - * / and functions",
        "Reduce along a dim with sum, mean, max, min and std",
        "Keep the reduced axis with keepdim; find winners",
        "Mutate in place with a trailing underscore, and when not to",
    ],
    recap=[
        "Element-wise operations pair cells at the same position",
        "A reduction removes the dim you name; keepdim keeps it",
        "max(dim) gives values and indices; argmax the indices",
        "The trailing underscore mutates; it can break autograd",
    ],
    challenge="Standardise each row of a random matrix with mean and std (keepdim), then check with "
    "torch.allclose and atol=1e-5 that every row's mean is now zero: the default tolerance is too strict.",
)


def standardised_row_means(seed, rows, cols):
    """The challenge, solved: each row of a seeded random matrix standardised, then each row's mean."""
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))
    z = (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True)
    return z.mean(dim=1)


def plus_equals(start, step, expected):
    """Whether `u += step` on a copy of `start` writes into the copy's own memory and gives `expected`."""
    u = start.clone()
    pointer = u.data_ptr()
    u += step
    return u.data_ptr() == pointer and torch.equal(u, expected)


def squared_deviations(t, dim):
    """Each row's squared distances from its mean, summed: what the variance divides by n - 1 (or n)."""
    return ((t - t.mean(dim=dim, keepdim=True)) ** 2).sum(dim=dim, keepdim=True)


@lesson.beat(
    "Elemental Tensor Alchemy",
    narration="""Welcome back to the laboratory, my apprentices! Today we brew the elixirs of tensor math.
    | First, operations that pair every cell with its twin. | Then reductions, which boil a whole axis down:
    sum, mean, max, min and std. | Next, the keepdim trick, and argmax, which finds the winners. | Finally,
    the in-place rituals of the trailing underscore, and why autograd despises them. To the cauldron!""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Cell by cell",
    narration="""Behold two {{ a.shape }} tensors, `a` and `b`, side by side. When we add them, each cell meets
    only its partner at the very same position. | The top-left pair: {{ a[0][0] }} plus {{ b[0][0] }} gives
    {{ total[0][0] }}. | Next door, {{ a[0][1] }} plus {{ b[0][1] }} gives {{ total[0][1] }}. | Then {{
    a[0][2] }} plus {{ b[0][2] }}, {{ total[0][2] }}. No cell ever peeks at its neighbours. | The second row
    fills the same way, down to {{ a[1][2] }} plus {{ b[1][2] }}, {{ total[1][2] }}. Check every cell by
    hand!""",
    visual=Elementwise("a", "b", "total", op="+"),
    slide=["`a + b` pairs cells at the same index", "Shapes must match (or broadcast: next lessons)"],
)
def add_cells(device):
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    b = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]], device=device)
    total = a + b
    expect(all(total[i, j] == a[i, j] + b[i, j] for i in range(2) for j in range(3)),
           "each cell of a + b is the sum of the two cells at its own position")
    return {"a": a, "b": b, "total": total}


@lesson.beat(
    "Multiply cell by cell",
    narration="""The same law rules every operator. Here the star multiplies `a` by `b`. | {{ a[0][0] }} times
    {{ b[0][0] }} makes {{ product[0][0] }}. | {{ a[0][1] }} times {{ b[0][1] }} makes {{ product[0][1] }}.
    | {{ a[0][2] }} times {{ b[0][2] }} makes {{ product[0][2] }}. Beware: this star is not matrix
    multiplication; that beast gets its own lesson. | The rest fill in at once, each cell with its partner.""",
    visual=Elementwise("a", "b", "product", op="*"),
    slide=["`a * b`, `a / b`, `a ** 2`: cell by cell", "`*` is not the matrix product"],
)
def multiply_cells(device):
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    b = torch.tensor([[2.0, 4.0, 8.0], [1.0, 9.0, 16.0]], device=device)
    product = a * b
    expect(all(product[i, j] == a[i, j] * b[i, j] for i in range(2) for j in range(3)),
           "each cell of a * b is the product of the two cells at its own position")
    return {"a": a, "b": b, "product": product}


@lesson.beat(
    "Functions cell by cell",
    narration="""Functions obey the same law. Here torch dot sqrt and a division by two run on `b`. | `b` holds
    some perfect squares: {{ b[1][1] }} and {{ b[1][2] }}. | Each root is computed from its own cell alone:
    {{ roots[1][1] }} and {{ roots[1][2] }}, and {{ roots[0][0] }} for {{ b[0][0] }}. | Dividing by two halves
    every cell in the same way: {{ b[1][2] }} becomes {{ halves[1][2] }}.""",
    visual=Show("b", "roots", "halves"),
    slide=["`torch.sqrt(b)`, `b / 2`: one cell at a time", "`torch.exp`, `torch.log`, `torch.abs` too"],
)
def functions(device):
    b = torch.tensor([[2.0, 4.0, 8.0], [1.0, 9.0, 16.0]], device=device)
    roots = torch.sqrt(b)
    halves = b / 2
    for f in (torch.sqrt, torch.exp, torch.log, torch.abs, lambda t: t / 2):
        expect(all(torch.equal(f(b)[i, j], f(b[i, j])) for i in range(2) for j in range(3)),
               "sqrt, exp, log, abs and division act on each cell alone")
    expect(torch.equal(roots[1], torch.tensor([1.0, 3.0, 4.0], device=device)), "the perfect squares' roots")
    return {"b": b, "roots": roots, "halves": halves}


@lesson.beat(
    "Sum along a dim",
    narration="""Now we boil things down. Summing along dim {{ dim }} collapses the rows: the {{ x.shape }}
    tensor becomes {{ col_sums.shape }} numbers, one total per column. | The first column: {{ x[0][0] }} plus
    {{ x[1][0] }} is {{ col_sums[0] }}. | The second: {{ x[0][1] }} plus {{ x[1][1] }} is {{ col_sums[1] }}.
    | The third: {{ x[0][2] }} plus {{ x[1][2] }} is {{ col_sums[2] }}. | The dim you name is the dim that
    disappears. Along dim {{ other }} you would get one total per row instead, and with no dim at all, a
    single number.""",
    visual=Reduce("x", "col_sums", op="sum", dim=0),
    slide=["`x.sum()` adds everything", "`x.sum(dim=0)` collapses rows: column totals",
           "The named dim disappears"],
)
def sum_dim(device):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    dim, other = 0, 1
    col_sums = x.sum(dim=dim)
    expect(col_sums.shape == (3,), "summing a 2x3 tensor along dim 0 leaves one total per column")
    expect(x.sum(dim=other).shape == (2,), "summing along dim 1 leaves one total per row")
    expect(x.sum().dim() == 0, "sum with no dim gives a single number")
    expect_each([((2, 3), 0), ((2, 3), 1), ((4, 1, 5), 1), ((4, 1, 5), -1), ((2, 3, 4), 0)],
                lambda c: torch.zeros(c[0]).sum(dim=c[1]).shape == tuple(n for i, n in enumerate(c[0])
                                                                       if i != c[1] % len(c[0])),
                "the dim you name is the dim that disappears")
    return {"x": x, "col_sums": col_sums, "dim": dim, "other": other}


@lesson.beat(
    "mean and keepdim",
    narration="""Two students' scores, averaged along dim {{ dim }} twice: with keepdim equals True, and
    without. | The scores are {{ scores.shape }}, one row per student. | With keepdim, the
    means come out {{ means.shape }}: {{ means[0][0] }} and {{ means[1][0] }}. The reduced axis stays as size
    one, so each mean lines up against its own row for later arithmetic. | Without it, a flat vector of shape
    {{ flat.shape }}: the same numbers, one axis fewer. Remember this trick; it saves lives in the broadcasting
    lesson.""",
    visual=Show("scores", "means", "flat"),
    slide=["`x.mean(dim=1)` averages each row", "`keepdim=True` keeps the axis as size 1",
           "Integer tensors refuse: use a float dtype"],
)
def mean_keepdim(device):
    scores = torch.tensor([[2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 3.0, 10.0]], device=device)
    dim = 1
    means = scores.mean(dim=dim, keepdim=True)
    flat = scores.mean(dim=dim)
    expect(means.shape == (2, 1) and flat.shape == (2,), "keepdim keeps the reduced axis as size one")
    expect(torch.equal(means.squeeze(dim), flat), "with or without keepdim, the means are the same")
    expect(torch.equal(scores - means, scores - flat[:, None]), "the kept axis lines each mean up with its row")
    expect(capture_error(lambda: scores.long().mean(dim=dim)) != "", "mean refuses an integer tensor")
    expect_each([torch.int8, torch.uint8, torch.int32, torch.int64],
                lambda d: capture_error(lambda: scores.to(d).mean(dim=dim)) != "", "mean refuses every integer dtype")
    return {"scores": scores, "means": means, "flat": flat, "dim": dim}


@lesson.beat(
    "min, max and std",
    narration="""More reductions from the same family, each taking a dim: min, max, and std, the standard
    deviation. | The same scores; the second row holds an outlier, {{ scores[1][3] }}. | min along dim
    {{ dim }} finds each row's smallest: {{ low.values }}. | std measures each row's spread:
    {{ spread[0][0] }} for the evenly spaced first row, and a wider {{ spread[1][0] }} for the outlier's row.
    By default std divides by the count minus one, Bessel's correction; pass correction equals zero to divide
    by the full count.""",
    visual=Show("scores", "low", "spread"),
    slide=["`x.min(dim)`, `x.max(dim)`, `x.std(dim)`", "`std` divides by n - 1 by default",
           "`correction=0` divides by n"],
)
def min_max_std(device):
    scores = torch.tensor([[2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 3.0, 10.0]], device=device)
    dim = 1
    low = scores.min(dim=dim).values
    spread = scores.std(dim=dim, keepdim=True)
    expect(torch.equal(low, scores.sort(dim=dim).values[:, 0]), "min along dim 1 gives each row's smallest")
    expect(spread[1, 0] > spread[0, 0], "the row with the outlier spreads wider")
    expect(torch.allclose(spread**2, squared_deviations(scores, dim) / (scores.shape[dim] - 1)),
           "std divides by the count minus one by default")
    expect(torch.allclose(scores.std(dim=dim, keepdim=True, correction=0) ** 2,
                          squared_deviations(scores, dim) / scores.shape[dim]),
           "correction=0 divides by the full count")
    expect_each([torch.randn(3, 5), torch.randn(2, 40), torch.randn(4, 2, dtype=torch.float64)],
                lambda t: torch.allclose(t.std(dim=1, keepdim=True) ** 2,
                                         squared_deviations(t, 1) / (t.shape[1] - 1)),
                "std divides by the count minus one by default, whatever the size")
    return {"scores": scores, "low": low, "spread": spread, "dim": dim}


@lesson.beat(
    "argmax picks the winner",
    narration="""Now a real model's output! A classifier emits one logit per class: {{ n }} examples, {{
    classes }} classes. Max along dim {{ dim }} returns two things, the winning values and where they live.
    | The first example's best logit is {{ best[0] }}, at index {{ where[0] }}. | The second's is {{ best[1]
    }}, at index {{ where[1] }}. | The third's is {{ best[2] }}, at index {{ where[2] }}. | Those indices are
    the predicted classes, and argmax returns the same indices on its own, ties included. A classifier's
    accuracy starts with this humble spell. Mwahaha!""",
    visual=Reduce("logits", "best", "where", op="max", dim=1),
    slide=["`values, indices = x.max(dim=1)`", "`x.argmax(dim=1)`: the indices alone",
           "Predicted class = argmax of the logits"],
)
def argmax_winner(device):
    logits = torch.randn(3, 4, device=device)
    dim = 1
    best, where = logits.max(dim=dim)
    n, classes = logits.shape
    expect(torch.equal(where, logits.argmax(dim=dim)), "argmax along dim 1 returns the indices max returns")
    expect_each([(seed, dtype) for seed in range(20) for dtype in (torch.float32, torch.float16, torch.bfloat16)],
                lambda c: (lambda t: torch.equal(t.max(dim=1).indices, t.argmax(dim=1)))(
                    torch.randint(0, 3, (6, 5), generator=torch.Generator().manual_seed(c[0])).to(c[1])),
                "max and argmax give the same indices, even with ties")
    expect(torch.equal(best, logits.gather(dim, where[:, None]).squeeze(dim)), "each value sits at its index")
    return {"logits": logits, "best": best, "where": where, "dim": dim, "n": n, "classes": classes}


@lesson.beat(
    "The trailing underscore",
    narration="""Every operation so far summoned a brand new tensor. Add an underscore to the name and the
    operation rewrites the tensor where it stands. Here is t: {{ before.values }}. | Call t dot add
    underscore, and each value grows where it sits, in the very same cells: no new grid appears. | Same storage, no
    fresh allocation, which is thrifty when memory is scarce. And t plus equals
    x is in place too.""",
    visual=InPlace("before", "t", op="add_"),
    slide=["`t.add_(x)`, `t.mul_(x)`, `t.zero_()`: in place", "Same storage, no new tensor",
           "`t += x` is in place too"],
)
def in_place(device):
    t = torch.tensor([1.0, 2.0, 3.0], device=device)
    step = 10
    before = t.clone()
    pointer = t.data_ptr()
    t.add_(step)
    expect(t.data_ptr() == pointer and torch.equal(t, before + step), "add_ changes t in its own storage")
    expect(plus_equals(before, step, t), "t += x is in place too, with the same result")
    return {"before": before, "t": t, "step": step}


@lesson.beat(
    "Why in-place angers autograd",
    narration="""But beware! Autograd saves some tensors to compute gradients later. | Here x requires
    grad, | and exp saves its own output, y. Then y dot add underscore overwrites it: y now holds e to the x,
    plus one. | When we call backward, PyTorch notices the tampering and refuses with this error. When you meet it, use
    the plain operation instead.""",
    visual=Show("x", "y", code=True, error="message"),
    slide=["Autograd saves tensors for the backward pass", "Changing them in place raises an error",
           "Use out-of-place ops on tensors that need grad"],
)
def in_place_autograd(device):
    x = torch.tensor([0.0, 1.0, 2.0], device=device, requires_grad=True)
    y = x.exp()
    y.add_(1)
    message = capture_error(lambda: y.sum().backward()).split(": [")[0]
    expect(message.startswith("RuntimeError"), "backward refuses after y was changed in place")
    return {"x": x, "y": y, "message": message}


@lesson.beat(
    "Recap and your challenge",
    narration="""What a brew! | Element-wise operations pair cells by position. | Reductions such as sum,
    mean, min, max and std collapse the dim you name; keepdim keeps it as size one. | Max along a dim gives
    values and indices, argmax the indices alone. | The trailing underscore mutates in place; keep it away
    from tensors autograd needs. | Your challenge: standardise each row of a random matrix with mean and std,
    then check with allclose that every row's mean is zero. Rounding leaves tiny leftovers, so pass the small
    tolerance on the slide.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: standardise rows; allclose with atol=1e-5"],
)
def recap(device):
    expect_each([(seed, rows, cols) for seed in range(200) for rows, cols in [(4, 3), (4, 5), (8, 100), (16, 1000)]],
                lambda c: torch.allclose(standardised_row_means(*c), torch.zeros(c[1]), atol=1e-5),
                "the challenge's allclose with atol=1e-5 holds")
    expect(sum(not torch.allclose(standardised_row_means(seed, 4, 5), torch.zeros(4)) for seed in range(100)) > 90,
           "the default tolerance fails in most seeds")
    return {}
