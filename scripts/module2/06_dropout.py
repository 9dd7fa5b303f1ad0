"""2.2.3 Dropout: Network lobotomy.

The random mask and the 1/(1-p) scaling, the expectation preserved over many draws, train against eval,
seeding for reproducible masks, and dropout inside a model (with functional dropout's trap).
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Dropout, Show, Title

lesson = Lesson(
    objectives=[
        "Read dropout's random mask and its 1/(1-p) scaling",
        "Check that the expected value is preserved",
        "Switch dropout off with model.eval()",
        "Seed the generator for reproducible masks",
        "Place dropout in a model; beware F.dropout",
    ],
    recap=[
        "Training: drop each value with probability p",
        "Survivors are scaled by 1/(1-p), so the mean is kept",
        "eval(): dropout becomes the identity",
        "torch.manual_seed makes the masks repeat",
        "Dropout as a submodule; F.dropout needs training=",
    ],
    challenge="Pass a tensor of 10000 ones through nn.Dropout(p=0.2): predict the fraction of zeros, "
    "the value of the survivors and the mean, check all three, then repeat in eval mode.",
    seed=5,
)


def seeded_twice(dtype, device):
    """Whether two runs of three dropout calls, each run after torch.manual_seed(7), draw the same masks."""
    def run():
        torch.manual_seed(7)
        drop, ones = nn.Dropout(0.3), torch.ones(4, 5, dtype=dtype, device=device)
        return [drop(ones) != 0 for _ in range(3)]
    return all(torch.equal(a, b) for a, b in zip(run(), run(), strict=True))


def scaled_survivors(case):
    """Whether every survivor of nn.Dropout(p) is its input times 1/(1-p), rounded to the input's dtype, and
    every other value is zero."""
    dtype, p = case
    x = torch.rand(64, dtype=torch.float32).add(0.5).to(dtype)  # no zero inputs, so a zero output was dropped
    y = nn.Dropout(p)(x)
    kept = y != 0
    return torch.equal(y[kept], x[kept] * torch.tensor(1 / (1 - p), dtype=dtype)) and bool((y[~kept] == 0).all())


@lesson.beat(
    "Network lobotomy",
    narration="""Scalpels ready, apprentices! Today we make neurons forget, on purpose. A network that can
    lean on any single neuron memorises; one that never knows which neurons will vanish must learn
    sturdier features. | We will read dropout's random mask and its scaling, | check that the average
    survives the surgery, | switch dropout off for evaluation, | make the masks repeat with a seed, | and
    place dropout inside a model.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The mask and the scaling",
    narration="""In training, dropout zeroes each value at random with probability p, here {{ p }}. Our input
    holds {{ n }} values. | Torch draws a mask of ones and zeros; this time {{ kept }} values survived. | The
    dropped become zero, and the survivors are multiplied by one over one minus p, that is {{ scale }}. Why
    boost the survivors? The next experiment tells.""",
    visual=Dropout("x", "mask", "y", p="p", scale="scale"),
    slide=["`nn.Dropout(p)`: zero each value with prob. p", "A fresh random mask every call",
           "Survivors times `1 / (1 - p)`"],
)
def mask_scale(device):
    x = torch.arange(1.0, 9.0, device=device).reshape(2, 4)
    drop = nn.Dropout(p=0.5)
    torch.manual_seed(5)  # a draw that keeps half of the eight values, as p promises on average
    y = drop(x)
    mask = (y != 0).long()
    scale = 1 / (1 - drop.p)
    expect(torch.equal(y, x * mask * scale), "the survivors are scaled by 1/(1-p), the rest are zero")
    expect_each([(dtype, p) for dtype in (torch.float32, torch.float16, torch.bfloat16) for p in (0.1, 0.5, 0.7)],
                scaled_survivors, "survivors times 1/(1-p) (in the input's dtype), the rest zero")
    return {"x": x, "mask": mask, "y": y, "p": drop.p, "scale": scale, "n": x.numel(),
            "kept": int(mask.sum())}


