"""1.1.1 Summoning Your First Tensors (first beats; the section 1.1 issue completes it)."""

import torch

from render.lesson import Lesson
from scenes.vocabulary import Show

lesson = Lesson(
    objectives=[
        "See a tensor as a grid of numbers with a shape",
        "Summon tensors with torch.tensor, zeros, ones and arange",
    ],
    recap=["A tensor is numbers plus a shape, a dtype and a device"],
    challenge="Summon a 3x3 tensor of sevens without typing the number seven nine times.",
)


@lesson.beat(
    "A tensor from a list",
    narration="""Behold, apprentices! We hand torch dot tensor a humble nested list, and it returns a
    {{ grid.shape }} tensor of {{ grid.dtype }}. Its first row holds {{ grid.values[0] }}.""",
    visual=Show("grid"),
    slide=["`torch.tensor` copies your data into a new tensor", "The shape is read from the nesting"],
)
def from_list(device):
    grid = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    return {"grid": grid}


@lesson.beat(
    "Tensors from nothing",
    narration="""No data? No matter! torch dot zeros and torch dot arange conjure tensors from the void:
    arange counts from {{ steps.values[0] }} up to {{ steps.values[-1] }}.""",
    visual=Show("empty", "steps"),
    slide=["`torch.zeros(shape)` fills with 0", "`torch.arange(n)` counts 0 .. n-1"],
)
def from_nothing(device):
    empty = torch.zeros(2, 3, device=device)
    steps = torch.arange(6, device=device)
    return {"empty": empty, "steps": steps}
