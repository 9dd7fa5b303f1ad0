"""2.3.2 Positional Encoding: Injecting Order into Chaos.

Attention alone ignores order (permuted tokens give permuted outputs); the sinusoidal table, its heatmap and
its geometric wavelengths; adding it to token embeddings; learned positions as an nn.Embedding; a fixed
offset as a rotation of each sin/cos pair, the idea RoPE builds on.
"""

import math

import torch
from torch import nn

from render.lesson import Lesson, capture_error, expect
from scenes.vocabulary import Curve, Embedding, PositionalEncoding, Show, Title

BASE = 10000.0

lesson = Lesson(
    objectives=[
        "See why attention alone loses word order",
        "Build the sinusoidal table and read its heatmap",
        "See its wavelengths grow geometrically",
        "Add positions to token embeddings, fixed or learned",
        "See an offset as a rotation, the seed of RoPE",
    ],
    recap=[
        "Attention is permutation-equivariant: order is lost",
        "PE[p, 2i] = sin(p w_i), PE[p, 2i+1] = cos(p w_i)",
        "w_i = 10000^(-2i/d): wavelengths grow geometrically",
        "x = tok_emb(ids) + PE[:T], or + pos_emb(arange(T))",
        "PE(p + k) is PE(p) rotated by k w_i, pair by pair",
    ],
    challenge="For d = 8, compute the wavelength of every sin/cos pair and the ratio between neighbours; then "
    "build the table and check that PE[5] @ PE[7] equals PE[20] @ PE[22].",
    seed=8,
)


def frequencies(dim, device):
    """w_i = BASE^(-2i/d), one per sin/cos pair: each pair turns slower than the one before."""
    return torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(BASE) / dim))


