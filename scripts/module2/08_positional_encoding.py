"""2.3.2 Positional Encoding: Injecting Order into Chaos.

Attention alone ignores order (permuted tokens give permuted outputs); the sinusoidal table, its heatmap and
its geometric wavelengths; adding it to token embeddings; learned positions as an nn.Embedding; a fixed
offset as a rotation of each sin/cos pair, the idea RoPE builds on.
"""

import copy
import math

import torch
from torch import nn

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Curve, Index, PositionalEncoding, Show, Title

BASE = 10000.0
WAVE_DIM = 16  # the model width whose wavelengths the curve draws (named on its axis)

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
        "In a module, the fixed table is a buffer",
        "PE(p + k) is PE(p) rotated by k w_i, pair by pair",
    ],
    challenge="For d = 8, compute the wavelength of every sin/cos pair and the ratio between neighbours; then "
    "build the table and check with torch.allclose that PE[5] @ PE[7] matches PE[20] @ PE[22].",
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


def paper_table(positions, dim):
    """The table as the paper writes it, p / 10000^(2i/d): the same values as sinusoid_table, rounded apart."""
    angle = torch.arange(positions).float().unsqueeze(1) / BASE ** (torch.arange(0, dim, 2).float() / dim)
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1).flatten(1)


def rotate_pairs(row, angle):
    """Each (sin, cos) pair of a table row turned by its own angle: the angle-addition formulas."""
    sin, cos = row[0::2], row[1::2]
    rotated = torch.empty_like(row)
    rotated[0::2] = sin * torch.cos(angle) + cos * torch.sin(angle)
    rotated[1::2] = cos * torch.cos(angle) - sin * torch.sin(angle)
    return rotated


