"""2.3.1 Embedding Layers: Secret Identity Chips.

A lookup is a row selection equal to one_hot(idx) @ W; a from-scratch embedding (a Parameter and indexing)
equals nn.Embedding; the default N(0, 1) initialisation read from a real weight; padding_idx keeps its row
zero and ungraded; gradients reach only the rows that were used.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Curve, Embedding, Show, Title

TABLE = (1000, 64)  # the fresh table whose weights the init beat sorts, and how many quantiles it reads
QUANTILES = 49


def one_hot_exact(case):
    """Whether one_hot(idx) @ weight equals weight[idx] bit for bit, for a (vocab, dim, dtype) table."""
    vocab, dim, dtype = case
    weight, idx = torch.randn(vocab, dim).to(dtype), torch.randint(0, vocab, (37,))
    return torch.equal(F.one_hot(idx, vocab).to(dtype) @ weight, weight[idx])


def unpadded(counts, padding_idx):
    """How often each row was looked up, the padding row's count set to zero."""
    counts = counts.clone()
    counts[padding_idx] = 0
    return counts


def pad_row_stays_zero(optimizer):
    """Whether a few steps of this optimizer (momentum and weight decay on where it has them) leave an
    embedding's padding row at zero while the other rows move."""
    emb = nn.Embedding(6, 3, padding_idx=0)
    options = {"momentum": 0.9} if optimizer is torch.optim.SGD else {}
    opt = optimizer(emb.parameters(), lr=0.1, weight_decay=0.1, **options)
    before = emb.weight.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        emb(torch.tensor([0, 2, 0, 5])).pow(2).sum().backward()
        opt.step()
    return bool((emb.weight[0] == 0).all()) and not torch.equal(emb.weight[2], before[2])


lesson = Lesson(
    objectives=[
        "See a lookup as a row selection: one_hot(idx) @ W",
        "Build an embedding from scratch and match nn.Embedding",
        "Read the default N(0, 1) initialisation",
        "Keep a padding row at zero with padding_idx",
        "Watch gradients reach only the rows used",
    ],
    recap=[
        "nn.Embedding(vocab, dim): weight[idx] picks rows",
        "The same as one_hot(idx).float() @ weight",
        "A Parameter plus indexing is all it is",
        "Weights start N(0, 1); padding_idx stays zero",
        "Only the rows looked up receive gradient",
    ],
    challenge="Make nn.Embedding(10, 3, padding_idx=0), look up [0, 4, 4, 7], call .sum().backward() and "
    "predict which rows of weight.grad are non-zero, and what row 4's gradient is; then check with torch.",
    seed=7,
)


