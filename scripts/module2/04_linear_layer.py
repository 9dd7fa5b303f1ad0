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


INIT_IN, INIT_OUT = 256, 64  # the layer whose first weights the init beat sorts (named on its axes)

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
        "F.linear is the layer; x @ W.T + b matches to rounding",
        "Queries, keys, values: three Linears on one input",
    ],
    challenge="For nn.Linear(5, 2), predict the weight's shape, the bound of its initial weights, and the "
    "output shape for an input of shape (3, 7, 5); then check all three with torch.",
    seed=5,
)


@lesson.beat(
    "The vector guillotine",
    narration="""Sharpen the blade, apprentices! Today we meet the workhorse of every network, the Linear layer,
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
    x = torch.randn(2, 3, device=device)
    with torch.no_grad():
        y = layer(x)
    W, b = layer.weight.detach(), layer.bias.detach()
    expect(W.shape == (layer.out_features, layer.in_features), "the weight is stored (out, in)")
    expect(torch.allclose(y, x @ W.T + b), "a Linear layer computes x @ W.T + b")
    batch, n_in = x.shape
    return {"x": x, "W": W, "b": b, "y": y, "batch": batch, "n_in": n_in}


@lesson.beat(
    "Where the first weights come from",
    narration="""Where do the first weights come from? PyTorch draws them uniformly between minus and plus one
    over the square root of the input size. Take a layer with {{ n_in }} inputs and {{ n_out }}
    outputs. | Sort all {{ n_weights }} of its weights: sorted uniform samples climb in a straight line, from
    just above minus {{ bound }} to just below plus {{ bound }}, the value written at the line's end. The
    bias obeys the same bound. More inputs, smaller weights, so each output, a sum over more inputs, keeps
    about the same spread.""",
    visual=Curve("fraction", "sorted", labels=[f"all {INIT_IN * INIT_OUT} weights, sorted"],
                 x_label=f"fraction of the weights of nn.Linear({INIT_IN}, {INIT_OUT})", y_label="weight", digits=4),
    slide=["Default: uniform in [-1/sqrt(in), +1/sqrt(in)]", "(kaiming_uniform_ with a = sqrt(5))",
           "The bias uses the same bound"],
)
def init_bounds(device):
    layer = nn.Linear(INIT_IN, INIT_OUT).to(device)
    W, b = layer.weight.detach(), layer.bias.detach()
    bound = 1 / math.sqrt(layer.in_features)
    expect(W.abs().max() <= bound and b.abs().max() <= bound, "every weight and bias lies within the bound")
    expect(W.abs().max() > 0.99 * bound, "the weights fill the range")
    expect(abs(W.std() - bound / math.sqrt(3)) < 0.05 * bound, "the spread of a uniform distribution")
    expect_each([(16, 2), (16, 512), (256, 2), (1024, 64)],
                lambda io: 0.9 < nn.Linear(*io).weight.abs().max() * math.sqrt(io[0]) <= 1,
                "the bound is 1/sqrt(in), whatever the output size")
    expect_each([16, 256, 1024], lambda n: 0.45 < nn.Linear(n, 64)(torch.randn(512, n)).std() < 0.75,
                "outputs keep about the same spread as the input size grows")
    fraction = torch.linspace(0, 1, 65, device=device)
    return {"fraction": fraction, "sorted": torch.quantile(W.flatten(), fraction), "n_in": layer.in_features,
            "n_out": layer.out_features,
            "n_weights": W.numel(), "bound": f"{bound:.4f}"}


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
    layer = nn.Linear(4, 3).to(device)
    x = torch.randn(2, 3, 4, device=device)
    with torch.no_grad():
        y = layer(x)
        one = layer(x[1, 2])
    expect(torch.allclose(y[1, 2], one), "each token is transformed on its own")
    expect(y.shape[:-1] == x.shape[:-1], "the leading axes ride along")
    batch, tokens, n_in = x.shape
    return {"x": x, "W": layer.weight.detach(), "b": layer.bias.detach(), "y": y, "batch": batch,
            "tokens": tokens, "n_in": n_in, "n_out": layer.out_features}


@lesson.beat(
    "No magic: a matmul",
    narration="""There is no magic inside the guillotine. Rebuild it by hand: x, matrix multiplied by the
    weight's transpose, plus the bias, broadcast over every row. Functional linear is the very function the
    layer calls, with no module at all. | Here is the layer's answer, | and here is ours: the same numbers up
    to float rounding, as torch's all close confirms. A Linear layer is just a weight, a bias, and one matrix
    multiply.""",
    visual=Show("y_layer", "y_hand"),
    slide=["`x @ layer.weight.T + layer.bias`", "`F.linear(x, weight, bias)`: exactly `layer(x)`",
           "The matmul matches to rounding: `allclose`"],
)
def by_hand(device):
    layer = nn.Linear(4, 3).to(device)
    x = torch.randn(2, 4, device=device)
    with torch.no_grad():
        y_layer = layer(x)
        y_hand = x @ layer.weight.T + layer.bias
        y_fn = F.linear(x, layer.weight, layer.bias)
    expect(torch.allclose(y_layer, y_hand), "Linear equals x @ W.T + b")
    expect(torch.equal(y_layer, y_fn), "nn.Linear is F.linear")
    expect_each([(64, 300, 100), (8, 17, 5), (1, 1024, 3)], functional_matches,
                "F.linear gives exactly what the layer gives")
    return {"y_layer": y_layer, "y_hand": y_hand}


@lesson.beat(
    "Queries, keys and values",
    narration="""Linear layers are the secret organs of attention. One input x: {{ tokens }} tokens of {{ d }}
    features. | The query is x through its own Linear: what each token is looking for. | The key, through a
    second: what each token offers. | The value, through a third: what each token will hand over. Many models
    fuse the three into one Linear with three times the outputs and split its output in three; torch's all
    close confirms the same numbers.""",
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
    tokens, d = x.shape
    return {"x": x, "Wq": to_q.weight.detach(), "Wk": to_k.weight.detach(), "Wv": to_v.weight.detach(),
            "q": q, "k": k, "v": v, "tokens": tokens, "d": d}


@lesson.beat(
    "Recap",
    narration="""The blade is sharp! | A Linear layer computes x times W transposed, plus b. | Its weight is
    stored out by in, and starts uniform within one over the square root of the input size. | Only the last
    axis changes; batch and token axes ride along. | Functional linear and a bare matmul give the same
    numbers, up to rounding. | And queries, keys and values are three Linear maps of one input.""",
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
