"""2.1.2 Franken-Stacking Layers.

Composing modules: Sequential (order, indexing, slicing), ModuleList against a plain Python list (which loses
its parameters), ModuleDict, and nesting, with the forward path lit in the order the hooks saw.
"""

import torch
from _models import forward_order
from torch import nn

from render.lesson import Lesson, capture_error, expect
from scenes.vocabulary import ModuleTree, Show, Title

lesson = Lesson(
    objectives=[
        "Chain layers in order with nn.Sequential",
        "Index and slice a Sequential",
        "Keep layers in nn.ModuleList, never a plain list",
        "Name layers with nn.ModuleDict",
        "Nest modules and follow the forward path",
    ],
    recap=[
        "nn.Sequential calls its layers in order",
        "model[0] is a layer; model[:2] a Sequential sharing them",
        "A plain list hides its layers; nn.ModuleList registers them",
        "nn.ModuleDict registers layers by name",
        "Modules nest; forward, not the tree, sets the order",
    ],
    challenge="Build a Sequential of 3 Linear layers with ReLUs between, then the same network as your "
    "own module holding its layers in a ModuleList; check both have the same parameter count.",
    seed=11,
)


def count(model):
    """Every element of every registered parameter."""
    return sum(p.numel() for p in model.parameters())


def stack(device):
    """The running example: 4 features in, 8 hidden, 3 out."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)


@lesson.beat(
    "Franken-stacking",
    narration="""Apprentices, fetch the needle and thread! One layer is a curiosity; a stack of layers is a
    monster. Today we stitch modules together. | We will chain layers with Sequential, | index it and
    slice it, | keep a flexible number of layers in a ModuleList, and see a plain list betray us, | name our
    layers with a ModuleDict, | and nest modules inside modules, following the path the data takes.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "nn.Sequential",
    narration="""Sequential is the simplest stitch: hand it layers, and it calls them one after another, each
    output feeding the next. Here a Linear from {{ n_in }} to {{ hidden }} features, a ReLU, and a Linear
    down to {{ n_out }}. Its children are named by their positions, and it holds {{ total }} parameters. |
    Feed it a batch, and the hooks light up the layers in the order they ran: exactly the order we listed
    them.""",
    visual=ModuleTree("model", forward=True),
    slide=["`nn.Sequential(layer, layer, ...)`", "Each output feeds the next layer",
           "Children are named `0`, `1`, `2`"],
)
def sequential(device):
    model = stack(device)
    x = torch.randn(2, 4, device=device)
    order, y = forward_order(model, x)
    expect(order == ["", "0", "1", "2"], "the layers ran in the order listed")
    expect(torch.equal(y, model[2](model[1](model[0](x)))), "Sequential chains its layers")
    first, last = model[0], model[-1]
    return {"model": model, "n_in": first.in_features, "hidden": first.out_features, "n_out": last.out_features,
            "total": count(model)}


@lesson.beat(
    "Indexing and slicing",
    narration="""A Sequential behaves like a list you can call. Index it, and model of zero is the first
    Linear itself. Slice it, and the first two layers come back as a new Sequential holding the very same
    layers, not copies. | Run that slice on x and you get the hidden features, shaped {{ hidden.shape }}. |
    Feed those to the last layer and out comes exactly what the whole model gives: surgery without
    stitches.""",
    visual=Show("hidden", "y"),
    slide=["`model[0]`: the first layer itself", "`model[:2]`: a Sequential of the same layers",
           "`model[2](model[:2](x))` equals `model(x)`"],
)
def indexing(device):
    model = stack(device)
    x = torch.randn(2, 4, device=device)
    body = model[:2]
    hidden = body(x)
    y = model[2](hidden)
    expect(isinstance(body, nn.Sequential), "a slice is a Sequential")
    expect(body[0] is model[0], "of the same layers, not copies")
    expect(torch.equal(y, model(x)), "slice then last layer = model")
    return {"hidden": hidden.detach(), "y": y.detach()}


