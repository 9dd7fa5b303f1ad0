"""2.2.1 Linear Layers: The Vector Guillotine.

y = x W^T + b with W stored (out, in), the default initialisation bounds checked against real weights, batch
and token axes (Linear acts on the last one), the same result by a hand-written matmul, and queries, keys and
values as three linear maps of one input.
"""

import math

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Curve, Linear, Show, Title


def functional_matches(sizes):
    """Whether F.linear gives bit for bit what a fresh Linear layer gives on a random (rows, in) input."""
    rows, n_in, n_out = sizes
    layer, x = nn.Linear(n_in, n_out), torch.randn(rows, n_in)
    return torch.equal(layer(x), F.linear(x, layer.weight, layer.bias))


def hand_matches(sizes):
    """Whether x @ W.T + b is close to a fresh Linear layer's output on a random (rows, in) input, with isclose's
    relative tolerance and a small absolute one (outputs near zero differ in their last bits on big layers)."""
    rows, n_in, n_out = sizes
    layer, x = nn.Linear(n_in, n_out), torch.randn(rows, n_in)
    with torch.no_grad():
        return torch.isclose(layer(x), x @ layer.weight.T + layer.bias, atol=1e-5).all()


def bias_within(n_in):
    """Whether a fresh Linear layer's bias lies within 1/sqrt(in) and fills most of that range."""
    bias = nn.Linear(n_in, 512).bias.detach()
    return 0.9 < bias.abs().max() * math.sqrt(n_in) <= 1


def fused_matches(sizes):
    """Whether one Linear with the three weights stacked, chunked in three, gives the three projections."""
    rows, d, d_out = sizes
    x, parts, fused = torch.randn(rows, d), [nn.Linear(d, d_out) for _ in range(3)], nn.Linear(d, 3 * d_out)
    with torch.no_grad():
        fused.weight.copy_(torch.cat([p.weight for p in parts]))
        fused.bias.copy_(torch.cat([p.bias for p in parts]))
        return all(torch.allclose(f, p(x), atol=1e-6) for f, p in zip(fused(x).chunk(3, dim=-1), parts, strict=True))


INIT_SMALL, INIT_BIG, INIT_OUT = 16, 256, 64  # the two layers whose first weights the init beat sorts
INIT_LABELS = [f"Linear({n}, {INIT_OUT}): ±{1 / math.sqrt(n):g}" for n in (INIT_SMALL, INIT_BIG)]

lesson = Lesson(
    objectives=[
        "Compute y = x W^T + b; W is stored (out, in)",
        "Check the default initialisation bounds",
        "Apply Linear to batches of tokens: the last axis",
        "Match Linear with a hand-written matmul",
        "Project one input into queries, keys and values",
    ],
    recap=[
        "nn.Linear(in, out): y = x @ W.T + b",
        "W is (out, in); starts uniform in ±1/sqrt(in)",
        "Only the last axis changes; leading axes ride along",
        "F.linear is the layer; x @ W.T + b matches up to rounding",
        "Queries, keys, values: three Linears on one input",
    ],
    challenge="For nn.Linear(5, 2), predict the weight's shape, the bound of its initial weights, and the "
    "output shape for an input of shape (3, 7, 5); then check all three with torch.",
    seed=5,
)


