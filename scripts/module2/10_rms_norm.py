"""2.4.2 RMSNorm & Other Exotic Tonics.

The RMSNorm formula and nn.RMSNorm equal to a from-scratch version; how it differs from LayerNorm (no mean
subtraction, no bias: one statistic, half the parameters); GroupNorm, with InstanceNorm and LayerNorm as its
two extremes.
"""

import torch
from torch import nn

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Norm, Show, Title

lesson = Lesson(
    objectives=[
        "Write the RMSNorm formula: x / sqrt(mean(x²) + eps)",
        "Match nn.RMSNorm with a from-scratch version",
        "See what it drops from LayerNorm, and what it saves",
        "Normalise groups of channels with GroupNorm",
        "See InstanceNorm and LayerNorm as GroupNorm extremes",
    ],
    recap=[
        "RMSNorm: x / sqrt(mean(x²) + eps) * weight",
        "nn.RMSNorm(d) matches our from-scratch version",
        "No mean subtraction, no bias: d parameters, not 2d",
        "GroupNorm(G, C): per sample, per group of channels",
        "G = C: InstanceNorm; G = 1: LayerNorm over C, H, W",
    ],
    challenge="For x = torch.randn(2, 6, 4, 4), build nn.GroupNorm(3, 6) and reproduce its output by hand with "
    "reshape, mean and the biased var (unbiased=False); then predict which GroupNorm equals nn.InstanceNorm2d(6) "
    "and check it.",
    seed=10,
)


def rms_norm(x, weight, eps):
    """RMSNorm by hand: divide by the root mean square of the last axis, then scale by the weight."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def eps_default_ok(case):
    """nn.RMSNorm() with no eps on tiny inputs of one dtype: None in the module, and the formula computed in
    float32 (float64 stays float64) with `used`'s machine epsilon, not the input dtype's or LayerNorm's."""
    dtype, used = case
    x = (torch.randn(64, 16) * 1e-3).to(dtype)
    norm = nn.RMSNorm(16, dtype=dtype)
    wide = torch.float64 if dtype == torch.float64 else torch.float32
    with torch.no_grad():
        by_hand = lambda eps: (rms_norm(x.to(wide), 1.0, eps).to(dtype) * norm.weight)  # noqa: E731
        matches = torch.allclose(norm(x), by_hand(torch.finfo(used).eps), rtol=1e-3, atol=0)
        differs = not torch.allclose(norm(x), by_hand(1e-5), rtol=1e-3, atol=0)
        not_own = used == dtype or not torch.allclose(norm(x), by_hand(torch.finfo(dtype).eps), rtol=1e-3, atol=0)
    return norm.eps is None and matches and differs and not_own and nn.LayerNorm(4).eps == 1e-5


def same_eps_agree(case):
    """LayerNorm and RMSNorm, both with eps=1e-6, on zero-mean tokens of one size and scale."""
    n, d, scale = case
    x = torch.randn(n, d) * scale
    x = x - x.mean(-1, keepdim=True)
    with torch.no_grad():
        return torch.allclose(nn.LayerNorm(d, eps=1e-6)(x), nn.RMSNorm(d, eps=1e-6)(x), atol=1e-4)


def grouped_by_hand(x, groups, eps):
    """GroupNorm by hand (no affine): mean and variance per sample and group of channels."""
    g = x.reshape(x.shape[0], groups, -1)
    mean, var = g.mean(-1, keepdim=True), g.var(-1, keepdim=True, unbiased=False)
    return ((g - mean) / torch.sqrt(var + eps)).reshape_as(x)


