"""1.1.1 Summoning Your First Tensors: what a tensor is, how to conjure one, and what it knows of itself."""

import torch

from render.lesson import Lesson
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
        "`torch.tensor` copies; zeros, ones, arange, linspace fill",
        "rand, randn, randint draw; `manual_seed` makes them repeat",
        "The `_like` family copies shape, dtype and device",
        "Every tensor carries a shape, a dtype and a device",
    ],
    challenge="Summon a square grid of sevens in one call, with no list typed out. "
    "Then make a random tensor shaped like it and prove both agree on shape, dtype and device.",
)



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
    narration="""Observe the family, apprentices: a scalar is a single number, with {{ lonely.ndim }} axes. |
    A vector lines numbers up along {{ vector.ndim }} axis, here {{ vector.numel }} of them. | A matrix has
    rows and columns: {{ matrix.shape }}. | Stack matrices and you get a {{ cube.shape }} tensor with
    {{ cube.ndim }} axes. Mathematicians define a tensor by how it transforms; to PyTorch it is simply an
    n-dimensional grid, and a matrix is merely its {{ matrix.ndim }}-axis case.""",
    visual=Show("lonely", "vector", "matrix", "cube", code=False),
    slide=["Scalar: no axes", "Vector: one axis", "Matrix: two axes", "Tensor: any number of axes"],
)
def ranks(device):
    lonely = torch.tensor(3.0, device=device)
    vector = torch.tensor([1.0, 2.0, 3.0], device=device)
    matrix = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    cube = torch.arange(12, device=device).reshape(2, 2, 3)
    return {
        "lonely": lonely, "vector": vector,
        "matrix": matrix, "cube": cube,
    }


@lesson.beat(
    "Why models need tensors",
    narration="""Why such devotion to grids? Because every model's food is one. | Here is a batch of images:
    {{ images.shape }}, that is images, colour channels, height and width, {{ images.numel }} numbers in a
    single object. One tensor holds the whole batch, the weights are tensors too, and a GPU can work on every
    element at once. Data, parameters and gradients: all tensors!""",
    visual=Show("images"),
    slide=["Images: batch x channels x height x width", "Weights and gradients are tensors too",
           "One object, many numbers, parallel hardware"],
)
def image_batch(device):
    images = torch.rand(2, 3, 4, 4, device=device)
    return {"images": images}


@lesson.beat(
    "From Python data",
    narration="""The first summoning: torch dot tensor copies a nested list into a new tensor. | Whole numbers
    give a {{ counts.shape }} tensor of {{ counts.dtype }}. | Decimals give {{ weights.dtype }}, the working
    precision of deep learning. The nesting decides the shape, and the values decide the dtype unless you name
    one yourself.""",
    visual=Show("counts", "weights"),
    slide=["`torch.tensor(data)` copies your data", "Integers become `int64`", "Decimals become `float32`"],
)
def from_data(device):
    counts = torch.tensor([[1, 2], [3, 4]], device=device)
    weights = torch.tensor([0.5, -1.5, 2.0], device=device)
    return {"counts": counts, "weights": weights}


@lesson.beat(
    "Filled from the void",
    narration="""No data, no matter: torch dot zeros and torch dot ones conjure a grid of any shape you name.
    | Here zeros makes a {{ zeros.shape }} grid of blank cells. | And ones_like copies a tensor's shape, dtype
    and device without its values: {{ ones.shape }}, {{ ones.dtype }}, {{ ones.device }}. The whole underscore
    like family, zeros_like, ones_like, rand_like, works the same way.""",
    visual=Show("zeros", "ones"),
    slide=["`torch.zeros(shape)`, `torch.ones(shape)`", "`*_like(t)` copies shape, dtype, device"],
)
def filled(device):
    zeros = torch.zeros(2, 3, device=device)
    ones = torch.ones_like(zeros)
    return {"zeros": zeros, "ones": ones}


@lesson.beat(
    "Counting with arange and linspace",
    narration="""Now we count. | torch dot arange steps from a start up to, but never including, an end:
    {{ steps.values }}. | torch dot linspace instead asks how many points you want and spaces them evenly,
    both ends included: {{ points.values }}. Use arange for indices and linspace for evenly sampled
    curves.""",
    visual=Show("steps", "points"),
    slide=["`arange(start, end, step)`: end left out", "`linspace(start, end, n)`: n points, ends kept"],
)
def ranges(device):
    steps = torch.arange(0, 10, 2, device=device)
    points = torch.linspace(0, 1, 5, device=device)
    return {"steps": steps, "points": points}


@lesson.beat(
    "Summoned by chance",
    narration="""Chaos, tamed! | torch dot rand draws uniformly between zero and one, first value
    {{ uniform.values[0] }}. | torch dot randn draws from a bell curve around zero, first value
    {{ normal.values[0] }}. | torch dot randint draws whole numbers: {{ dice.values }}. | And the ritual of
    manual_seed makes chance repeat: seeded alike, randn gives {{ again.values[0] }} both times, and torch dot
    equal answers {{ same }}. Reproducible chaos. Mwahaha!""",
    visual=Show("uniform", "normal", "dice", "again"),
    slide=["`rand`: uniform between zero and one", "`randn`: the standard bell curve",
           "`randint(low, high, shape)`", "`torch.manual_seed(s)` repeats the draw"],
)
def chance(device):
    uniform = torch.rand(3, device=device)
    normal = torch.randn(3, device=device)
    dice = torch.randint(1, 7, (4,), device=device)
    torch.manual_seed(42)
    first = torch.randn(2, device=device)
    torch.manual_seed(42)
    again = torch.randn(2, device=device)
    same = bool(torch.equal(first, again))
    return {
        "uniform": uniform, "normal": normal,
        "dice": dice, "again": again,
        "same": same,
    }


@lesson.beat(
    "Interrogating a tensor",
    narration="""Every tensor answers to interrogation. | Take an embedding table, one learned vector per
    word: {{ table.shape }}, so {{ words }} words of {{ width }} numbers each. Its dtype is {{ table.dtype }},
    and it lives on {{ table.device }}. Shape says how the numbers are arranged, dtype how each is stored, and
    device where the arithmetic will happen.""",
    visual=Show("table"),
    slide=["`t.shape`: the size of each axis", "`t.dtype`: how each number is stored",
           "`t.device`: where it lives"],
)
def attributes(device):
    table = torch.randn(6, 4, device=device)
    words, width = table.shape
    return {
        "table": table, "words": words,
        "width": width,
    }


@lesson.beat(
    "Recap",
    narration="""Let us review the experiment. | A tensor is a grid of numbers with any number of axes. | We
    summoned tensors from data with torch dot tensor, and filled them with zeros, ones, arange and linspace. |
    We drew them from chance with rand, randn and randint, and tamed chance with manual_seed. | The like
    family copies a template's shape, dtype and device. | And every tensor carries its shape, its dtype and
    its device.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""And now, apprentice, your trial. | Summon a square grid filled with sevens in a single call,
    without typing out a list. Then conjure a random tensor shaped like it, again in one call, and prove that
    the two agree on shape, dtype and device. Succeed, and the next experiment awaits!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Sevens in a single call, no list typed", "A random twin in a single call",
           "Prove: same shape, dtype, device"],
)
def challenge(device):
    return {}