@lesson.beat(
    "The vector guillotine",
    narration="""Sharpen the blade, apprentices! Today we meet the workhorse of nearly every network, the Linear layer,
    which slices vectors from one size into another. | We will compute y equals x times W transposed plus b,
    and read the weight's shape, | check where its first weights come from, | swing it across batches of
    tokens, | rebuild it with a bare matrix multiply, | and forge queries, keys and values for attention.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "y = x W^T + b",
    narration="""Behold nn dot Linear. It takes x, here {{ batch }} samples of {{ n_in }} features each. | Its
    weight W is stored out by in, {{ W.shape }}: one row per output feature. Beside it, the bias holds one
    value per output. | Each output is a dot product of an input row with a weight row, plus that output's
    bias. | Every output works the same way: y equals x times W transposed, plus b, shaped {{ y.shape }}.""",
    visual=Linear("x", "W", "b", "y"),
    slide=["`nn.Linear(in_features, out_features)`", "`weight`: (out, in); `bias`: (out,)",
           "`y = x @ W.T + b`"],
)
def formula(device):
    layer = nn.Linear(3, 2).to(device)
    x = torch.randn(4, 3, device=device)
    with torch.no_grad():
        y = layer(x)
    W, b = layer.weight.detach(), layer.bias.detach()
    expect(W.shape == (layer.out_features, layer.in_features), "the weight is stored (out, in)")
    expect(b.shape == (layer.out_features,), "the bias holds one value per output")
    expect(torch.allclose(y, x @ W.T + b), "a Linear layer computes x @ W.T + b")
    expect(all(torch.allclose(y[:, j], x @ W[j] + b[j]) for j in range(layer.out_features)),
           "output j is the dot product of each input row with weight row j, plus b[j]")
    batch, n_in = x.shape
    return {"x": x, "W": W, "b": b, "y": y, "batch": batch, "n_in": n_in}


@lesson.beat(
    "Where the first weights come from",
    narration="""Where do the first weights come from? PyTorch draws them uniformly between minus and plus one
    over the square root of the input size. | Sort the weights of a layer with {{ small_in }} inputs: uniform
    samples climb in a nearly straight line, from minus to plus {{ small_bound }}, one over the square root of
    {{ small_in }}. | With {{ big_in }} inputs the range narrows to {{ big_bound }}, and the bias obeys the same
    bound. More inputs, smaller weights, so each output, a sum over more inputs, keeps about the same spread.""",
    visual=Curve("fraction", "sorted_small", "sorted_big", labels=INIT_LABELS,
                 x_label="fraction of the layer's weights, sorted",
                 y_label="weight: uniform in ±1/sqrt(in)", digits=4),
    slide=["Default: uniform in [-1/sqrt(in), +1/sqrt(in)]", "(kaiming_uniform_ with a = sqrt(5))",
           "The bias uses the same bound"],
)
def init_bounds(device):
    small = nn.Linear(16, 64).to(device)
    big = nn.Linear(256, 64).to(device)
    expect([(m.in_features, m.out_features) for m in (small, big)] == [(INIT_SMALL, INIT_OUT), (INIT_BIG, INIT_OUT)],
           "the layers are the ones the legend names")
    bounds = [1 / math.sqrt(layer.in_features) for layer in (small, big)]
    for layer, bound in zip((small, big), bounds, strict=True):
        expect(layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound,
               "every weight and bias lies within the bound")
        expect(layer.weight.abs().max() > 0.99 * bound, "the weights fill the range")
        expect(abs(layer.weight.std() - bound / math.sqrt(3)) < 0.05 * bound, "the spread of a uniform distribution")
    expect_each([(16, 2), (16, 512), (256, 2), (1024, 64)],
                lambda io: 0.9 < nn.Linear(*io).weight.abs().max() * math.sqrt(io[0]) <= 1,
                "the bound is 1/sqrt(in), whatever the output size")
    expect_each([4, 16, 256, 1024], bias_within, "the bias obeys the same bound")
    expect_each([4, 16, 256, 4096], lambda n: 0.5 < nn.Linear(n, 64)(torch.randn(2048, n)).std() < 0.7,
                "outputs keep about the same spread whatever the number of inputs")
    fraction = torch.linspace(0, 1, 65, device=device)
    return {"fraction": fraction,
            "sorted_small": torch.quantile(small.weight.detach().flatten(), fraction),
            "sorted_big": torch.quantile(big.weight.detach().flatten(), fraction),
            "small_in": small.in_features, "big_in": big.in_features,
            "small_bound": f"{bounds[0]:g}", "big_bound": f"{bounds[1]:g}"}


@lesson.beat(
    "Batches of tokens",
    narration="""Real data rarely arrives one vector at a time. Here x holds {{ batch }} sentences of {{ tokens }}
    tokens, each token {{ n_in }} features. Linear only cares about the last axis. | The same weight, {{ W.shape
    }}, serves every token of every sentence. | Each token's output is its own dot products plus the bias. |
    The leading axes ride along untouched: the output is {{ y.shape }}, the same sentences and tokens, now
    with {{ n_out }} features each.""",
    visual=Linear("x", "W", "b", "y"),
    slide=["Input `(batch, tokens, in)` -> `(batch, tokens, out)`", "One weight shared by every token",
           "Only the last axis changes"],
)
def batch_tokens(device):
    layer = nn.Linear(4, 5).to(device)
    x = torch.randn(2, 3, 4, device=device)
    with torch.no_grad():
        y = layer(x)
        expect(all(torch.allclose(y[i, j], layer(x[i, j]), atol=1e-6) for i in range(2) for j in range(3)),
               "the same weight transforms each token on its own")
    expect(y.shape[:-1] == x.shape[:-1], "the leading axes ride along")
    expect_each([(4,), (7, 4), (2, 3, 4), (2, 3, 6, 4)], lambda shape: layer(torch.randn(shape, device=device)).shape
                == (*shape[:-1], layer.out_features), "Linear changes only the last axis, whatever leads it")
    batch, tokens, n_in = x.shape
    return {"x": x, "W": layer.weight.detach(), "b": layer.bias.detach(), "y": y, "batch": batch,
            "tokens": tokens, "n_in": n_in, "n_out": layer.out_features}


@lesson.beat(
    "No magic: a matmul",
    narration="""No magic inside the guillotine: functional linear is the very function the layer's forward
    calls. Or rebuild it by hand: x, matrix multiplied by the weight's transpose, plus the bias, broadcast over
    every row. | Here is the layer's answer, | and here is ours: the same numbers. | Compare floats with is
    close, not equals: on a big layer the two roads add in another order and can differ in the last bits, so
    allow a small absolute tolerance. Every entry is close: just a weight, a bias and one matrix multiply.""",
    visual=Show("y_layer", "y_hand", "close"),
    slide=["`F.linear(x, weight, bias)`: exactly `layer(x)`", "`x @ layer.weight.T + layer.bias`",
           "Equal up to rounding: `torch.isclose` with a small `atol`"],
)
def by_hand(device):
    layer = nn.Linear(4, 3).to(device)
    x = torch.randn(2, 4, device=device)
    with torch.no_grad():
        y_layer = layer(x)
        y_fn = F.linear(x, layer.weight, layer.bias)
        y_hand = x @ layer.weight.T + layer.bias
    close = y_hand.isclose(y_layer, atol=1e-5)
    expect(close.all(), "Linear equals x @ W.T + b, up to rounding")
    expect(torch.equal(y_layer, y_fn), "nn.Linear is F.linear")
    expect_each([(64, 300, 100), (8, 17, 5), (1, 1024, 3), (32, 768, 768)], functional_matches,
                "F.linear gives exactly what the layer gives")
    expect_each([(64, 300, 100), (32, 768, 768), (8, 4096, 512), (2, 4, 3)], hand_matches,
                "the hand-written matmul is close to the layer's output, with a small absolute tolerance")
    return {"y_layer": y_layer, "y_hand": y_hand, "close": close}


@lesson.beat(
    "Queries, keys and values",
    narration="""Linear layers are the secret organs of attention. One input x: {{ tokens }} tokens of {{ d }}
    features. | The query is x through its own Linear: what each token is looking for. | The key, through a
    second: what each token offers. | The value, through a third: what each token will hand over. One input,
    three weights, three different views of every token.""",
    visual=Linear("x", "Wq", "Wk", "Wv", "q", "k", "v", qkv=True),
    slide=["`q, k, v = to_q(x), to_k(x), to_v(x)`", "Same input, three weights",
           "Fused: one Linear, 3 times the outputs; `chunk(3, -1)`"],
)
def qkv(device):
    x = torch.randn(3, 4, device=device)
    to_q, to_k, to_v = (nn.Linear(4, 2, bias=False).to(device) for _ in range(3))
    fused = nn.Linear(4, 6, bias=False).to(device)
    with torch.no_grad():
        fused.weight.copy_(torch.cat([to_q.weight, to_k.weight, to_v.weight]))
        q, k, v = to_q(x), to_k(x), to_v(x)
        fq, fk, fv = fused(x).chunk(3, dim=-1)
    expect(torch.allclose(q, x @ to_q.weight.T), "q is x @ Wq.T")
    expect(torch.allclose(fq, q) and torch.allclose(fk, k) and torch.allclose(fv, v), "fused equals separate")
    expect_each([(3, 4, 2), (16, 64, 64), (128, 768, 768), (8, 512, 64)], fused_matches,
                "one Linear with the three weights stacked, chunked in three, gives the same projections")
    tokens, d = x.shape
    return {"x": x, "Wq": to_q.weight.detach(), "Wk": to_k.weight.detach(), "Wv": to_v.weight.detach(),
            "q": q, "k": k, "v": v, "tokens": tokens, "d": d}


@lesson.beat(
    "Recap",
    narration="""The blade is sharp! | A Linear layer computes x times W transposed, plus b. | Its weight is
    stored out by in, and starts uniform within one over the square root of the input size. | Only the last
    axis changes; batch and token axes ride along. | Functional linear gives the layer's own numbers; a bare
    matmul matches them up to rounding, so compare with is close. | And queries, keys and values are three
    Linear maps of one input.""",
    visual=Title(heading="What we sliced", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    layer = nn.Linear(8, 2).to(device)
    expect(layer.weight.abs().max() <= 1 / math.sqrt(8), "initial weights lie within 1/sqrt(in)")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, predict before you run. | Take a Linear layer from {{ n_in }} features to {{
    n_out }}. Write down its weight's shape, the largest its first weights can be, and the shape of its output
    for an input of {{ shape }}. Then summon the layer and let torch check all three predictions. No peeking at
    the answers!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["`nn.Linear(5, 2)`: predict `weight.shape`", "Predict the bound of its first weights",
           "Predict the output shape for (3, 7, 5)"],
)
def challenge(device):
    layer = nn.Linear(5, 2).to(device)
    x = torch.randn(3, 7, 5, device=device)
    expect(layer.weight.shape == (2, 5) and layer(x).shape == (3, 7, 2), "it can be done")
    expect(layer.weight.abs().max() <= 1 / math.sqrt(5), "within the bound")
    return {"n_in": layer.in_features, "n_out": layer.out_features, "shape": "x".join(map(str, x.shape))}
