"""1.1.1 Summoning Your First Tensors: what a tensor is, how to conjure one, and what it knows of itself."""

import math

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Show, Title

lesson = Lesson(
    objectives=[
        "What a tensor is: scalar, vector, matrix and beyond",
        "Why every model speaks in tensors",
        "Summon tensors from data, from constants and from chance",
        "Read a tensor's shape, dtype and device",
    ],
    recap=[
        "A tensor is a grid of numbers with any number of axes",
        "`torch.tensor` copies; zeros, ones and `full` fill a shape",
        "arange and linspace count; rand, randn, randint draw",
        "`manual_seed` makes the draws repeat",
        "The `_like` family copies shape, dtype and device",
        "Every tensor carries a shape, a dtype and a device",
    ],
    challenge="Summon a square grid of sevens, as decimals, in one call with no list typed out. "
    "Then make a random tensor like it with `rand_like` and prove both agree on shape, dtype and device.",
)


def same_kind(twin, template):
    """Whether two tensors agree on shape, dtype and device (the _like family's promise)."""
    return (twin.shape, twin.dtype, twin.device) == (template.shape, template.dtype, template.device)


def gradient_is_tensor():
    """Whether a layer's gradient, after a backward pass, is a tensor like its weights."""
    layer = torch.nn.Linear(3, 2)
    layer(torch.ones(3)).sum().backward()
    return torch.is_tensor(layer.weight) and torch.is_tensor(layer.weight.grad)


def drawn_twice(seed, draw):
    """Whether `draw()` gives the very same values after seeding with `seed` twice."""
    torch.manual_seed(seed)
    first = draw()
    torch.manual_seed(seed)
    return torch.equal(first, draw())


