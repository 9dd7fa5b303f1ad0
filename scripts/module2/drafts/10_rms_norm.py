"""2.4.2 RMSNorm & Other Exotic Tonics.

The RMSNorm formula and nn.RMSNorm equal to a from-scratch version; how it differs from LayerNorm (no mean
subtraction, no bias: one statistic, half the parameters); GroupNorm, with InstanceNorm and LayerNorm as its
two extremes.
"""

import torch
from torch import nn

from render.lesson import Lesson, expect
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
        "nn.RMSNorm(d) equals four lines of torch",
        "No mean subtraction, no bias: d parameters, not 2d",
        "GroupNorm(G, C): per sample, per group of channels",
        "G = C: InstanceNorm; G = 1: LayerNorm over C, H, W",
    ],
    challenge="For x = torch.randn(2, 6, 4, 4), build nn.GroupNorm(3, 6) and reproduce its output by hand with "
    "reshape, mean and var; then predict which GroupNorm equals nn.InstanceNorm2d(6) and check it.",
    seed=10,
)


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
    narration="""RMSNorm skips the mean entirely. Here {{ b }} sentences of {{ t }} tokens with {{ d }} features.
    | Each token gets one statistic: the root of the mean of its squares, plus a tiny eps. | torch's root mean
    square, one per token: {{ n_stats }} in all. | Each value is divided by its token's root mean square,
    then scaled by a learned weight. No shifting at all.""",
    visual=Norm("x", "rms", "y", kind="rms"),
    slide=["rms = sqrt(mean(x², dim=-1) + eps)", "y = x / rms * weight", "One statistic per token, no mean"],
)
def formula(device):
    x = torch.randn(2, 3, 4, device=device) + 0.5
    norm = nn.RMSNorm(4, eps=1e-6, device=device)
    y = norm(x).detach()
    rms = torch.sqrt(x.pow(2).mean(dim=-1) + 1e-6)
    expect(torch.allclose(y, x / rms[..., None], atol=1e-5), "RMSNorm divides by the rms and subtracts no mean")
    b, t, d = x.shape
    return {"x": x, "rms": rms, "y": y, "b": b, "t": t, "d": d, "n_stats": rms.numel()}


@lesson.beat(
    "RMSNorm from scratch",
    narration="""Now brew it by hand with a learned weight that is not all ones. Square, take the mean over the
    last axis, add eps, take the reciprocal square root, multiply, and scale by the weight. Here is torch's
    nn dot RMSNorm, | and here is our four line version on the same input. | The numbers match, as torch
    confirms. Every Llama style model carries this little formula in every block.""",
    visual=Show("y_torch", "y_scratch", code=False, caption="nn.RMSNorm and x * rsqrt(mean(x²) + eps) * weight"),
    slide=["`x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)`", "`* weight`",
           "`nn.RMSNorm(d, eps=1e-6)`: the same numbers"],
)
def from_scratch(device):
    x = torch.randn(3, 4, device=device) * 2
    norm = nn.RMSNorm(4, eps=1e-6, device=device)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.5, 0.5, 1.0, 2.0]))
        y_torch = norm(x)
        y_scratch = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight
    expect(torch.allclose(y_torch, y_scratch, atol=1e-5), "the from-scratch RMSNorm equals nn.RMSNorm")
    return {"y_torch": y_torch, "y_scratch": y_scratch}