@lesson.beat(
    "Secret identity chips",
    narration="""Welcome back to the laboratory, apprentices! Words, tokens and user ids arrive as bare integers,
    and a network needs vectors. Today we implant each integer with a secret identity chip. | We will see that
    a lookup simply selects rows, the same as a one hot matrix product, | build an embedding from scratch, |
    inspect how its weights are born, | keep a padding row silent, | and watch gradients visit only the rows
    we used.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "A lookup is a row selection",
    narration="""Behold nn dot Embedding: a table of {{ vocab }} rows, one per token, each {{ dim }} numbers
    wide. We feed it the indices {{ idx }}. | Each index simply picks its own row of the weight, | and the
    picked rows, in order, form the output, shaped {{ out.shape }}: one row per index, each {{ dim }} wide. |
    Now the same thing as algebra: the one hot matrix of the indices, made float, times the weight, gives
    exactly those rows: torch dot equal says {{ same }}.""",
    visual=Embedding("idx", "weight", "out", "one_hot", equal="same"),
    slide=["`emb = nn.Embedding(vocab, dim)`", "`emb(idx)` is `emb.weight[idx]`",
           "`F.one_hot(idx, vocab).float() @ emb.weight`: same rows"],
)
def lookup(device):
    emb = nn.Embedding(6, 3, device=device)
    idx = torch.tensor([3, 1, 5, 3], device=device)
    with torch.no_grad():
        out = emb(idx)
        one_hot = F.one_hot(idx, num_classes=emb.num_embeddings).float()
        same = torch.equal(one_hot @ emb.weight, out)
    expect(same, "one_hot(idx) @ weight equals the lookup")
    expect(out.shape == (*idx.shape, emb.embedding_dim), "the output is one row of dim numbers per index")
    expect_each([(6, 4, torch.float32), (1000, 64, torch.float32), (50, 300, torch.float16), (50, 8, torch.bfloat16)],
                one_hot_exact, "the one-hot product gives exactly the looked-up rows")
    expect(torch.equal(out, emb.weight[idx]), "the lookup is weight[idx]")
    expect(torch.equal(out[0], out[3]), "the same index gives the same row")
    return {"idx": idx, "weight": emb.weight.detach(), "out": out, "one_hot": one_hot, "same": same,
            "vocab": emb.num_embeddings, "dim": emb.embedding_dim}


@lesson.beat(
    "An embedding from scratch",
    narration="""No magic lurks inside. Our from scratch embedding is one learnable parameter, a vocab by dim
    table drawn from randn, and one line of indexing; nn dot Embedding loads the very same weights. | Here is
    nn dot Embedding's answer for a few tokens, | and here is our hand made table, indexed by the same
    tokens. | Identical numbers, as torch confirms. And the code's last line, F dot embedding, does the same lookup
    with no module at all.""",
    visual=Show("out_torch", "out_scratch", caption="nn.Embedding and the scratch table: identical"),
    slide=["`self.weight = nn.Parameter(torch.randn(vocab, dim))`", "`forward`: `return self.weight[idx]`",
           "`F.embedding(idx, weight)`: the same lookup"],
)
def from_scratch(device):
    class ScratchEmbedding(nn.Module):
        def __init__(self, vocab, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(vocab, dim))
        def forward(self, idx):
            return self.weight[idx]
    scratch = ScratchEmbedding(5, 3).to(device)
    emb = nn.Embedding(5, 3, device=device)
    emb.load_state_dict(scratch.state_dict())
    idx = torch.tensor([4, 0, 2], device=device)
    with torch.no_grad():
        out_torch, out_scratch = emb(idx), scratch(idx)
        out_fn = F.embedding(idx, scratch.weight)
    expect(torch.equal(out_torch, out_scratch), "scratch equals nn.Embedding")
    expect(torch.equal(out_fn, out_torch), "F.embedding is the same lookup")
    return {"out_torch": out_torch, "out_scratch": out_scratch}


@lesson.beat(
    "How the chips are born",
    narration="""Where do the first vectors come from? Unlike Linear, nn dot Embedding draws its weights
    from a standard normal, with no scaling by the width. Take a fresh {{ vocab }} by {{ dim }} table and set
    {{ n_points }} quantiles of its weights beside the same quantiles of a true standard normal. | First the
    diagonal, weight equals quantile: a perfect standard normal. | Then the weights, drawn on top, hide it:
    centred on zero with a slope of one, they really are standard normal, mean zero and standard deviation
    one.""",
    visual=Curve("normal", "diagonal", "sorted", labels=["N(0, 1) itself", "weights, sorted"],
                 x_label=f"{QUANTILES} quantiles of N(0, 1)",
                 y_label=f"nn.Embedding{TABLE} weight, sorted"),
    slide=["Default init: `nn.init.normal_(weight)`, N(0, 1)", "Mean near 0, standard deviation near 1",
           "No 1/sqrt(fan_in) scaling, unlike Linear"],
)
def initialisation(device):
    emb = nn.Embedding(*TABLE, device=device)
    W = emb.weight.detach()
    fraction = torch.linspace(0.01, 0.99, QUANTILES, device=device)
    normal = torch.distributions.Normal(0.0, 1.0).icdf(fraction.cpu()).to(device)
    sorted_w = torch.quantile(W.flatten(), fraction)
    expect(abs(W.mean().item()) < 0.02, "the mean is near 0")
    expect(abs(W.std().item() - 1) < 0.02, "the standard deviation is near 1")
    expect(torch.allclose(sorted_w, normal, atol=0.06), "the sorted weights follow N(0, 1) quantiles")
    expect_each([(64, 1000), (512, 10), (4, 4)],
                lambda shape: nn.Linear(*shape).weight.abs().max() <= shape[0] ** -0.5,
                "Linear, unlike Embedding, scales its initial weights by the width: within 1/sqrt(in_features)")
    expect_each([(100, 16), (1000, 64), (50, 512)],
                lambda shape: abs(nn.Embedding(*shape).weight.std().item() - 1) < 0.2,
                "Embedding's initial weights have standard deviation one whatever the width")
    return {"sorted": sorted_w, "normal": normal, "diagonal": normal.clone(), "vocab": emb.num_embeddings,
            "dim": emb.embedding_dim, "n_points": fraction.numel()}


@lesson.beat(
    "The silent padding row",
    narration="""Sentences come in different lengths, so short ones are padded with a filler token, here index
    {{ pad }}. | The indices {{ idx }} pick their rows as before, | and the output stacks them. | We asked nn
    dot Embedding for padding index {{ pad }}, so that row starts as all zeros, and every padded position
    looks up a vector of zeros.""",
    visual=Embedding("idx", "weight", "out", padding_idx=0),
    slide=["`nn.Embedding(vocab, dim, padding_idx=0)`", "Row 0 starts as zeros",
           "Padded positions embed to zero vectors"],
)
def padding(device):
    emb = nn.Embedding(6, 4, padding_idx=0, device=device)
    idx = torch.tensor([2, 5, 0, 0], device=device)
    with torch.no_grad():
        out = emb(idx)
    expect(bool((emb.weight[emb.padding_idx] == 0).all()), "the padding row is all zeros")
    expect(bool((out[2:] == 0).all()), "padded positions look up zeros")
    return {"idx": idx, "weight": emb.weight.detach(), "out": out, "pad": emb.padding_idx}


@lesson.beat(
    "Gradients visit only used rows",
    narration="""Now train it. We look up {{ idx }}, sum the output and call backward. Here are the
    indices, | and the weight's gradient. Rows never looked up get exactly zero. Index {{ twice }} appeared
    twice, so every entry of its row holds {{ count }}. | And the padding row gets no gradient at all, even
    though we looked it up: no gradient step, with SGD or Adam, ever moves it from zero.""",
    visual=Show("idx", "grad", code=False, caption="weight.grad: used rows only; the padding row stays zero"),
    slide=["Only the rows looked up receive gradient", "Repeated indices add their gradients",
           "`padding_idx`'s row gets no gradient"],
)
def gradients(device):
    emb = nn.Embedding(6, 3, padding_idx=0, device=device)
    idx = torch.tensor([4, 1, 4, 0], device=device)
    emb(idx).sum().backward()
    grad = emb.weight.grad
    counts = torch.bincount(idx, minlength=emb.num_embeddings)
    expect(torch.equal(grad, unpadded(counts, emb.padding_idx)[:, None].expand_as(grad).float()),
           "each row's gradient is how often it was looked up; unused rows and the padding row get zero")
    expect(bool((grad[1] == 1).all()) and bool((grad[4] == 2).all()), "a row used once gets ones, twice twos")
    expect_each([torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW], pad_row_stays_zero,
                "no optimizer step moves the padding row, weight decay and momentum included")
    twice = int(counts.argmax())
    return {"idx": idx, "grad": grad, "twice": twice, "count": int(counts[twice])}


@lesson.beat(
    "Recap",
    narration="""Your tokens now carry identity chips! | An embedding layer picks rows: weight indexed by the
    tokens. | That equals the one hot matrix times the weight, | and a parameter plus indexing rebuilds it from
    scratch. | Its weights are born standard normal, and the padding row stays zero. | And gradients reach
    only the rows that were looked up.""",
    visual=Title(heading="What we implanted", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    emb = nn.Embedding(4, 2, padding_idx=0, device=device)
    idx = torch.tensor([1, 3], device=device)
    one_hot = F.one_hot(idx, 4)
    expect(torch.equal(emb(idx), one_hot.float() @ emb.weight), "a lookup is a one-hot matmul")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, predict before you run. | Build an embedding of {{ vocab }} tokens, {{ dim }}
    wide, with padding index {{ pad }}. Look up {{ idx }}, sum, and call backward. Which rows of the gradient
    are not zero, and what does row {{ row }} hold? Write your answer down, then let torch judge you.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["`nn.Embedding(10, 3, padding_idx=0)`", "Look up `[0, 4, 4, 7]`, `.sum().backward()`",
           "Predict the non-zero rows of `weight.grad`"],
)
def challenge(device):
    emb = nn.Embedding(10, 3, padding_idx=0, device=device)
    idx = torch.tensor([0, 4, 4, 7], device=device)
    emb(idx).sum().backward()
    grad = emb.weight.grad
    nonzero = grad.abs().sum(dim=1).nonzero().flatten().tolist()
    expect(nonzero == [4, 7], "only rows 4 and 7 get gradient")
    return {"vocab": emb.num_embeddings, "dim": emb.embedding_dim, "pad": emb.padding_idx,
            "idx": idx.tolist(), "row": int(torch.bincount(idx).argmax())}