@lesson.beat(
    "Exotic tonics",
    narration="""Welcome to the exotic shelf of the apothecary, apprentices! LayerNorm calmed our beasts; today we
    sample leaner, stranger brews that modern language models swear by. | We will write the RMSNorm formula, |
    match torch's RMSNorm by hand, | see what it leaves out and what it saves, | normalise groups of channels,
    | and find two old friends hiding inside GroupNorm.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The RMSNorm formula",
    narration="""RMSNorm never subtracts the mean. Here {{ b }} sentences of {{ t }} tokens with {{ d }} features
    each. | Each token gets one statistic: the mean of its squares, plus a tiny eps, under a square root. |
    Here are those root mean squares, one per token, a {{ rms.shape }} grid; the first token's is {{ first_rms
    }}. | Each value is divided by its token's root mean square. The learned weight starts at ones, so nothing
    else happens: no shift, no bias.""",
    visual=Norm("x", "rms", "y", kind="rms"),
    slide=["rms = sqrt(mean(x², dim=-1) + eps)", "y = x / rms * weight", "One statistic per token, no mean"],
)
def formula(device):
    x = torch.randn(2, 3, 4, device=device) * 2 + 0.5
    norm = nn.RMSNorm(4, eps=1e-6, device=device)
    y = norm(x).detach()
    rms = torch.sqrt(x.pow(2).mean(dim=-1) + 1e-6)
    expect(bool((norm.weight == 1).all()), "the weight starts at ones")
    expect(torch.allclose(y, x / rms[..., None], atol=1e-5), "RMSNorm divides by the rms and subtracts no mean")
    b, t, d = x.shape
    return {"x": x, "rms": rms, "y": y, "b": b, "t": t, "d": d,
            "first_rms": f"{rms[0, 0].item():.2f}"}


@lesson.beat(
    "RMSNorm from scratch",
    narration="""Now brew it by hand, with a random weight. Square, take the mean over the
    last axis, add eps, take the reciprocal square root, multiply, and scale by the weight: two lines of
    code. | Here is torch's nn dot RMSNorm, | and here is our version on the same input. | The numbers match, as
    torch confirms. Llama style models carry this little formula in every block. One trap: leave eps out and
    torch uses float32's machine epsilon, for float32, float16 and bfloat16 alike, far smaller than
    LayerNorm's default.""",
    visual=Show("y_torch", "y_scratch", stack=True,
                caption="eps=None: float32's eps, 16-bit too"),
    slide=["`ms = x.pow(2).mean(-1, keepdim=True)`", "`x * torch.rsqrt(ms + eps) * weight`",
           "`nn.RMSNorm(d, eps=1e-6)`: the same numbers",
           "Default `eps=None`: float32's eps, 16-bit inputs too"],
)
def from_scratch(device):
    x, eps = torch.randn(2, 4, device=device) * 2, 1e-6
    norm = nn.RMSNorm(4, eps=eps, device=device)
    with torch.no_grad():
        w = norm.weight.uniform_(0.5, 2.0)
        y_torch = norm(x)
        ms = x.pow(2).mean(-1, keepdim=True)
        y_scratch = x * torch.rsqrt(ms + eps) * w
    same = torch.allclose(y_torch, y_scratch, atol=1e-5)
    expect(same, "by hand = nn.RMSNorm")
    expect(bool((w != 1).any()), "weight not all ones")
    expect_each([(torch.float32, torch.float32), (torch.float16, torch.float32), (torch.bfloat16, torch.float32),
                 (torch.float64, torch.float64)], eps_default_ok,
                "eps=None: float32's machine epsilon for float32, float16 and bfloat16 inputs")
    expect(torch.finfo(torch.float32).eps < nn.LayerNorm(4).eps / 10, "far smaller than LayerNorm's default")
    return {"y_torch": y_torch, "y_scratch": y_scratch}