@lesson.beat(
    "RMSNorm against LayerNorm",
    narration="""What does skipping the mean change? On a token whose features already average zero, the two
    agree. But shift the token by {{ shift }}: | LayerNorm removes the shift, | while RMSNorm keeps it, so its
    outputs no longer average zero. The saving: one statistic instead of two, and no bias, so {{ rms_params }}
    parameters instead of {{ ln_params }}. Cheaper, and in practice just as stable.""",
    visual=Show("y_layer", "y_rms", code=False, caption="shifted input: LayerNorm centres it, RMSNorm does not"),
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
    with torch.no_grad():
        expect(torch.allclose(ln(centred), rms(centred), atol=1e-4), "on zero-mean tokens they agree")
        y_layer, y_rms = ln(centred + shift), rms(centred + shift)
    expect(torch.allclose(y_layer.mean(-1), torch.zeros(2, device=device), atol=1e-5), "LayerNorm centres")
    expect(bool((y_rms.mean(-1).abs() > 0.5).all()), "RMSNorm keeps the shift")
    ln_params = sum(p.numel() for p in ln.parameters())
    rms_params = sum(p.numel() for p in rms.parameters())
    expect(ln_params == 2 * rms_params, "RMSNorm has half the parameters")
    return {"y_layer": y_layer, "y_rms": y_rms, "shift": shift, "ln_params": ln_params, "rms_params": rms_params}


@lesson.beat(
    "GroupNorm",
    narration="""For images with small batches, GroupNorm splits the channels into groups. Here {{ c }} channels
    in {{ groups }} groups, for each of {{ n }} samples. | Cells of one colour share statistics: one group of
    channels, within one sample, never across the batch. | So torch computes {{ n_stats }} means and
    variances. | Each value is normalised within its own group, and the batch size never matters.""",
    visual=Norm("x", "mean", "var", "y", kind="group"),
    slide=["`nn.GroupNorm(num_groups, num_channels)`", "Statistics per sample, per group of channels",
           "Independent of the batch size"],
)
def group_norm(device):
    x = torch.randn(2, 4, 1, 3, device=device)
    gn = nn.GroupNorm(2, 4, device=device)
    y = gn(x).detach()
    grouped = x.reshape(2, 2, -1)
    mean = grouped.mean(dim=-1)
    var = grouped.var(dim=-1, unbiased=False)
    expected = ((grouped - mean[..., None]) / torch.sqrt(var[..., None] + gn.eps)).reshape_as(x)
    expect(torch.allclose(y, expected, atol=1e-5), "GroupNorm normalises each sample's group of channels")
    return {"x": x, "mean": mean, "var": var, "y": y, "c": gn.num_channels, "groups": gn.num_groups,
            "n": x.shape[0], "n_stats": mean.numel()}


@lesson.beat(
    "Two extremes of GroupNorm",
    narration="""GroupNorm hides two old friends. With as many groups as channels, {{ c }}, each channel is its own
    group: | that is exactly InstanceNorm, | and torch confirms the two outputs match. With a single group, all
    channels share one statistic per sample: that is LayerNorm over channels, height and width together,
    also confirmed.""",
    visual=Show("y_group", "y_instance", code=False, caption="GroupNorm(C, C) = InstanceNorm2d(C)"),
    slide=["`GroupNorm(C, C)` = `InstanceNorm2d(C)`", "`GroupNorm(1, C)` = LayerNorm over (C, H, W)",
           "Groups slide between the two"],
)
def extremes(device):
    x = torch.randn(2, 3, 2, 2, device=device)
    with torch.no_grad():
        y_group = nn.GroupNorm(3, 3, affine=False, device=device)(x)
        y_instance = nn.InstanceNorm2d(3, device=device)(x)
        y_one = nn.GroupNorm(1, 3, affine=False, device=device)(x)
        y_layer = nn.LayerNorm([3, 2, 2], elementwise_affine=False, device=device)(x)
    expect(torch.allclose(y_group, y_instance, atol=1e-5), "GroupNorm with C groups is InstanceNorm")
    expect(torch.allclose(y_one, y_layer, atol=1e-5), "GroupNorm with one group is LayerNorm over C, H, W")
    return {"y_group": y_group[0, :, 0], "y_instance": y_instance[0, :, 0], "c": x.shape[1]}


@lesson.beat(
    "Recap",
    narration="""The exotic tonics are catalogued! | RMSNorm divides each token by its root mean square, then
    scales by a weight. | Torch's RMSNorm equals four lines of our own. | It skips the mean and the bias: one
    statistic, half the parameters. | GroupNorm normalises groups of channels within each sample. | And its two
    extremes are InstanceNorm and LayerNorm.""",
    visual=Title(heading="What we sampled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    x = torch.randn(2, 5, device=device)
    norm = nn.RMSNorm(5, eps=1e-6, device=device)
    expect(torch.allclose(norm(x).detach(), x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6), atol=1e-5),
           "RMSNorm is x / rms")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, mix a tonic of your own. | Take images shaped {{ shape }} and a GroupNorm with
    {{ groups }} groups. Reproduce its output by hand with reshape, mean and variance. Then predict which
    GroupNorm equals InstanceNorm for these {{ c }} channels, and let torch taste both brews.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["x: (2, 6, 4, 4), `nn.GroupNorm(3, 6)`", "Reproduce it with reshape, mean, var",
           "Which GroupNorm is `InstanceNorm2d(6)`?"],
)
def challenge(device):
    x = torch.randn(2, 6, 4, 4, device=device)
    gn = nn.GroupNorm(3, 6, device=device)
    g = x.reshape(2, 3, -1)
    by_hand = ((g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, keepdim=True, unbiased=False) + gn.eps))
    expect(torch.allclose(gn(x).detach(), by_hand.reshape_as(x), atol=1e-5), "GroupNorm by hand")
    return {"shape": "x".join(map(str, x.shape)), "groups": gn.num_groups, "c": gn.num_channels}
