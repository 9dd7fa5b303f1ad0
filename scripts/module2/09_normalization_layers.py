"""2.4.1 Normalization: Calming the Beast.

Which axes share statistics in BatchNorm and LayerNorm for (N, C), (N, C, H, W) and (B, T, D) data; a
from-scratch LayerNorm equal to torch's; the affine weight and bias; and eps, which keeps a flat row finite.
"""

import torch
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Norm, Show, Title


def batch_variance(n, scale):
    """BatchNorm1d's (training) output variance per feature of a random (n, 3) batch spread by `scale`, beside
    each feature's own biased variance: the output's is var / (var + eps)."""
    x = torch.randn(n, 3) * scale
    return x.var(0, unbiased=False), nn.BatchNorm1d(3)(x).detach().var(0, unbiased=False)


def near_one_unless_tiny(case):
    """Whether every feature comes out with variance at most one (up to rounding), and within 1% of one where
    its own variance is at least 100 eps."""
    var_in, var_out = batch_variance(*case)
    big = var_in >= 100 * 1e-5
    return bool((var_out <= 1 + 1e-5).all()) and bool((1 - var_out[big] < 0.0101).all())


def flat_row_near_zero(case):
    """Whether LayerNorm maps a flat row (value, width, dtype) to zeros within 1e-2 with the default eps, and to
    NaN with eps = 0."""
    value, width, dtype = case
    row = torch.full((1, width), value, dtype=dtype)
    y = nn.LayerNorm(width, elementwise_affine=False, dtype=dtype)(row)
    y0 = nn.LayerNorm(width, eps=0.0, elementwise_affine=False, dtype=dtype)(row)
    return bool(y.isfinite().all()) and float(y.abs().max()) < 1e-2 and bool(y0.isnan().all())


lesson = Lesson(
    objectives=[
        "BatchNorm: statistics per feature, across the batch",
        "The same for images: per channel over N, H and W",
        "(B, T, D): LayerNorm per token, BatchNorm per feature",
        "Rebuild LayerNorm from scratch and match torch",
        "The affine weight and bias, and what eps is for",
    ],
    recap=[
        "BatchNorm1d on (N, C): one mean and var per C",
        "BatchNorm2d on (N, C, H, W): per C, over N, H, W",
        "LayerNorm(D) on (B, T, D): per token, over D",
        "(x - mean) / sqrt(var + eps), biased variance",
        "Then * weight + bias (ones and zeros at first)",
    ],
    challenge="For x of shape (8, 16, 32), say how many means nn.BatchNorm1d(16) and nn.LayerNorm(32) each "
    "compute; then compute them by hand with x.mean(...) and check against torch.",
    seed=9,
)