@lesson.beat(
    "ModuleList, not a list",
    narration="""Need a flexible number of layers? A plain Python list looks innocent, but nn dot Module
    cannot see inside it. Kept in a list, the layers register {{ lost }} parameters, and an
    optimiser handed them refuses with a value error about an empty parameter list. Wrap the same layers in nn dot
    ModuleList instead and the tree shows them all, {{ kept }} parameters. | Your forward loops over them
    like any list, and the hooks saw each layer run in turn.""",
    visual=ModuleTree("fixed", forward=True),
    slide=["`self.layers = [...]`: invisible to torch", "`nn.ModuleList([...])`: registered",
           "Loop over it in `forward` like a list"],
)
def module_list(device):
    class Tower(nn.Module):
        def __init__(self, wrap):
            super().__init__()
            self.layers = wrap([nn.Linear(4, 4) for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = torch.relu(layer(x))
            return x

    broken, fixed = Tower(list).to(device), Tower(nn.ModuleList).to(device)
    fixed(torch.randn(2, 4, device=device))
    error = capture_error(lambda: torch.optim.SGD(broken.parameters(), lr=0.1))
    expect(count(broken) == 0 and error.startswith("ValueError"), "a plain list loses its parameters: a ValueError")
    expect("empty parameter list" in error, "the optimiser complains of an empty parameter list")
    expect(count(fixed) == sum(count(layer) for layer in fixed.layers), "ModuleList registers every layer")
    return {"fixed": fixed, "lost": count(broken), "kept": count(fixed),
            "complaint": error.split(": ", 1)[-1]}


@lesson.beat(
    "nn.ModuleDict",
    narration="""When layers deserve names rather than positions, reach for nn dot ModuleDict: a dictionary
    that registers its values. This creature has one body and two heads, classify and score, and forward picks a head
    by key. | Asked for the score head, the hooks saw the body run, then only the score head; the classify
    head slept through it all. Both heads still sit in the state dict, as heads dot classify and heads dot
    score.""",
    visual=ModuleTree("model", forward=True),
    slide=["`nn.ModuleDict({'classify': ..., 'score': ...})`", "`self.heads[name](x)`: pick a layer by key",
           "Keys appear in names: `heads.score.weight`"],
)
def module_dict(device):
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 8)
            self.heads = nn.ModuleDict({"classify": nn.Linear(8, 3), "score": nn.Linear(8, 1)})

        def forward(self, x, head):
            return self.heads[head](torch.relu(self.body(x)))

    model = TwoHeads().to(device)
    order, _ = forward_order(model, torch.randn(2, 4, device=device), "score")
    expect(order == ["", "body", "heads.score"], "only the chosen head ran")
    expect("heads.classify.weight" in model.state_dict(), "both heads are registered")
    expect(list(model.heads.keys()) == ["classify", "score"], "the heads are classify and score")
    return {"model": model}


@lesson.beat(
    "Nesting and the forward path",
    narration="""Now the full monster: a Linear in, a head, and a ModuleList of blocks, each block a
    Sequential of Linear and ReLU. Modules nest inside modules, names join with dots, like blocks dot one dot
    zero, and parameters gathers all {{ total }} of them. The tree lists the head before the blocks, because
    it was assigned first. | But run it, and the path lights up in the order the hooks saw: in, each block with
    its insides, then the head. Forward decides the order, not the tree.""",
    visual=ModuleTree("model", forward=True),
    slide=["Modules nest: `blocks.1.0.weight`", "`parameters()` gathers every level",
           "`forward`, not `__init__`, sets the order"],
)
def nesting(device):
    class Monster(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 8)
            self.head = nn.Linear(8, 3)
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(2)])

        def forward(self, x):
            x = self.inp(x)
            for block in self.blocks:
                x = x + block(x)
            return self.head(x)

    model = Monster().to(device)
    order, _ = forward_order(model, torch.randn(2, 4, device=device))
    registered = [name for name, _ in model.named_modules()]
    expect(registered[:3] == ["", "inp", "head"], "the tree follows assignment order")
    expect(order[1:3] == ["inp", "blocks.0"] and order[-1] == "head", "forward sets the running order")
    expect("blocks.1.0.weight" in dict(model.named_parameters()), "names join with dots")
    return {"model": model, "total": count(model)}


@lesson.beat(
    "Recap",
    narration="""The stitches hold! | Sequential calls its layers in order. | Index it for a layer, slice it
    for a smaller Sequential of the same layers. | A plain list hides its layers; ModuleList registers them. |
    ModuleDict registers layers by name. | And modules nest as deep as you like, while forward decides the
    order they run.""",
    visual=Title(heading="What we stitched", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    model = stack(device)
    expect(list(dict(model.named_children())) == ["0", "1", "2"], "Sequential names children by position")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your turn, apprentice. | Build a Sequential of {{ layers }} Linear layers, with a ReLU
    between each pair. Then build the very same network as your own module, keeping its layers in a
    ModuleList and looping over them in forward. Count the parameters of both. If the numbers disagree,
    hunt for the layer that escaped registration!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["A Sequential: three Linears, ReLUs between", "The same net with a `ModuleList`",
           "Same parameter count? Prove it"],
)
def challenge(device):
    sizes = [4, 8, 8, 3]
    pairs = list(zip(sizes, sizes[1:], strict=False))
    seq = nn.Sequential(nn.Linear(*pairs[0]), nn.ReLU(), nn.Linear(*pairs[1]), nn.ReLU(), nn.Linear(*pairs[2]))
    listed = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
    expect(count(seq.to(device)) == count(listed.to(device)), "it can be done")
    return {"layers": len(pairs)}