def sinusoid_table(positions, dim, device):
    """The Transformer's sinusoidal table: sin on even dimensions, cos on odd ones."""
    pos = torch.arange(positions, device=device, dtype=torch.float32).unsqueeze(1)
    freq = frequencies(dim, device)
    pe = torch.zeros(positions, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


def rotate_pairs(row, angle):
    """Each (sin, cos) pair of a table row turned by its own angle: the angle-addition formulas."""
    sin, cos = row[0::2], row[1::2]
    rotated = torch.empty_like(row)
    rotated[0::2] = sin * torch.cos(angle) + cos * torch.sin(angle)
    rotated[1::2] = cos * torch.cos(angle) - sin * torch.sin(angle)
    return rotated


def order_is_lost(device):
    """Self-attention on shuffled tokens returns the same outputs, shuffled the same way."""
    attn = nn.MultiheadAttention(4, 1, batch_first=True, device=device)
    x = torch.randn(1, 4, 4, device=device)
    order = torch.randperm(4, device=device)
    with torch.no_grad():
        out, _ = attn(x, x, x)
        out_shuffled, _ = attn(x[:, order], x[:, order], x[:, order])
    return out, out_shuffled, order


@lesson.beat(
    "Injecting order",
    narration="""Apprentices, a horrifying discovery: our attention machine cannot tell dog bites man from man
    bites dog! Today we inject order into chaos. | We will prove that attention alone loses order, | brew the
    sinusoidal table, | read its wavelengths, | add positions to tokens, fixed or learned, | and turn a shift in
    position into a rotation, the trick behind rotary embeddings.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Attention forgets order",
    narration="""Feed {{ t }} tokens through self attention with no positional information. Here are the
    outputs, one row per token. | Now shuffle the tokens into the order {{ order }} and run it again: the
    outputs are the very same rows, shuffled the same way. | Torch confirms it. Attention treats a sentence as a
    bag of tokens: without help, word order simply does not exist.""",
    visual=Show("out", "out_shuffled", code=False, caption="shuffled tokens in, the same rows shuffled out"),
    slide=["`attn(x, x, x)` on shuffled tokens", "= the same outputs, shuffled",
           "Permutation-equivariant: order is invisible"],
)
def order_lost(device):
    attn = nn.MultiheadAttention(4, 1, batch_first=True, device=device)
    x = torch.randn(1, 4, 4, device=device)
    order = torch.tensor([2, 0, 3, 1], device=device)
    with torch.no_grad():
        out, _ = attn(x, x, x)
        out_shuffled, _ = attn(x[:, order], x[:, order], x[:, order])
    expect(torch.allclose(out_shuffled, out[:, order], atol=1e-6), "permuting tokens permutes the outputs")
    expect(not torch.allclose(out_shuffled, out, atol=1e-3), "the shuffled outputs are really in a new order")
    return {"out": out[0], "out_shuffled": out_shuffled[0], "t": x.shape[1], "order": order.tolist()}


@lesson.beat(
    "The sinusoidal table",
    narration="""The classic cure from Attention Is All You Need: give every position a fingerprint of sines and
    cosines. Even dimensions hold the sine of the position times a frequency, odd ones the cosine. Here is the
    table for {{ positions }} positions and {{ dim }} dimensions. | Each dimension is a wave: the first ones
    flicker quickly, the later ones drift slowly, so every position gets a pattern of its own.""",
    visual=PositionalEncoding("pe", dims=[0, 2, 6, 10]),
    slide=["`PE[p, 2i] = sin(p / 10000^(2i/d))`", "`PE[p, 2i+1] = cos(p / 10000^(2i/d))`",
           "Fixed, not learned: no gradient"],
)
def table(device):
    pe = sinusoid_table(32, 16, device)
    p = torch.arange(32.0, device=device)
    freq = frequencies(16, device)
    expect(torch.allclose(pe[:, 0], torch.sin(p)), "dimension 0 is sin(p)")
    expect(torch.allclose(pe[:, 1], torch.cos(p)), "dimension 1 is cos(p)")
    expect(torch.allclose(pe[:, 10], torch.sin(p * freq[5])), "dimension 2i is sin(p w_i)")
    expect(bool((freq[1:] < freq[:-1]).all()), "later dimensions turn more slowly")
    expect(len({tuple(r) for r in pe.round(decimals=4).tolist()}) == 32, "every position has its own row")
    expect(not pe.requires_grad, "the table is fixed, not learned")
    positions, dim = pe.shape
    return {"pe": pe, "positions": positions, "dim": dim}


@lesson.beat(
    "Geometric wavelengths",
    narration="""How slow do the slow waves get? Pair i has wavelength two pi times {{ base }} to the power two i
    over d. Here is their log, base ten, against the pair number. | It is a straight line, ending at {{ log_last
    }}: the wavelength climbs from {{ first }} to {{ last }} positions, each pair {{ ratio }} times longer than
    the one before. A geometric ladder, like the hands of a clock from seconds to hours.""",
    visual=Curve("pair", "log_wavelength", labels=["log10 wavelength"], x_label="pair i",
                 y_label="log10 positions"),
    slide=["Wavelength of pair i: 2 pi 10000^(2i/d)", "A constant ratio between neighbours",
           "Fast waves for fine position, slow for coarse"],
)
def wavelengths(device):
    dim = 16
    pair = torch.arange(dim // 2, device=device, dtype=torch.float32)
    wavelength = 2 * math.pi / frequencies(dim, device)
    expect(torch.allclose(wavelength, 2 * math.pi * BASE ** (2 * pair / dim), rtol=1e-4),
           "wavelength of pair i is 2 pi BASE^(2i/d)")
    ratio = wavelength[1:] / wavelength[:-1]
    expect(torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4), "neighbouring wavelengths share one ratio")
    log_wavelength = torch.log10(wavelength)
    steps = log_wavelength[1:] - log_wavelength[:-1]
    expect(torch.allclose(steps, steps[0].expand_as(steps), atol=1e-4), "on a log scale they lie on a line")
    expect(abs(float(wavelength[0]) - 2 * math.pi) < 1e-4, "the fastest wave has wavelength 2 pi")
    return {"pair": pair, "log_wavelength": log_wavelength, "base": int(BASE),
            "first": f"{wavelength[0].item():.1f}", "last": f"{wavelength[-1].item():.0f}",
            "log_last": f"{log_wavelength[-1].item():.2f}",
            "ratio": f"{ratio[0].item():.2f}"}


@lesson.beat(
    "Adding it to the tokens",
    narration="""Now inject it. Here is the table again: each token's embedding gets the row for its position
    added on, same width, no concatenation. | The table's waves, | and here the token at position {{ position }}
    of the sentence: its embedding plus row {{ position }} of the table gives the vector attention will see. The
    same word at another position now looks different.""",
    visual=PositionalEncoding("pe", "token", "x", position=3),
    slide=["`x = tok_emb(ids) + pe[:T]`", "Same width d: added, not concatenated",
           "The same word differs by position"],
)
def add_to_tokens(device):
    pe = sinusoid_table(32, 16, device)
    emb = nn.Embedding(10, 16, device=device)
    ids = torch.tensor([4, 7, 1, 2, 7], device=device)
    position = 3
    with torch.no_grad():
        x = emb(ids) + pe[: len(ids)]
        token = emb.weight[ids[position]]
    expect(x.shape == emb(ids).shape, "adding keeps the width: no concatenation")
    expect(torch.equal(x[position], token + pe[position]), "x[p] is the token's embedding plus pe[p]")
    expect(bool(ids[1] == ids[4]) and not torch.allclose(x[1], x[4]), "the same word at two positions differs")
    return {"pe": pe, "token": token, "x": x[position], "position": position}


@lesson.beat(
    "Learned positions",
    narration="""Many models, like the GPT family, simply learn the positions: another nn dot Embedding, indexed
    by position instead of token, with {{ max_len }} rows, one per position it can handle. | Position {{ first }}
    picks row {{ first }}, | and every other position picks its own row: one vector per position, ready to add
    to the token embeddings. They train like any weight, but nothing exists past row {{ last_row }}.""",
    visual=Embedding("positions", "weight", "out"),
    slide=["`pos_emb = nn.Embedding(max_len, d)`", "`x = tok_emb(ids) + pos_emb(torch.arange(T))`",
           "Learned, but limited to max_len"],
)
def learned(device):
    pos_emb = nn.Embedding(8, 4, device=device)
    tok_emb = nn.Embedding(10, 4, device=device)
    ids = torch.tensor([4, 7, 1], device=device)
    positions = torch.arange(len(ids), device=device)
    with torch.no_grad():
        out = pos_emb(positions)
        x = tok_emb(ids) + out
        expect(torch.allclose(x, tok_emb(ids) + pos_emb(positions)), "x = tok_emb(ids) + pos_emb(arange(T))")
    expect(torch.equal(out, pos_emb.weight[positions]), "each position picks its own row")
    expect(pos_emb.weight.requires_grad, "the positions are learned")
    too_far = torch.tensor([pos_emb.num_embeddings], device=device)
    expect(capture_error(lambda: pos_emb(too_far)) != "", "a position past max_len has no row")
    return {"positions": positions, "weight": pos_emb.weight.detach(), "out": out,
            "max_len": pos_emb.num_embeddings, "first": int(positions[0]), "last_row": pos_emb.num_embeddings - 1}


@lesson.beat(
    "Offsets are rotations",
    narration="""Here is the secret elegance. Take row {{ p }} of the table, folded into its {{ pairs }} pairs: a
    sine beside a cosine. | Turn each pair by {{ k }} times its own frequency, a fixed angle whatever the start:
    here is the result. | And here is row {{ p_k }} of the table, {{ k }} positions later: the very same
    numbers. | So an offset is a rotation, and dot products depend only on the offset. Rotary embeddings, RoPE,
    rotate queries and keys this way; we meet them in attention.""",
    visual=Show("pe_p", "rotated", "pe_p_plus_k", code=False, caption="R(k w_i) applied to PE[p] = PE[p + k]"),
    slide=["Shift by k = rotate each (sin, cos) pair by k w_i", "PE(p) . PE(p + k) depends only on k",
           "RoPE rotates queries and keys: coming soon"],
)
def rotations(device):
    dim, p, k = 8, 5, 3
    pe = sinusoid_table(40, dim, device)
    rotated = rotate_pairs(pe[p], k * frequencies(dim, device))
    expect(torch.allclose(rotated, pe[p + k], atol=1e-5), "rotating PE[p] by k w_i gives PE[p + k]")
    expect(torch.allclose(rotate_pairs(pe[20], k * frequencies(dim, device)), pe[20 + k], atol=1e-5),
           "the same angle works from any start")
    expect(torch.allclose(pe[p] @ pe[p + k], pe[20] @ pe[20 + k], atol=1e-4), "dot products depend on k only")
    pairs = dim // 2
    return {"pe_p": pe[p].reshape(pairs, 2), "rotated": rotated.reshape(pairs, 2),
            "pe_p_plus_k": pe[p + k].reshape(pairs, 2), "k": k, "p": p, "p_k": p + k, "pairs": pairs}


@lesson.beat(
    "Recap",
    narration="""Order is restored! | Attention alone is blind to order: shuffle the tokens and the outputs
    shuffle too. | The sinusoidal table gives each position sines and cosines, | with wavelengths climbing
    geometrically. | We add it, or a learned position embedding, to the tokens. | And a shift in position is a
    rotation of every pair, the seed of RoPE.""",
    visual=Title(heading="What we injected", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    out, out_shuffled, order = order_is_lost(device)
    expect(torch.allclose(out_shuffled, out[:, order], atol=1e-6), "attention is permutation-equivariant")
    pe = sinusoid_table(16, 8, device)
    freq = frequencies(8, device)
    p = torch.arange(16.0, device=device)
    expect(torch.allclose(pe[:, 2], torch.sin(p * freq[1])) and torch.allclose(pe[:, 3], torch.cos(p * freq[1])),
           "PE[p, 2i] = sin(p w_i) and PE[p, 2i+1] = cos(p w_i)")
    expect(torch.allclose(freq[1:] / freq[:-1], (freq[1] / freq[0]).expand(3)), "the wavelengths are geometric")
    expect(torch.allclose(rotate_pairs(pe[2], 4 * freq), pe[6], atol=1e-5), "PE(p + k) is PE(p) rotated")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, a trial of waves. | For a model width of {{ dim }}, compute the wavelength of
    every sine and cosine pair, and the ratio between neighbours. Then build the table and check that row {{ a
    }} dotted with row {{ b }} equals row {{ c }} dotted with row {{ d }}. Predict why before you run it.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["d = 8: wavelength of each pair", "The ratio between neighbours",
           "Check `PE[5] @ PE[7] == PE[20] @ PE[22]`"],
)
def challenge(device):
    dim, a, c, k = 8, 5, 20, 2
    pe = sinusoid_table(32, dim, device)
    wavelength = 2 * math.pi / frequencies(dim, device)
    ratio = wavelength[1:] / wavelength[:-1]
    expect(torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4), "one ratio between neighbours")
    expect(torch.allclose(pe[a] @ pe[a + k], pe[c] @ pe[c + k], atol=1e-4), "same offset, same dot product")
    return {"dim": dim, "a": a, "b": a + k, "c": c, "d": c + k}