@lesson.beat(
    "RMSNorm against LayerNorm",
    narration="""What does skipping the mean change? With the same eps, on tokens whose features average zero,
    the two agree. So shift every feature by {{ shift }}: here are the shifted tokens. | LayerNorm subtracts the
    mean, so its rows are centred again. | RMSNorm keeps the shift: its rows stay far from a zero mean. | The
    saving: one statistic instead of two, and no bias, so half of LayerNorm's parameters.""",
    visual=Show("shifted", "y_layer", "y_rms", code=False,
                caption="LayerNorm centres each row; RMSNorm keeps the shift, with half the parameters"),
    slide=["LayerNorm: subtract mean, divide by std, + bias", "RMSNorm: divide by rms; no mean, no bias",
           "d parameters instead of 2d; one reduction"],
)
def against_layer_norm(device):
    d = 4
    ln = nn.LayerNorm(d, eps=1e-6, device=device)
    rms = nn.RMSNorm(d, eps=1e-6, device=device)
    centred = torch.randn(2, d, device=device)
    centred = centred - centred.mean(-1, keepdim=True)
    shift = 3.0
    shifted = centred + shift
    expect_each([(2, 4, 1.0), (5, 16, 1e-2), (3, 64, 10.0), (4, 8, 1e-3)], same_eps_agree,
                "with the same eps, LayerNorm and RMSNorm agree on zero-mean tokens")
    with torch.no_grad():
        expect(torch.allclose(ln(centred), rms(centred), atol=1e-4), "on zero-mean tokens they agree")
        y_layer, y_rms = ln(shifted), rms(shifted)
    expect(torch.allclose(y_layer.mean(-1), torch.zeros(2, device=device), atol=1e-5), "LayerNorm centres")
    expect(bool((y_rms.mean(-1).abs() > 0.5).all()), "RMSNorm keeps the shift")
    ln_params = sum(p.numel() for p in ln.parameters())
    rms_params = sum(p.numel() for p in rms.parameters())
    expect(ln_params == 2 * rms_params and ln.bias is not None, "RMSNorm has no bias: half the parameters")
    return {"shifted": shifted, "y_layer": y_layer, "y_rms": y_rms, "shift": shift}


@lesson.beat(
    "GroupNorm",
    narration="""For images in small batches, GroupNorm splits the channels into groups. Here {{ c }} channels
    in {{ groups }} groups, for each of {{ n }} samples. | Cells of one colour share statistics: one group of
    channels, within one sample, never across the batch. | So there are {{ n_stats }} means and {{ n_stats }}
    variances; the first group's mean is {{ first_mean }}. | Each value is normalised within its own group, so
    a sample's result never depends on the rest of the batch. Its affine weight and bias hold one value per
    channel, not per group.""",
    visual=Norm("x", "mean", "var", "y", kind="group"),
    slide=["`nn.GroupNorm(num_groups, num_channels)`: C divisible by G", "Statistics per sample, per group of channels",
           "Independent of the batch size", "weight and bias: one per channel (C), not per group"],
)
def group_norm(device):
    x = torch.randn(2, 4, 1, 2, device=device)
    gn = nn.GroupNorm(2, 4, device=device)
    y = gn(x).detach()
    grouped = x.reshape(2, 2, -1)
    mean = grouped.mean(dim=-1)
    var = grouped.var(dim=-1, unbiased=False)
    expected = ((grouped - mean[..., None]) / torch.sqrt(var[..., None] + gn.eps)).reshape_as(x)
    expect(torch.allclose(y, expected, atol=1e-5), "GroupNorm normalises each sample's group of channels")
    expect(torch.allclose(gn(x[:1]).detach(), y[:1], atol=1e-6), "a sample alone gives the same result")
    expect(gn.weight.shape == gn.bias.shape == (gn.num_channels,), "weight and bias: one per channel")
    expect("divisible" in capture_error(lambda: nn.GroupNorm(3, 4)), "the channels must split evenly into groups")
    return {"x": x, "mean": mean, "var": var, "y": y, "c": gn.num_channels, "groups": gn.num_groups,
            "n": x.shape[0], "n_stats": mean.numel(), "first_mean": f"{mean[0, 0].item():.2f}"}


