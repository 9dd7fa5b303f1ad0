"""2.1.2 Franken-Stacking Layers.

Composing modules: Sequential (order, indexing, slicing), ModuleList against a plain Python list (which loses
its parameters), ModuleDict, and nesting, with the forward path lit in the order the hooks saw.
"""

import torch
from _models import forward_order
from torch import nn

from render.lesson import Lesson, capture_error, expect, expect_each
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


def stack(dtype=torch.float32):
    """The running example: 4 features in, 8 hidden, 3 out."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(dtype)


def slice_matches(dtype):
    """Whether model[2](model[:2](x)) is exactly model(x) for a fresh model and batch in this dtype."""
    model, x = stack(dtype), torch.randn(5, 4, dtype=dtype)
    return torch.equal(model[2](model[:2](x)), model(x))


def left_behind(dtype):
    """Whether .to(dtype) converts a ModuleList's layers but leaves a plain list's behind."""
    listed, plain = nn.Module(), nn.Module()
    listed.layers = nn.ModuleList([nn.Linear(4, 4)])
    plain.layers = [nn.Linear(4, 4)]
    listed.to(dtype), plain.to(dtype)
    return listed.layers[0].weight.dtype == dtype and plain.layers[0].weight.dtype == torch.float32


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
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    x = torch.randn(2, 4, device=device)
    y = model(x)
    total = sum(p.numel() for p in model.parameters())
    expect(forward_order(model, x)[0] == ["", "0", "1", "2"], "the layers ran in the order listed")
    expect(torch.equal(y, model[2](model[1](model[0](x)))), "Sequential chains its layers")
    expect([name for name, _ in model.named_children()] == ["0", "1", "2"], "children are named by position")
    return {"model": model, "n_in": model[0].in_features, "hidden": model[0].out_features,
            "n_out": model[2].out_features, "total": total}


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
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    x = torch.randn(2, 4, device=device)
    body = model[:2]
    hidden = body(x)
    y = model[2](hidden)
    expect(model[0] is body[0] and isinstance(model[0], nn.Linear), "model[0] is the first Linear itself")
    expect(isinstance(body, nn.Sequential), "a slice is a Sequential")
    expect(all(body[i] is model[i] for i in range(2)), "of the same layers, not copies")
    expect(torch.equal(y, model(x)), "slice then last layer = model")
    expect_each([torch.float16, torch.bfloat16, torch.float64], lambda dtype: slice_matches(dtype),
                "the slice and the last layer give exactly the model's output in other dtypes too")
    return {"hidden": hidden, "y": y}


@lesson.beat(
    "ModuleList, not a list",
    narration="""Need a flexible number of layers? This tower keeps its Linear layers in whatever container
    it is handed, and forward loops over them like any list. We build it with a plain Python list, and again
    with nn dot ModuleList. | In the plain list, nn dot Module cannot see the layers: {{ lost.item }}
    parameters. | In the ModuleList, all {{ kept.item }} are registered. | Hand the plain list's parameters
    to an optimiser, and it refuses: an empty parameter list. The layers still run, but nothing will train,
    save or move them.""",
    visual=Show("lost", "kept", error="error"),
    slide=["`self.layers = [...]`: invisible to torch", "`nn.ModuleList([...])`: registered",
           "Loop over it in `forward` like a list"],
)
def module_list(device):
    class Tower(nn.Module):
        def __init__(self, box):
            super().__init__()
            self.layers = box(nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            for layer in self.layers:
                x = torch.relu(layer(x))
            return x

    broken = Tower(list).to(device)
    fixed = Tower(nn.ModuleList).to(device)
    lost = torch.tensor(sum(p.numel() for p in broken.parameters()))
    kept = torch.tensor(sum(p.numel() for p in fixed.parameters()))
    error = capture_error(lambda: torch.optim.SGD(broken.parameters()))
    expect(lost == 0 and error.startswith("ValueError"), "a plain list loses its parameters: a ValueError")
    expect("empty parameter list" in error, "the optimiser complains of an empty parameter list")
    expect(kept == sum(count(layer) for layer in fixed.layers), "ModuleList registers every layer")
    expect(list(broken.state_dict()) == [] and len(broken.layers) == 3, "the layers exist, but nothing is saved")
    expect(broken(torch.ones(1, 4, device=device)).shape == (1, 4), "the plain list still runs in forward")
    expect_each([torch.float64, torch.float16, torch.bfloat16], left_behind,
                ".to() leaves a plain list's layers behind")
    return {"lost": lost, "kept": kept, "error": error, "fixed": fixed}


@lesson.beat(
    "nn.ModuleDict",
    narration="""When layers deserve names rather than positions, reach for nn dot ModuleDict: a dictionary
    that registers its values. This creature has one body and two heads, classify and score, and forward picks a head
    by key. | Asked for the score head, the hooks saw the body run, then only the score head; the classify
    head slept through it all. Yet both heads stay registered under their keys, so both are counted in the
    parameters and saved in the state dict.""",
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
    x = torch.randn(2, 4, device=device)
    y = model(x, "score")  # noqa: F841
    expect(forward_order(model, x, "score")[0] == ["", "body", "heads.score"], "only the chosen head ran")
    expect({"heads.classify.weight", "heads.score.weight"} <= set(model.state_dict()), "both heads are saved")
    expect(count(model) == count(model.body) + count(model.heads), "both heads are counted")
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
                x = block(x)
            return self.head(x)

    model = Monster().to(device)
    x = torch.randn(2, 4, device=device)
    y = model(x)  # noqa: F841
    expect([name for name, _ in model.named_modules()][:3] == ["", "inp", "head"], "the tree follows assignment order")
    expect(forward_order(model, x)[0] == ["", "inp", "blocks.0", "blocks.0.0", "blocks.0.1", "blocks.1", "blocks.1.0",
                                          "blocks.1.1", "head"], "forward sets the running order")
    expect("blocks.1.0.weight" in dict(model.named_parameters()), "names join with dots")
    return {"model": model, "total": sum(p.numel() for p in model.parameters())}


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
    expect(list(dict(stack().named_children())) == ["0", "1", "2"], "Sequential names children by position")
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
    expect(f"{len(pairs)} Linear layers" in lesson.challenge, "the card asks for as many layers as we check")
    return {"layers": len(pairs)}
