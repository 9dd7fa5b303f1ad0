"""Gallery: the nn.Module visuals (ModuleTree, StateDict), each beat built from real torch.nn modules, their
forward order seen by the trace's hooks and every load report the one torch gave."""

import torch
from torch import nn

from render.lesson import Lesson, capture_error, expect
from scenes.vocabulary import ModuleTree, StateDict

lesson = Lesson(
    objectives=["See the nn.Module visuals once"],
    recap=["Every box, shape and key on screen came from torch.nn"],
    seed=21,
)


class Block(nn.Module):
    """A residual block: a norm, then a linear layer added back to its input."""

    def __init__(self, dim, device):
        super().__init__()
        self.norm = nn.LayerNorm(dim, device=device)
        self.proj = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        return x + self.proj(self.norm(x))


class TinyNet(nn.Module):
    """Embedding, two blocks, a head: enough nesting to see a tree, with a non-persistent buffer."""

    def __init__(self, device, vocab=10, dim=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, device=device)
        self.blocks = nn.ModuleList([Block(dim, device) for _ in range(2)])
        self.head = nn.Linear(dim, vocab, device=device)
        self.register_buffer("scale", torch.tensor(dim**-0.5, device=device), persistent=False)

    def forward(self, idx):
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(x) * self.scale


class Scaled(nn.Module):
    """A projection and a norm, and a constant kept as a buffer that is not saved."""

    def __init__(self, device):
        super().__init__()
        self.proj = nn.Linear(3, 2, device=device)
        self.norm = nn.BatchNorm1d(2, device=device)
        self.register_buffer("scale", torch.tensor(0.5, device=device), persistent=False)

    def forward(self, x):
        return self.norm(self.proj(x)) * self.scale


def mlp(device):
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)


@lesson.beat(
    "ModuleTree: an MLP",
    narration="A Sequential holds its layers as children, each with its own weights and biases.",
    visual=ModuleTree("model"),
)
def module_tree_mlp(device):
    model = mlp(device)
    count = sum(p.numel() for p in model.parameters())
    expect(count == 4 * 8 + 8 + 8 * 3 + 3, "the MLP has 67 parameters")
    return {"model": model}


@lesson.beat(
    "ModuleTree: nested modules and the forward path",
    narration="Modules nest: the blocks hold a norm and a projection. | Forward hooks saw them run in this order.",
    visual=ModuleTree("model", forward=True),
)
def module_tree_forward(device):
    model = TinyNet(device)
    logits = model(torch.tensor([[1, 4, 2]], device=device))
    expect(logits.shape == (1, 3, 10), "the logits are batch x tokens x vocabulary")
    return {"model": model, "logits": logits}


@lesson.beat(
    "ModuleTree: eval mode and buffers",
    narration="After eval, every module's training flag is False, and BatchNorm keeps running statistics as buffers.",
    visual=ModuleTree("model"),
)
def module_tree_eval(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.1)).to(device)
    model(torch.randn(5, 3, device=device))
    model.eval()
    expect(not any(m.training for m in model.modules()), "eval() reaches every submodule")
    return {"model": model}


@lesson.beat(
    "StateDict: the tree flattened into keys",
    narration="The model is a tree of modules. | Its state_dict flattens it into dotted keys, the"
    " non-persistent buffer left out.",
    visual=StateDict("model"),
)
def state_dict_keys(device):
    model = Scaled(device)
    keys = list(model.state_dict())
    expect("scale" not in keys, "a non-persistent buffer is not saved")
    expect(keys[0] == "proj.weight", "keys follow the order modules were assigned")
    return {"model": model}


@lesson.beat(
    "StateDict: loading into a fresh model",
    narration="The saved state_dict holds keys and values. | A fresh model starts with its own random values."
    " | load_state_dict copies each value into place.",
    visual=StateDict("saved", into="fresh", model="trained"),
)
def state_dict_load(device):
    trained = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(device)
    trained(torch.randn(4, 3, device=device))
    saved = trained.state_dict()
    fresh = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(device)
    fresh.load_state_dict(saved)
    expect(torch.equal(fresh[0].weight, trained[0].weight), "the fresh model now holds the trained weight")
    return {"saved": saved, "trained": trained, "fresh": fresh}


@lesson.beat(
    "StateDict: a strict mismatch",
    narration="This checkpoint has an extra layer. | The smaller model has a layer the checkpoint lacks."
    " | The matching keys are copied. | Torch reports the missing and unexpected keys.",
    visual=StateDict("saved", into="small", model="big", result="report"),
)
def state_dict_mismatch(device):
    big = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)).to(device)
    saved = big.state_dict()
    small = nn.Sequential(nn.Linear(3, 3), nn.Identity(), nn.Linear(3, 4)).to(device)
    report = small.load_state_dict(saved, strict=False)
    expect(report.unexpected_keys == ["1.weight", "1.bias"], "the second layer of the checkpoint is unexpected")
    return {"saved": saved, "big": big, "small": small, "report": report}


@lesson.beat(
    "StateDict: the error a strict load raises",
    narration="This checkpoint has two layers. | Loading it strictly into a one-layer model raises an error"
    " naming the keys that do not fit.",
    visual=StateDict("saved", result="error"),
)
def state_dict_error(device):
    saved = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).to(device).state_dict()
    error = capture_error(lambda: nn.Sequential(nn.Linear(2, 2)).to(device).load_state_dict(saved))
    expect("Unexpected key(s)" in error, "a strict load names the unexpected keys")
    return {"saved": saved, "error": error}