@lesson.beat(
    "The expectation survives",
    narration="""Here is the point of the scaling. Take the same input | and a fresh mask, | giving a fresh
    output. | Now repeat the surgery {{ draws }} times and average: every cell comes back close to its input.
    Each value is kept with probability one minus p, then scaled by one over one minus p, so its expected
    value is unchanged. Without the scaling, the average would shrink to one minus p times the input.""",
    visual=Dropout("x", "mask", "y", p="p", scale="scale", mean="avg", draws="draws"),
    slide=["E[y] = (1 - p) * x / (1 - p) = x", "Averaged over many draws: the input",
           "Unscaled, the mean would shrink to (1 - p) x"],
)
def expectation(device):
    x = torch.arange(1.0, 9.0, device=device).reshape(2, 4)
    drop = nn.Dropout(p=0.5)
    y = drop(x)
    mask = (y != 0).long()
    draws = 20000
    outputs = drop(x.expand(draws, 2, 4))
    avg = outputs.mean(dim=0)
    unscaled = (outputs * (1 - drop.p)).mean(dim=0)
    expect(torch.allclose(avg, x, rtol=0.05), "averaged over many draws, every cell is within 5% of its input")
    expect(torch.allclose(unscaled, (1 - drop.p) * x, rtol=0.05), "without scaling the mean shrinks")
    return {"x": x, "mask": mask, "y": y, "p": drop.p, "scale": 1 / (1 - drop.p), "avg": avg, "draws": draws}


@lesson.beat(
    "Train against eval",
    narration="""Dropout is a training ritual only. A fresh module starts in training mode. | It draws a mask,
    | and scales the survivors, as before. | Call eval, and the training flag flips to False, in every
    submodule of a model: dropout becomes the identity, and the output equals the input exactly. Forget model
    dot eval before testing, and your predictions will flicker at random.""",
    visual=Dropout("x", "mask", "y", p="p", scale="scale", eval="y_eval"),
    slide=["`model.train()`: masks are drawn", "`model.eval()`: dropout is the identity",
           "eval() reaches every submodule"],
)
def train_eval(device):
    x = torch.arange(1.0, 9.0, device=device).reshape(2, 4)
    drop = nn.Dropout(p=0.5)
    model = nn.Sequential(nn.Linear(4, 4), drop).to(device)
    expect(drop.training, "a fresh module starts in training mode")
    y = drop(x)
    mask = (y != 0).long()
    model.eval()
    y_eval = drop(x)
    expect(not drop.training, "model.eval() reaches the dropout inside")
    expect(torch.equal(y_eval, x), "in eval mode dropout is the identity")
    return {"x": x, "mask": mask, "y": y, "p": drop.p, "scale": 1 / (1 - drop.p), "y_eval": y_eval}


@lesson.beat(
    "Seeding the masks",
    narration="""Randomness you cannot repeat is randomness you cannot debug. Dropout draws from torch's
    random generator, so seed it. | With seed {{ seed_a }}, this mask. | Seed {{ seed_a }} again: the very same
    mask, cell for cell. | Seed {{ seed_c }}: a different mask. Seed once at the start of a run, and every
    mask of the run repeats, on the same device.""",
    visual=Show("mask_a", "mask_b", "mask_c"),
    slide=["`torch.manual_seed(s)` before the call", "Same seed, same mask", "Another seed, another mask"],
)
def seeding(device):
    drop = nn.Dropout(p=0.5)
    ones = torch.ones(2, 6, device=device)
    torch.manual_seed(0)
    mask_a = (drop(ones) != 0).int()
    torch.manual_seed(0)
    mask_b = (drop(ones) != 0).int()
    torch.manual_seed(1)
    mask_c = (drop(ones) != 0).int()
    expect(torch.equal(mask_a, mask_b), "same seed")
    expect(not torch.equal(mask_a, mask_c), "other seed")
    expect_each([torch.float32, torch.float16, torch.bfloat16], lambda dtype: seeded_twice(dtype, device),
                "a seed repeats a whole run of masks on the same device")
    return {"mask_a": mask_a, "mask_b": mask_b, "mask_c": mask_c, "seed_a": 0, "seed_c": 1}