def shift_matrix(angle):
    """R_k: a block-diagonal matrix of 2x2 rotations, one per (sin, cos) pair; PE[p + k] = R_k @ PE[p]."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    blocks = [torch.stack([torch.stack([c, s]), torch.stack([-s, c])]) for c, s in zip(cos, sin, strict=True)]
    return torch.block_diag(*blocks)


def keeps_order(attn, x, order, pe=None, attn_mask=None):
    """Whether self-attention on shuffled tokens (x: tokens by width, unbatched) still gives the same rows,
    shuffled: positions `pe` are added after shuffling (they belong to places, not tokens), the mask stays put."""
    pe = torch.zeros_like(x) if pe is None else pe
    with torch.no_grad():
        out, _ = attn(x + pe, x + pe, x + pe, attn_mask=attn_mask)
        moved = x[order] + pe
        out_shuffled, _ = attn(moved, moved, moved, attn_mask=attn_mask)
    return torch.allclose(out_shuffled, out[order], atol=1e-3)


def equivariant(case):
    """Whether self-attention with no mask and no positions maps shuffled tokens to the same rows shuffled, for
    a (tokens, width, heads, dtype) case and a random order."""
    t, width, heads, dtype = case
    attn = nn.MultiheadAttention(width, heads, dtype=dtype)
    x = torch.randn(t, width, dtype=dtype) * 3
    order = torch.randperm(t)
    with torch.no_grad():
        out, _ = attn(x, x, x)
        out_shuffled, _ = attn(x[order], x[order], x[order])
    return torch.allclose(out_shuffled.float(), out[order].float(), atol=1e-5 if dtype == torch.float32 else 2e-2)


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
    narration="""Feed three tokens, say dog, bites, man, through self attention, with no mask and no
    positional information, as the code shows. | Here are the outputs, shaped {{ out.shape }}: one row per
    token. | Now
    reverse the tokens, man bites dog, the order {{ order }}: the same rows come out, reversed, up to float
    rounding. | Attention treats a sentence as a bag of tokens. Adding positions, the cure we brew next,
    breaks the symmetry; so does a mask tied to positions, like the causal mask we meet later.""",
    visual=Show("out", "out_shuffled", caption="reversed tokens in, the same rows reversed out"),
    slide=["`attn(x, x, x)` on reversed tokens", "= the same outputs, reversed",
           "No mask: permutation-equivariant, order is invisible"],
)
def order_lost(device):
    attn = nn.MultiheadAttention(4, 1, device=device)
    x = torch.randn(3, 4, device=device) * 3  # dog, bites, man
    order = torch.tensor([2, 1, 0], device=device)  # reversed
    with torch.no_grad():
        out, _ = attn(x, x, x)
        out_shuffled, _ = attn(x[order], x[order], x[order])
    expect(torch.allclose(out_shuffled, out[order], atol=1e-5), "reversing the tokens reverses the outputs")
    expect(not torch.allclose(out_shuffled, out, atol=1e-3), "the reversed outputs are really in a new order")
    expect_each([(3, 4, 1, torch.float32), (7, 16, 4, torch.float32), (12, 8, 2, torch.float32),
                 (5, 8, 2, torch.bfloat16), (5, 8, 2, torch.float16)],
                equivariant, "any shuffle of the tokens shuffles the outputs the same way, up to rounding")
    expect_each([{"attn_mask": nn.Transformer.generate_square_subsequent_mask(3, device=device)},
                 {"attn_mask": torch.tensor([[0, 1, 1], [0, 0, 1], [1, 0, 0]], device=device).bool()},
                 {"pe": sinusoid_table(3, 4, device) * 3}],
                lambda case: not keeps_order(attn, x, order, **case),
                "added positions, a causal mask or another position-tied mask break the symmetry")
    return {"out": out, "out_shuffled": out_shuffled, "order": order}


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
    narration="""How slow do the slow waves get? Pair i has wavelength two pi times {{ base }} to the power
    two i over d. Here is its log, base ten, for d equal to {{ dim }}. | A straight line, ending at {{ log_last
    }}: from two pi positions to ten to the {{ log_last }}, each pair longer than the one before by the same
    factor, like clock hands from seconds to hours. | On top, the paper's ceiling, {{ base }} times two pi,
    never reached, however wide the model.""",
    visual=Curve("pair", "log_wavelength", "log_ceiling", x_label=f"pair i, for d = {WAVE_DIM}",
                 y_label=f"log10(2π · {BASE:.0f}^(2i/d))", labels=["wavelength", f"ceiling: 2π · {BASE:.0f}"],
                 digits=1),
    slide=["Wavelength of pair i: 2 pi 10000^(2i/d)", "A constant ratio between neighbours",
           "From 2 pi up to (almost) 10000 * 2 pi", "Fast waves for fine position, slow for coarse"],
)
def wavelengths(device):
    dim = WAVE_DIM
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
    ceiling = 2 * math.pi * BASE
    expect_each([16, 512, 4096], lambda d: float(wavelength[-1]) <= 2 * math.pi / frequencies(d, device)[-1] < ceiling,
                "wider models approach the 10000 * 2 pi ceiling, never reaching it")
    log_ceiling = torch.full_like(log_wavelength, math.log10(ceiling))
    return {"pair": pair, "log_wavelength": log_wavelength, "log_ceiling": log_ceiling, "base": int(BASE),
            "dim": dim, "log_last": f"{log_wavelength[-1].item():.1f}"}


@lesson.beat(
    "Adding it to the tokens",
    narration="""Now inject it. Here is the table again: each token's embedding gets its position's row added,
    same width, no concatenation. | Beside it, a few of its columns drawn as waves: the early dimensions swing
    fast, the later ones barely move. | And the token at position {{ position }}: its embedding plus row {{
    position }} of the table gives the vector attention will see.""",
    visual=PositionalEncoding("pe", "token", "x", position=3),
    slide=["`x = tok_emb(ids) + pe[:T]`: added, same width", "Row p of the table goes to the token at p"],
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
    return {"pe": pe, "token": token, "x": x[position], "position": position}


@lesson.beat(
    "The table inside a module",
    narration="""In a model, keep the table inside the module as a buffer: it moves with the model to the GPU
    and into the state dict, yet it is no parameter, so the optimiser never trains it. As in the original
    Transformer, the token embeddings are scaled by the square root of d first. | The sentence {{ ids }} holds
    the same word twice. Here it is second, | and here fifth: the same word, two different vectors, told
    apart by their places.""",
    visual=Show("at_second", "at_fifth"),
    slide=["In a module: `self.register_buffer('pe', pe)`", "Buffers follow `.to()`; the optimiser never sees them",
           "Transformer: `tok(ids) * math.sqrt(d) + pe[:T]`", "The same word differs by position"],
)
def in_module(device):
    class SinusoidalEmbedding(nn.Module):
        def __init__(self, vocab, d, max_len=32):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            pos = torch.arange(max_len).unsqueeze(1)
            freq = 10000 ** (-torch.arange(0, d, 2) / d)
            pe = torch.zeros(max_len, d)
            pe[:, 0::2] = torch.sin(pos * freq)
            pe[:, 1::2] = torch.cos(pos * freq)
            self.register_buffer("pe", pe)
        def forward(self, ids):
            x = self.tok(ids) * math.sqrt(self.pe.shape[1])
            return x + self.pe[: len(ids)]
    model = SinusoidalEmbedding(10, 16).to(device)
    ids = torch.tensor([4, 7, 1, 2, 7], device=device)
    x = model(ids)
    expect(torch.allclose(model.pe, sinusoid_table(32, 16, device), atol=1e-5), "the same table as before")
    expect(list(model.parameters()) == [model.tok.weight], "the table is no parameter: the optimiser never sees it")
    expect("pe" in model.state_dict() and copy.deepcopy(model).to(torch.float64).pe.dtype == torch.float64,
           "a buffer follows .to() and is saved in the state dict")
    expect(torch.equal(x, model.tok(ids) * math.sqrt(16) + model.pe[: len(ids)]), "tokens scaled by sqrt(d), plus pe")
    expect(bool(ids[1] == ids[4]) and not torch.allclose(x[1], x[4]), "the same word at two positions differs")
    return {"at_second": x[1], "at_fifth": x[4], "ids": ids}


@lesson.beat(
    "Learned positions",
    narration="""Many models, like BERT and the early GPTs, simply learn the positions: another nn dot
    Embedding, indexed by position instead of token, with {{ max_len }} rows, one per position it can handle.
    | The positions of a short sentence pick the first rows, one each, | and out comes one vector per
    position, ready to add to the token embeddings. They train like any weight, but no position past the
    last row exists.""",
    visual=Index("weight", "out", index="positions"),
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
            "max_len": pos_emb.num_embeddings}


@lesson.beat(
    "Offsets are rotations",
    narration="""The secret elegance: cut row p of the table into {{ pairs }} pairs, sine beside cosine. | Each
    pair turns by {{ k }} times its frequency: these angles, in radians, from any start. |
    Rotate each pair: here is the result. | And here is row p plus {{ k }}, {{ k }} positions later: the
    same numbers. | One fixed rotation shifts every row by {{ k }}. Rotations keep lengths and angles, so the
    dot product of two rows depends only on their offset. Rotary embeddings, RoPE, turn queries and keys
    this way instead of adding a table.""",
    visual=Show("pe_p", "angle", "rotated", "pe_p_plus_k", code=False, digits=3,
                caption="rotate each (sin, cos) pair of PE[p] by k w_i: PE[p + k], for every p"),
    slide=["Shift by k = rotate each (sin, cos) pair by k w_i", "`PE[p + k] = R_k @ PE[p]`: one matrix for every p",
           "R_k is orthogonal: PE(p) . PE(p + k) depends only on k", "RoPE rotates queries and keys the same way"],
)
def rotations(device):
    dim, p, k = 8, 5, 3
    pe = sinusoid_table(40, dim, device)
    angle = k * frequencies(dim, device)
    rotated = rotate_pairs(pe[p], angle)
    expect(torch.allclose(rotated, pe[p + k], atol=1e-5), "rotating PE[p] by k w_i gives PE[p + k]")
    r_k = shift_matrix(angle)
    expect(torch.allclose(pe[:-k] @ r_k.T, pe[k:], atol=1e-5), "one matrix R_k maps every row p to row p + k")
    eye = torch.eye(dim, device=device)
    expect(torch.allclose(r_k @ r_k.T, eye, atol=1e-6), "R_k is orthogonal: it keeps lengths and angles")
    expect_each([1, 3, 7, 12], lambda shift: torch.allclose((pe[:-shift] * pe[shift:]).sum(-1),
                                                            (pe[0] @ pe[shift]).expand(len(pe) - shift), atol=1e-4),
                "PE(p) . PE(p + k) is the same for every p")
    pairs = dim // 2
    return {"pe_p": pe[p].reshape(pairs, 2), "angle": angle.reshape(pairs, 1), "rotated": rotated.reshape(pairs, 2),
            "pe_p_plus_k": pe[p + k].reshape(pairs, 2), "k": k, "pairs": pairs}


@lesson.beat(
    "Recap",
    narration="""Order is restored! | Attention alone is blind to order: shuffle the tokens and the outputs
    shuffle too. | The sinusoidal table gives each position sines and cosines, | with wavelengths climbing
    geometrically. | We add it to the tokens, or learn the positions instead. | Inside a module, the fixed
    table is a buffer. | And a shift in position is a
    rotation of every pair, the seed of rotary embeddings.""",
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
    every sine and cosine pair, and the ratio between neighbours. Then build the table and check, with all
    close rather than double equals, that row {{ a }} dotted with row {{ b }} matches row {{ c }} dotted with
    row {{ d }}: rounding can tell them apart. Predict why they match before you run it.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["d = 8: wavelength of each pair", "The ratio between neighbours",
           "`torch.allclose(PE[5] @ PE[7], PE[20] @ PE[22])`"],
)
def challenge(device):
    dim, a, c, k = 8, 5, 20, 2
    pe = sinusoid_table(32, dim, device)
    wavelength = 2 * math.pi / frequencies(dim, device)
    ratio = wavelength[1:] / wavelength[:-1]
    expect(torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4), "one ratio between neighbours")
    expect(torch.allclose(pe[a] @ pe[a + k], pe[c] @ pe[c + k]), "same offset, same dot product")
    tables = [sinusoid_table(32, n, "cpu") for n in (8, 16, 64)] + [paper_table(32, n) for n in (8, 16, 64)]
    expect_each(tables, lambda t: torch.allclose(t[a] @ t[a + k], t[c] @ t[c + k]),
                "allclose with its default tolerance passes for either construction")
    paper = paper_table(32, dim)
    expect(torch.allclose(paper, sinusoid_table(32, dim, "cpu"), atol=1e-5), "the paper's form is the same table")
    return {"dim": dim, "a": a, "b": a + k, "c": c, "d": c + k}