@lesson.beat(
    "Calming the beast",
    narration="""Apprentices, the activations are rampaging! Some channels boil at huge values, others barely
    twitch. Today we brew the calming draught: normalisation. | We will see BatchNorm share statistics across
    the batch, | then across whole images, | see LayerNorm keep each token to itself where BatchNorm pools
    all tokens, | rebuild LayerNorm by hand, | and meet its learnable weight and bias, and the tiny eps that
    guards against division by zero.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "BatchNorm on (N, C)",
    narration="""First, nn dot BatchNorm one d on a batch of {{ n }} samples with {{ c }} features, shaped {{
    x.shape }}. | Cells of one colour share statistics: each feature, one column, across the whole batch. |
    So torch computes {{ c }} means and {{ c }} variances, one per feature. | Each value minus its column's
    mean, over its column's standard deviation: every feature now has mean zero and variance just under one,
    since eps joins the variance. A feature whose own variance is as tiny as eps would stay well under.""",
    visual=Norm("x", "mean", "var", "y", kind="batch"),
    slide=["`nn.BatchNorm1d(C)` on `(N, C)`", "Statistics per feature, over the batch axis",
           "`x.mean(0)`, `x.var(0, unbiased=False)`"],
)
def batch_1d(device):
    x = torch.randn(4, 3, device=device) * torch.tensor([1.0, 4.0, 0.5], device=device) + 2
    bn = nn.BatchNorm1d(3, device=device)
    y = bn(x).detach()
    mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    expect(torch.allclose(y, (x - mean) / torch.sqrt(var + bn.eps), atol=1e-5), "per-feature statistics")
    expect(torch.allclose(y.mean(0), torch.zeros(3, device=device), atol=1e-5), "each feature has mean 0")
    y_var = y.var(0, unbiased=False)
    expect(bool((y_var < 1).all()) and torch.allclose(y_var, torch.ones_like(y_var), atol=1e-3),
           "each feature has variance just under 1")
    expect_each([(n, s) for n in (2, 4, 64) for s in (0.1, 1.0, 100.0)], near_one_unless_tiny,
                "variance just under one, within 1% where a feature's own variance is at least 100 eps")
    expect_each([(64, 1e-3), (8, 1e-3)], lambda case: bool((batch_variance(*case)[1] < 0.5).all()),
                "a feature with variance near eps stays well under one")
    n, c = x.shape
    return {"x": x, "mean": mean, "var": var, "y": y, "n": n, "c": c}


@lesson.beat(
    "BatchNorm on images",
    narration="""Images arrive as N, C, H, W: here {{ x.shape }}. Each sample is drawn with one row per channel,
    its H by W pixels laid flat in that row. BatchNorm two d works per channel. | Every
    cell of one channel shares statistics: all samples, all rows, all columns of that channel. | So there are
    just {{ c }} means and {{ c }} variances, one per channel. | Each pixel is normalised with its channel's
    pair, whatever sample or position it sits in.""",
    visual=Norm("x", "mean", "var", "y", kind="batch"),
    slide=["`nn.BatchNorm2d(C)` on `(N, C, H, W)`", "Statistics per channel, over N, H and W",
           "`x.mean(dim=(0, 2, 3))`"],
)
def batch_2d(device):
    shift = torch.tensor([0.0, 3.0, -2.0], device=device)[:, None, None]
    x = torch.randn(2, 3, 2, 2, device=device) + shift
    bn = nn.BatchNorm2d(3, device=device)
    y = bn(x).detach()
    mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    expected = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + bn.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "BatchNorm2d normalises each channel over N, H and W")
    return {"x": x, "mean": mean, "var": var, "y": y, "c": x.shape[1]}


@lesson.beat(
    "LayerNorm on (B, T, D)",
    narration="""Transformers prefer LayerNorm. Here {{ b }} sentences of {{ t }} tokens, each with {{ d }}
    features. | Now the colours run the other way: each token shares statistics only with its own features,
    never with other tokens. | That makes a {{ mean.shape }} grid of means and variances, one per token. | Each token is
    normalised on its own, so the batch size no longer matters. In a Transformer block it sits before each
    sublayer, pre norm, as most models now do, or after the residual sum, post norm, as the original did.""",
    visual=Norm("x", "mean", "var", "y", kind="layer"),
    slide=["`nn.LayerNorm(D)` on `(B, T, D)`", "Statistics per token, over the last axis",
           "Independent of the batch: fine for a batch of 1", "Pre-norm `x + f(ln(x))`; post-norm `ln(x + f(x))`"],
)
def layer_norm(device):
    x = torch.randn(2, 3, 4, device=device) * 2 + 1
    ln = nn.LayerNorm(4, device=device)
    y = ln(x).detach()
    mean, var = x.mean(dim=-1), x.var(dim=-1, unbiased=False)
    expected = (x - mean[..., None]) / torch.sqrt(var[..., None] + ln.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "LayerNorm normalises each token over its features")
    expect(torch.allclose(ln(x[:1, :1]).detach(), y[:1, :1], atol=1e-6), "a single token gives the same result")
    f = nn.Linear(4, 4, device=device)
    with torch.no_grad():
        pre, post = x + f(ln(x)), ln(x + f(x))
    expect(torch.allclose(post.mean(-1), torch.zeros(2, 3, device=device), atol=1e-5)
           and not torch.allclose(pre.mean(-1), torch.zeros(2, 3, device=device), atol=1e-2),
           "post-norm's output is normalised; pre-norm leaves the residual sum as it is")
    b, t, d = x.shape
    return {"x": x, "mean": mean, "var": var, "y": y, "b": b, "t": t, "d": d}


@lesson.beat(
    "BatchNorm on (B, T, D)",
    narration="""The same kind of data, {{ x.shape }}, through BatchNorm one d instead. BatchNorm one d reads
    axis one as the channels, so we transpose to B, D, T, and back afterwards. | Now each colour is one
    feature, across every token of every sentence: {{ pooled }} values each. | Just {{ d }} means and {{ d }}
    variances, one per feature. | So in training, a token's output depends on every other
    token in the batch: fine for images, awkward for sentences of different lengths. In eval mode, saved
    running statistics take over.""",
    visual=Norm("x", "mean", "var", "y", kind="batch", channel=-1),
    slide=["`nn.BatchNorm1d(D)` wants `(N, C, L)`: channels on axis 1",
           "`bn(x.transpose(1, 2)).transpose(1, 2)`", "Statistics per feature, over B and T"],
)
def batch_tokens(device):
    x = torch.randn(2, 3, 4, device=device) * 2 + 1
    bn = nn.BatchNorm1d(4, device=device)
    y = bn(x.transpose(1, 2)).transpose(1, 2).detach()
    mean, var = x.mean(dim=(0, 1)), x.var(dim=(0, 1), unbiased=False)
    expect(torch.allclose(y, (x - mean) / torch.sqrt(var + bn.eps), atol=1e-5), "per feature, over B and T")
    other = x.clone()
    other[1, 2] += 5.0  # change one token of the other sentence
    for training in (True, False):
        bn.train(training)
        first = [bn(v.transpose(1, 2)).transpose(1, 2)[0].detach() for v in (x, other)]
        expect(training != torch.equal(*first), "in training the first sentence feels the other's token; not in eval")
    bn.train()
    b, t, d = x.shape
    return {"x": x, "mean": mean, "var": var, "y": y, "d": d, "pooled": b * t}


@lesson.beat(
    "LayerNorm from scratch",
    narration="""Let us brew it ourselves. Subtract each token's mean, divide by the square root of its biased
    variance plus eps, then multiply by the weight and add the bias. | Here is torch's LayerNorm, its
    weight and bias set away from ones and zeros, as if trained, | and here is our hand made version on the
    same input. | The numbers match up to rounding, as torch's all close confirms. Note the biased variance:
    divide by the count, not the count minus one; the unbiased one would not match.""",
    visual=Show("y_torch", "y_scratch", caption="torch and by hand: allclose"),
    slide=["`(x - mean) / torch.sqrt(var + eps)`", "`var(dim=-1, unbiased=False)`: the biased variance",
           "`* weight + bias`"],
)
def from_scratch(device):
    x = torch.randn(2, 3, device=device) * 3
    ln = nn.LayerNorm(3, device=device)
    with torch.no_grad():
        ln.weight.copy_(torch.rand(3) + 0.5)
        ln.bias.copy_(torch.randn(3) / 4)
        y_torch = ln(x)
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        x_hat = (x - mean) / torch.sqrt(var + ln.eps)
        y_scratch = x_hat * ln.weight + ln.bias
        var_n1 = x.var(dim=-1, keepdim=True)  # unbiased
        wrong = (x - mean) / torch.sqrt(var_n1 + ln.eps)
    expect(torch.allclose(y_torch, y_scratch, atol=1e-5), "match")
    expect(not torch.allclose(x_hat, wrong, atol=1e-3), "n-1 differs")
    return {"y_torch": y_torch, "y_scratch": y_scratch}


@lesson.beat(
    "Weight and bias",
    narration="""After normalising, the layer may undo it: a learned weight scales each feature and a learned
    bias shifts it. They start as ones and zeros; the code sets them by hand, and builds a second LayerNorm
    with none at all. | Without them, pure normalisation: these two tokens, each with mean zero. | With weight
    {{ weight }} and bias {{ bias }}, every value is multiplied by {{ weight }}, then lifted by {{ bias }}, so
    the network can learn to scale and shift its features back where that helps.""",
    visual=Show("y_norm", "y_affine"),
    slide=["`weight` starts as ones, `bias` as zeros", "`y = x_hat * weight + bias`, both learned",
           "`elementwise_affine=False`: no weight, no bias"],
)
def affine(device):
    weight, bias = 2.0, 0.5
    x = torch.randn(2, 4, device=device)
    plain = nn.LayerNorm(4, elementwise_affine=False)
    ln = nn.LayerNorm(4, device=device)
    expect(bool((ln.weight == 1).all() and (ln.bias == 0).all()), "weight starts as ones, bias as zeros")
    expect(list(plain.parameters()) == [], "elementwise_affine=False: no weight and no bias")
    with torch.no_grad():
        ln.weight.fill_(weight)
        ln.bias.fill_(bias)
        y_norm, y_affine = plain(x), ln(x)
    expect(torch.allclose(y_norm.mean(-1), torch.zeros(2, device=device), atol=1e-6), "each token has mean zero")
    expect(torch.allclose(y_affine, y_norm * weight + bias, atol=1e-6), "y = x_hat * weight + bias")
    return {"y_norm": y_norm, "y_affine": y_affine, "weight": weight, "bias": bias}


@lesson.beat(
    "What eps is for",
    narration="""LayerNorm divides by the square root of the variance plus eps, a tiny number, {{ eps }} by
    default. | Here is why: a flat token, every value {{ value }}, has variance zero, yet with eps it
    normalises to zeros. | With eps at zero, torch divides zero by zero and returns NaN, not a number, in
    every place: poison that spreads through every later layer.""",
    visual=Show("flat", "flat_no_eps"),
    slide=["`(x - mean) / torch.sqrt(var + eps)`", "`eps=1e-5` keeps a zero variance finite",
           "`eps=0.0`: a flat row gives NaN"],
)
def eps(device):
    value = 5.0
    flat_x = torch.full((1, 4), value, device=device)
    ln = nn.LayerNorm(4, elementwise_affine=False)  # eps=1e-5
    no_eps = nn.LayerNorm(4, eps=0.0, elementwise_affine=False)
    flat, flat_no_eps = ln(flat_x), no_eps(flat_x)
    expect(ln.eps == 1e-5, "1e-5 is the default eps")
    expect(bool(torch.isfinite(flat).all()) and bool((flat == 0).all()), "a flat row normalises to zeros")
    expect_each([(v, n, dt) for v in (5.0, 0.1, -1234.5) for n in (4, 768)
                 for dt in (torch.float32, torch.float16, torch.bfloat16)], flat_row_near_zero,
                "a flat row normalises to zeros (to within rounding in half precision), and to NaN with eps = 0")
    expect(bool(torch.isnan(flat_no_eps).all()), "with eps = 0 a flat row gives NaN everywhere")
    return {"flat": flat, "flat_no_eps": flat_no_eps, "eps": f"{ln.eps:g}", "value": value}


@lesson.beat(
    "Recap",
    narration="""The beast is calm! | BatchNorm on N by C data keeps one mean and variance per feature, over
    the batch. | On images, one per channel, over samples, rows and columns. | LayerNorm keeps one per token,
    over its features. | In training both compute x minus the mean, over the square root of the biased
    variance plus eps, | and then multiply by a learned weight and add a learned bias.""",
    visual=Title(heading="What we calmed", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    x = torch.randn(4, 5, device=device)
    ln = nn.LayerNorm(5, device=device)
    expected = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + ln.eps)
    expect(torch.allclose(ln(x).detach(), expected, atol=1e-5), "LayerNorm is (x - mean) / sqrt(var + eps)")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, a counting trial. | Take x shaped {{ shape }}. How many means does BatchNorm one
    d with {{ c }} channels compute, and how many does LayerNorm over the last {{ d }} features compute?
    Predict both, then compute them by hand with x dot mean over the right axes, and check them against
    torch's outputs.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["x of shape (8, 16, 32)", "`nn.BatchNorm1d(16)`: how many means?", "`nn.LayerNorm(32)`: how many?"],
)
def challenge(device):
    x = torch.randn(8, 16, 32, device=device)
    bn, ln = nn.BatchNorm1d(16, device=device), nn.LayerNorm(32, device=device)
    expect(x.mean(dim=(0, 2)).numel() == 16 and x.mean(dim=-1).numel() == 8 * 16, "16 and 128 means")
    expect(bn(x).shape == ln(x).shape == x.shape, "both keep the shape")
    return {"shape": "x".join(map(str, x.shape)), "c": bn.num_features, "d": ln.normalized_shape[0]}