@lesson.beat(
    "Dropout inside a model",
    narration="""Where does dropout live? Often after an activation, as a submodule, so that eval can reach
    it. Here it sits between the ReLU and the second layer. | Run a batch through in training mode: of the
    hidden values the ReLU let through, dropout zeroed a share of {{ share }}, close to its p. | One warning:
    functional dropout knows nothing of eval. After model dot eval, F dot dropout still
    drops by default. | Pass training equals self dot training, and it obeys: every value kept.""",
    visual=Show("share", "trap", "obeys"),
    slide=["`self.drop = nn.Dropout(0.2)` after the activation", "Submodules obey `train()` and `eval()`",
           "`F.dropout(x, p, training=self.training)`"],
)
def in_model(device):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.drop = nn.Dropout(0.2)
            self.fc2 = nn.Linear(16, 2)

        def forward(self, x):
            return self.fc2(self.drop(torch.relu(self.fc1(x))))

    model = Net().to(device)
    x = torch.randn(625, 8, device=device)
    h = torch.relu(model.fc1(x))
    share = (model.drop(h)[h != 0] == 0).float().mean()
    model.eval()
    ones = torch.ones(2, 4, device=device)
    trap = F.dropout(ones, p=0.2)
    obeys = F.dropout(ones, p=0.2, training=model.training)
    expect(abs(share - model.drop.p) < 0.02, "about p of the hidden values that reach it are zeroed")
    expect(bool((trap == 0).any()), "F.dropout drops by default, even in eval")
    expect(torch.equal(obeys, ones), "training=self.training obeys eval")
    expect(torch.equal(model(ones.repeat(1, 2)), model(ones.repeat(1, 2))), "in eval mode the model is deterministic")
    expect_each([0.1, 0.5, 0.9], lambda p: bool((F.dropout(torch.ones(1000), p) == 0).any()),
                "F.dropout drops by default, whatever p")
    return {"share": share, "trap": trap, "obeys": obeys}


@lesson.beat(
    "Recap",
    narration="""The surgery is complete! | In training, dropout zeroes each value with probability p. | The
    survivors are scaled by one over one minus p, so the mean is kept. | Calling eval turns dropout into the identity.
    | Torch's manual seed makes the masks repeat. | And dropout belongs inside the model as a submodule;
    functional dropout needs its training flag.""",
    visual=Title(heading="What we cut", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    drop = nn.Dropout(p=0.3).eval()
    x = torch.randn(5, device=device)
    expect(torch.equal(drop(x), x), "eval turns dropout into the identity")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Pass a tensor of {{ n }} ones through dropout with p equals {{ p }}.
    Before you run it, predict three things: the fraction of zeros, the value every survivor takes, and the
    mean of the output. Check all three with torch. Then switch to eval mode and predict again.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["`nn.Dropout(p=0.2)` on `torch.ones(10000)`", "Predict: fraction of zeros, survivor value, mean",
           "Then again in eval mode"],
)
def challenge(device):
    drop = nn.Dropout(p=0.2)
    ones = torch.ones(10000, device=device)
    out = drop(ones)
    survivors = out[out != 0]
    expect(torch.allclose(survivors, torch.full_like(survivors, 1 / 0.8)), "survivors are 1/(1-p)")
    expect(abs(out.mean().item() - 1) < 0.05, "the mean stays near one")
    expect(abs((out == 0).float().mean().item() - drop.p) < 0.02, "about p of the values are zero")
    expect(torch.equal(drop.eval()(ones), ones), "in eval mode: no zeros, every value one, mean one")
    expect(f"{ones.numel()} ones through nn.Dropout(p={drop.p})" in lesson.challenge, "the card's numbers are these")
    return {"n": ones.numel(), "p": drop.p}