@lesson.beat(
    "What you will learn",
    narration="""Welcome, my apprentices, to the laboratory! Today we summon our very first tensors. | We
    shall learn what a tensor truly is, from the lonely scalar to towers of many axes, | and why every neural
    network thinks in them. | Then we conjure tensors from data, from constants and from pure chance, | and we
    interrogate each one about its shape, its dtype and its device.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Scalar, vector, matrix, tensor",
    narration="""Observe the family, apprentices: a scalar is a single number, with no axes at all. |
    A vector lines numbers up along {{ vector.ndim }} axis, here {{ vector.numel }} of them. | A matrix has
    rows and columns: {{ matrix.shape }}. | Stack two matrices and you get a {{ cube.shape }} tensor with
    {{ cube.ndim }} axes. Mathematicians define a tensor by how it transforms; to PyTorch it is simply an
    n-dimensional grid, and a matrix is merely its {{ matrix.ndim }}-axis case.""",
    visual=Show("lonely", "vector", "matrix", "cube", code=False),
    slide=["Scalar: no axes", "Vector: one axis", "Matrix: two axes", "Tensor: any number of axes"],
)
def ranks(device):
    lonely = torch.tensor(3.0, device=device)
    vector = torch.tensor([1.0, 2.0, 3.0], device=device)
    matrix = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    cube = torch.stack([matrix, matrix + 6])
    expect(lonely.numel() == 1 and lonely.ndim == 0, "a scalar is one number with no axes")
    expect(cube.shape == (2, *matrix.shape), "stacking two matrices gives a tensor of three axes")
    return {"lonely": lonely, "vector": vector, "matrix": matrix, "cube": cube}


@lesson.beat(
    "Why models need tensors",
    narration="""Why such devotion to grids? Because every model's food is one. Here is a batch of images:
    {{ images.shape }}, that is images, colour channels, height and width: each row of panels is one image,
    each panel one colour channel. | Count them: {{ count.item }}
    numbers in a single object, the product of its sizes. One tensor holds the whole batch, a layer's weights
    are tensors too, and a GPU works on many of those numbers in parallel. Data, parameters and gradients: all
    tensors!""",
    visual=Show("images", "count", code=False),
    slide=["Images: batch x channels x height x width", "Weights and gradients are tensors too",
           "One object, many numbers, parallel hardware"],
)
def image_batch(device):
    images = torch.rand(2, 3, 3, 3, device=device)
    count = torch.tensor(images.numel(), device=device)
    expect_each([(2, 3, 3, 3), (5,), (4, 1, 7), (1, 3, 28, 28)],
                lambda shape: torch.rand(shape).numel() == math.prod(shape),
                "the number of elements is the product of the sizes")
    expect(gradient_is_tensor(), "a layer's weights and their gradients are tensors too")
    return {"images": images, "count": count}


@lesson.beat(
    "From Python data",
    narration="""The first summoning: torch dot tensor copies a nested list into a new tensor of its own. |
    Whole numbers give a {{ counts.shape }} tensor of {{ counts.dtype }}. Then we change the list's first
    number, yet counts still starts with {{ counts[0][0] }}: it kept its own copy. | Decimals give
    {{ weights.dtype }}, torch's default for decimals. | Name a dtype yourself and it wins: the edited list,
    summoned again as {{ named.dtype }}, now starts with {{ named[0][0] }}. The nesting decides the shape,
    and the values decide the dtype unless you name one.""",
    visual=Show("counts", "weights", "named"),
    slide=["`torch.tensor(data)` copies your data", "Integers become `int64`", "Decimals become `float32`",
           "`dtype=` names the dtype yourself"],
)
def from_data(device):
    rows = [[1, 2], [3, 4]]
    counts = torch.tensor(rows, device=device)
    rows[0][0] = 99
    expect(counts[0, 0] == 1, "the list was copied")
    expect(counts.dtype == torch.int64, "ints: int64")
    weights = torch.tensor([0.5, -1.5, 2.0], device=device)
    expect(weights.dtype == torch.float32, "float32")
    expect_each([[1, 2.5], [[0.5], [-1.0]], [3.0]],
                lambda data: torch.tensor(data).dtype == torch.float32, "decimals give float32")
    named = torch.tensor(rows, dtype=torch.float16, device=device)
    expect(named.dtype == torch.float16, "named dtype wins")
    expect(named[0, 0] == rows[0][0] and counts[0, 0] != rows[0][0], "the new summoning sees the edit")
    return {"counts": counts, "weights": weights, "named": named}


@lesson.beat(
    "Filled from the void",
    narration="""No data, no matter: torch dot zeros and torch dot ones conjure a grid of any shape you name.
    | Here zeros makes a {{ zeros.shape }} grid of zeros, in {{ zeros.dtype }}. | torch dot full fills a shape
    with any value you choose: a {{ sevens.shape }} grid, every cell {{ sevens.item }}. The fill value sets
    the dtype: a whole number, so {{ sevens.dtype }}. | And ones_like copies a tensor's shape, dtype and
    device without its values: {{ ones.shape }}, {{ ones.dtype }}, {{ ones.device }}. The whole underscore
    like family, zeros_like, ones_like, rand_like, copies those same three.""",
    visual=Show("zeros", "sevens", "ones"),
    slide=["`torch.zeros(shape)`, `torch.ones(shape)`", "`torch.full(shape, value)`: the value sets the dtype",
           "`*_like(t)` copies shape, dtype, device"],
)
def filled(device):
    zeros = torch.zeros(2, 3, device=device)
    sevens = torch.full((2, 2), 7, device=device)
    ones = torch.ones_like(zeros)
    expect(not zeros.any(), "zeros are all zero")
    expect((sevens == 7).all(), "full fills every cell")
    expect(zeros.dtype == torch.float32, "zeros: float32 by default")
    expect(sevens.dtype == torch.int64, "a whole fill value gives int64")
    expect_each([(7, torch.int64), (7.0, torch.float32), (-2, torch.int64), (0.5, torch.float32), (True, torch.bool)],
                lambda c: torch.full((2, 2), c[0]).dtype == c[1], "full's dtype follows its fill value")
    expect(ones.shape == zeros.shape, "same shape")
    expect(ones.dtype == zeros.dtype, "same dtype")
    expect(ones.device == zeros.device, "same device")
    expect_each([(like, torch.zeros(shape, dtype=dtype, device=device))
                 for like in (torch.zeros_like, torch.ones_like, torch.rand_like, torch.randn_like)
                 for shape, dtype in [((2, 3), torch.float16), ((4, 1, 5), torch.bfloat16), ((3,), torch.float64)]],
                lambda case: same_kind(case[0](case[1]), case[1]),
                "zeros_like, ones_like, rand_like and randn_like copy shape, dtype and device")
    return {"zeros": zeros, "sevens": sevens, "ones": ones}


@lesson.beat(
    "Counting with arange and linspace",
    narration="""Now we count. | torch dot arange steps from a start up to, but not including, an end:
    {{ steps.values }}. | With a fractional step, though, rounding can sneak the end back in: {{ sneaky.values }},
    the last of them the end itself. | torch dot linspace instead asks how many points you want and spaces
    them evenly, both ends included: {{ points.values }}. Use arange for whole-number indices and linspace for
    evenly sampled curves.""",
    visual=Show("steps", "sneaky", "points"),
    slide=["`arange(start, end, step)`: end left out", "Fractional steps: rounding may keep the end",
           "`linspace(start, end, n)`: n points, ends kept"],
)
def ranges(device):
    steps = torch.arange(0, 10, 2, device=device)
    expect(steps[-1] < 10, "arange leaves its end out")
    expect_each([(0, 10, 2), (0, 10, 1), (-5, 5, 3), (3, 30, 9), (0, 1, 1)],
                lambda c: int(torch.arange(*c).max()) < c[1] and int(torch.arange(*c).max()) + c[2] >= c[1],
                "with whole-number steps, arange stops just short of its end")
    sneaky = torch.arange(1, 1.3, 0.1, device=device)
    expect(sneaky.numel() == 4 and abs(sneaky[-1].item() - 1.3) < 1e-6, "rounding kept the end 1.3")
    points = torch.linspace(0, 1, 5, device=device)
    expect(points[0] == 0 and points[-1] == 1, "ends kept")
    expect_each([(s, e, n, d) for s, e, n in [(0, 1, 5), (0.1, 0.7, 7), (-3.3, 2.9, 11), (5, -5, 6)]
                 for d in (torch.float16, torch.bfloat16, torch.float32, torch.float64)],
                lambda c: (lambda p: p.numel() == c[2] and p[0] == torch.tensor(c[0], dtype=c[3])
                           and p[-1] == torch.tensor(c[1], dtype=c[3]))(torch.linspace(*c[:3], dtype=c[3])),
                "linspace gives n points with both ends included")
    expect(torch.allclose(points.diff(), points[1] - points[0]), "evenly spaced")
    return {"steps": steps, "sneaky": sneaky, "points": points}


@lesson.beat(
    "Summoned by chance",
    narration="""Now, chaos! Three spells draw random tensors of any shape you name. | torch dot rand draws
    uniformly from zero up to, but never including, one: {{ uniform.values }}. | torch dot randn draws from
    the bell curve around zero, so negatives appear too: {{ normal.values }}. | And torch dot randint draws
    whole numbers from a low bound up to, never including, a high one, like dice: {{ dice.values }}.""",
    visual=Show("uniform", "normal", "dice"),
    slide=["`rand`: uniform, from zero up to one", "`randn`: the standard bell curve",
           "`randint(low, high, shape)`: high left out"],
)
def chance(device):
    uniform = torch.rand(4, device=device)
    expect(uniform.min() >= 0, "rand: from zero")
    expect(uniform.max() < 1, "rand: below one")
    expect_each([torch.float32, torch.float64],
                lambda d: (lambda u: u.min() >= 0 and u.max() < 1)(torch.rand(100_000, dtype=d, device=device)),
                "rand draws from zero up to, never including, one, in float32 and float64")
    normal = torch.randn(4, device=device)
    expect(bool((normal < 0).any()), "negatives appear")
    dice = torch.randint(1, 7, (4,), device=device)
    expect(dice.dtype == torch.int64, "randint: whole numbers")
    expect(dice.max() < 7, "randint: high left out")
    expect_each([(1, 7), (0, 2), (-3, 3), (10, 100)],
                lambda c: (lambda r: r.min() >= c[0] and r.max() < c[1])(torch.randint(*c, (10_000,), device=device)),
                "randint draws from low up to, never including, high")
    return {"uniform": uniform, "normal": normal, "dice": dice}


@lesson.beat(
    "Chance, tamed",
    narration="""Chaos is fun, but an experiment must be repeatable. | The ritual of manual_seed resets the
    generator, and randn draws {{ first.values }}. | Seed it again with the same number and the very same
    values return, exactly, every time on the same device. Reproducible chaos. Mwahaha!""",
    visual=Show("first", "again"),
    slide=["`torch.manual_seed(s)` resets the generator", "Same seed, same device: same draws"],
)
def seeding(device):
    torch.manual_seed(42)
    first = torch.randn(3, device=device)
    torch.manual_seed(42)
    again = torch.randn(3, device=device)
    expect(torch.equal(first, again), "same seed, same draws")
    expect_each([(seed, draw) for seed in (0, 1, 42, 1234)
                 for draw in (lambda: torch.randn(3, device=device), lambda: torch.rand(5, 2, device=device),
                              lambda: torch.randint(0, 10, (6,), device=device),
                              lambda: torch.randn(4, dtype=torch.float16, device=device))],
                lambda case: drawn_twice(*case), "the same seed gives the very same draws again, exactly")
    return {"first": first, "again": again}


@lesson.beat(
    "Interrogating a tensor",
    narration="""Every tensor answers to interrogation. | Take an embedding table, one learned vector per
    word: {{ table.shape }}, so {{ words }} words of {{ width }} numbers each. Ask its dtype: {{ table.dtype }}.
    Ask its device: it lives on {{ table.device }}. Shape says how the numbers are arranged, dtype how each is
    stored, and device where the arithmetic will happen.""",
    visual=Show("table"),
    slide=["`t.shape`: the size of each axis", "`t.dtype`: how each number is stored",
           "`t.device`: where it lives"],
)
def attributes(device):
    table = torch.randn(6, 4, device=device)
    words, width = table.shape
    kind = table.dtype
    home = table.device
    expect(table[0].numel() == width, "a row per word")
    expect(kind == torch.float32, "randn gives float32")
    expect(home.type == torch.device(device).type, "the table lives on the device it was made on")
    return {"table": table, "words": words, "width": width}


@lesson.beat(
    "Recap",
    narration="""Let us review the experiment. | A tensor is a grid of numbers with any number of axes. | We
    summoned tensors from data with torch dot tensor, and filled shapes with zeros, ones and full. | arange and
    linspace count, while rand, randn and randint draw from chance. | manual_seed makes those draws repeat. |
    The like family copies a template's shape, dtype and device. | And every tensor carries its shape, its
    dtype and its device.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    template = torch.zeros(2, 3, dtype=torch.float64, device=device)
    for twin in (torch.zeros_like(template), torch.ones_like(template), torch.rand_like(template)):
        expect(same_kind(twin, template), "the _like family copies shape, dtype and device")
    expect_each([torch.tensor(3.0), torch.zeros(2), torch.zeros(2, 3), torch.zeros(1, 2, 3, 4, 5)],
                lambda t: t.ndim == len(t.shape), "a tensor has any number of axes, one size per axis")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""And now, apprentice, your trial. | Summon a square grid filled with sevens, as decimals, in a
    single call, without typing out a list. Then conjure a random twin with rand_like, and prove that the two
    agree on shape, dtype and device. Mind the decimals: rand_like refuses a template of whole numbers.
    Succeed, and the next experiment awaits!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Sevens as decimals, in a single call", "A random twin with `rand_like`",
           "Prove: same shape, dtype, device"],
)
def challenge(device):
    grid = torch.full((3, 3), 7.0, device=device)
    twin = torch.rand_like(grid)
    expect(same_kind(twin, grid), "it can be done")
    refused = capture_error(lambda: torch.rand_like(torch.full((3, 3), 7)))
    expect(refused != "", "rand_like refuses a template of whole numbers")
    expect_each([torch.int8, torch.uint8, torch.int32, torch.int64],
                lambda d: capture_error(lambda: torch.rand_like(torch.zeros(3, 3, dtype=d))) != "",
                "rand_like refuses every integer template")
    return {}
