"""Gallery: the torch.nn layer and loss visuals (Embedding, PositionalEncoding, Norm, Loss), each beat
computed with real torch.nn modules and functions, its claims checked by torch with `expect`."""

import math

import torch
from torch import nn

from render.lesson import Lesson, expect
from scenes.vocabulary import PositionalEncoding

lesson = Lesson(
    objectives=["See the torch.nn layer and loss visuals once"],
    recap=["Every number on screen came from torch.nn"],
    seed=12,
)


def sinusoid_table(positions, dim, device):
    """The Transformer's sinusoidal table, built with torch: sin on even dimensions, cos on odd ones."""
    pos = torch.arange(positions, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(positions, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


@lesson.beat(
    "Positional encoding",
    narration="Each position gets a row of sines and cosines. | Each dimension is a wave with its own frequency."
    " | A token's vector is its embedding plus the row of its position.",
    visual=PositionalEncoding("pe", "token", "x", position=3),
)
def positional_encoding(device):
    pe = sinusoid_table(32, 16, device)
    emb = nn.Embedding(10, 16, device=device)
    tokens = torch.tensor([4, 7, 1, 2, 9], device=device)
    with torch.no_grad():
        x = emb(tokens) + pe[: len(tokens)]
    expect(torch.allclose(pe[:, 0], torch.sin(torch.arange(32.0, device=device))), "dimension 0 is sin(position)")
    expect(torch.equal(x[3], emb.weight[tokens[3]].detach() + pe[3]), "x[3] is token 3's embedding plus pe[3]")
    return {"pe": pe, "token": emb.weight[tokens[3]].detach(), "x": x[3]}