@lesson.beat(
    "Two extremes of GroupNorm",
    narration="""GroupNorm hides two old friends. With as many groups as channels, {{ c }}, each channel is its
    own group: | that is InstanceNorm. | With a single group, all channels of a sample share one mean and
    variance: | that is LayerNorm over channels, height and width together. | Torch confirms both pairs match,
    to float precision, shown here for the first sample's first row of each channel. The match is for the
    normalisation only: GroupNorm's affine weight has one value per channel, while LayerNorm's has
    one per element.""",
    visual=Show("per_channel", "instance_norm", "one_group", "layer_norm", code=False,
                caption="GroupNorm(C, C) = InstanceNorm2d(C);  GroupNorm(1, C) = LayerNorm over (C, H, W)"),
    slide=["`GroupNorm(C, C)` = `InstanceNorm2d(C)`", "`GroupNorm(1, C)` = LayerNorm over (C, H, W)",
           "Normalisation only: affine weights C vs C*H*W", "Groups slide between the two"],
)
def extremes(device):
    x = torch.randn(2, 3, 2, 2, device=device)
    c = x.shape[1]
    with torch.no_grad():
        per_channel = nn.GroupNorm(c, c, affine=False, device=device)(x)
        instance_norm = nn.InstanceNorm2d(c, device=device)(x)
        one_group = nn.GroupNorm(1, c, affine=False, device=device)(x)
        layer_norm = nn.LayerNorm(x.shape[1:], elementwise_affine=False, device=device)(x)
    expect(torch.allclose(per_channel, instance_norm, atol=1e-5), "GroupNorm with C groups is InstanceNorm")
    expect(torch.allclose(one_group, layer_norm, atol=1e-5), "GroupNorm with one group is LayerNorm over C, H, W")
    gn_weight = nn.GroupNorm(1, c, device=device).weight
    ln_weight = nn.LayerNorm(x.shape[1:], device=device).weight
    expect(gn_weight.shape == (c,) and ln_weight.shape == x.shape[1:], "the affine weights differ in shape")
    return {"per_channel": per_channel[0, :, 0], "instance_norm": instance_norm[0, :, 0],
            "one_group": one_group[0, :, 0], "layer_norm": layer_norm[0, :, 0], "c": c}


@lesson.beat(
    "Recap",
    narration="""The exotic tonics are catalogued! | RMSNorm divides each token by its root mean square, then
    scales by a weight. | Torch's RMSNorm matches our from scratch version. | It skips the mean and the bias: one
    statistic, half the parameters. | GroupNorm normalises groups of channels within each sample. | And its two
    extremes are InstanceNorm and LayerNorm.""",
    visual=Title(heading="What we sampled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    x = torch.randn(2, 5, device=device)
    norm = nn.RMSNorm(5, eps=1e-6, device=device)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        expect(torch.allclose(norm(x), rms_norm(x, norm.weight, 1e-6), atol=1e-5), "RMSNorm is x / rms * weight")
    ln = nn.LayerNorm(5, device=device)
    expect(sum(p.numel() for p in ln.parameters()) == 2 * norm.weight.numel(), "d parameters, not 2d")
    images = torch.randn(2, 4, 3, 3, device=device)
    gn = nn.GroupNorm(2, 4, affine=False, device=device)
    expect(torch.allclose(gn(images), grouped_by_hand(images, 2, gn.eps), atol=1e-5), "GroupNorm per sample and group")
    expect(torch.allclose(nn.GroupNorm(4, 4, affine=False, device=device)(images),
                          nn.InstanceNorm2d(4, device=device)(images), atol=1e-5), "G = C is InstanceNorm")
    expect(torch.allclose(nn.GroupNorm(1, 4, affine=False, device=device)(images),
                          nn.LayerNorm(images.shape[1:], elementwise_affine=False, device=device)(images),
                          atol=1e-5), "G = 1 is LayerNorm over C, H, W")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, mix a tonic of your own. | Take images shaped {{ shape }} and a GroupNorm with
    {{ groups }} groups. Reproduce its output by hand with reshape, mean and the biased variance. Then predict
    which GroupNorm equals InstanceNorm for these {{ c }} channels, and let torch taste both brews.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["x: (2, 6, 4, 4), `nn.GroupNorm(3, 6)`", "Reproduce it with reshape, mean, `var(unbiased=False)`",
           "Which GroupNorm is `InstanceNorm2d(6)`?"],
)
def challenge(device):
    x = torch.randn(2, 6, 4, 4, device=device)
    gn = nn.GroupNorm(3, 6, device=device)
    expect(torch.allclose(gn(x).detach(), grouped_by_hand(x, gn.num_groups, gn.eps), atol=1e-5), "GroupNorm by hand")
    g = x.reshape(2, 3, -1)
    unbiased = ((g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, keepdim=True) + gn.eps)).reshape_as(x)
    expect(not torch.allclose(gn(x).detach(), unbiased, atol=1e-3), "the default (unbiased) var does not match")
    c = gn.num_channels
    expect(torch.allclose(nn.GroupNorm(c, c, affine=False, device=device)(x),
                          nn.InstanceNorm2d(c, device=device)(x), atol=1e-5), "GroupNorm(C, C) is InstanceNorm2d")
    return {"shape": "x".join(map(str, x.shape)), "groups": gn.num_groups, "c": c}
