"""2.1.1 Building Brains with nn.Module.

A subclass with __init__ and forward, what registration catches and what it misses, calling the model
against calling forward, parameters and buffers, the parameter count, and moving a whole model with .to().
"""

import torch
from _models import Brain, NormBrain, count
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Show, StateDict, Title


def assigned_order(model):
    """named_parameters' order as the lesson states it: the module's own parameters in the order they were
    assigned, then each submodule's, in the order the submodules were assigned."""
    own = list(model._parameters)
    return own + [f"{name}.{p}" for name, child in model.named_children() for p in assigned_order(child)]


def gained(inner):
    """A module that assigns a submodule first and its own parameter after it (the lab's pattern)."""
    outer = nn.Module()
    outer.layer = inner
    outer.gain = nn.Parameter(torch.ones(1))
    return outer


HOOKS_SEEN = "brain(x): pre hook, fc1 hook, brain hook\nbrain.forward(x): fc1 hook"  # checked in its beat


def kept_storage(module, device):
    """Whether `module.to(device)` left every parameter and buffer in the memory it had."""
    before = [t.untyped_storage().data_ptr() for t in [*module.parameters(), *module.buffers()]]
    module.to(device)
    return before == [t.untyped_storage().data_ptr() for t in [*module.parameters(), *module.buffers()]]


lesson = Lesson(
    objectives=[
        "Write a module: __init__ builds, forward computes",
        "Register parameters; plain tensors are ignored",
        "Call model(x), not model.forward(x)",
        "List and count parameters; add buffers",
        "Move and convert a whole model with .to()",
    ],
    recap=[
        "Subclass nn.Module: build in __init__, compute in forward",
        "Modules and nn.Parameter attributes register; tensors don't",
        "model(x) runs hooks; model.forward(x) skips the model's own",
        "named_parameters() lists them; numel() counts them",
        "Buffers: never trained; saved unless persistent=False",
        "model.to(): moves, converts floats, in place",
    ],
    challenge="Build a module with a learnable scale of 3 values and a buffer called shift; predict its "
    "parameter count and its state_dict keys, then check both with torch.",
    seed=7,
)


@lesson.beat(
    "Building brains",
    narration="""Welcome back to the laboratory, apprentices! Tensors alone are mere clay. Today we breathe life
    into them with nn dot Module, the blueprint of every PyTorch brain. | We will write a module's init and its
    forward, | register parameters, and watch plain tensors vanish, | call the model instead of its forward, |
    list, count and buffer its parts, | and move and convert the whole creature with one call to dot to.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Anatomy of a module",
    narration="""Every brain begins as a class. Subclass nn dot Module and call super's init first. Then, in
    init, build the parts and keep them as attributes: here, two Linear layers. Forward says how data
    flows through them, with a ReLU between. | Our input x is {{ x.shape }}: one row per sample, one column per
    feature. | Call the brain on it and out comes y, shaped {{ y.shape }}: the forward we wrote, run on real
    numbers.""",
    visual=Show("x", "y"),
    slide=["Subclass `nn.Module`; call `super().__init__()`", "`__init__`: build the layers as attributes",
           "`forward(x)`: how data flows through them"],
)
def anatomy(device):
    class Brain(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 4)
            self.fc2 = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    brain = Brain().to(device)
    x = torch.randn(2, 3, device=device)
    y = brain(x)
    expect(torch.equal(y, brain.forward(x)), "brain(x) runs forward")
    return {"x": x, "y": y}


@lesson.beat(
    "What registration catches",
    narration="""Assign a module or an nn dot Parameter to self, and nn dot Module quietly registers it. This
    lab holds a Linear layer, a learnable gain, and a plain tensor called offset, which nothing registers.
    To see the difference, we convert the whole lab to float64 with one call to dot to. | The gain is
    registered, so it converted: {{ gain.dtype }}. | The offset's {{ offset.numel }} values were never registered:
    still {{ offset.dtype }}.
    No optimiser will train it, and calling to on the lab leaves it behind.""",
    visual=Show("gain", "offset"),
    slide=["`self.layer = nn.Linear(...)`: registered", "`self.gain = nn.Parameter(...)`: registered",
           "`self.offset = torch.zeros(2)`: ignored, left behind"],
)
def registration(device):
    class Lab(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 2)
            self.gain = nn.Parameter(torch.ones(2))
            self.offset = torch.zeros(2)  # not registered

        def forward(self, x):
            return self.layer(x) * self.gain + self.offset

    lab = Lab().to(device)
    lab.to(torch.float64)
    expect([name for name, _ in lab.named_parameters()] == ["gain", "layer.weight", "layer.bias"],
           "named_parameters: the gain, the layer's weight and bias, no offset")
    expect(count(lab) == count(lab.layer) + lab.gain.numel(), "the count is the layer's plus the gain's")
    expect(list(lab.state_dict()) == ["gain", "layer.weight", "layer.bias"], "the offset is not saved either")
    expect(lab.gain.dtype == torch.float64 and lab.offset.dtype == torch.float32, ".to() leaves the offset behind")
    expect_each([torch.float16, torch.bfloat16, torch.float64],
                lambda dtype: Lab().to(dtype).offset.dtype == torch.float32, ".to() never converts the offset")
    return {"lab": lab, "gain": lab.gain, "offset": lab.offset}


@lesson.beat(
    "model(x), not model.forward(x)",
    narration="""A trap for the unwary. Calling the model runs pre hooks, then forward, then forward hooks.
    This brain has one of each, and its first layer a hook too; each writes its name into the list seen. |
    Brain of x gives these numbers. | Brain dot forward of x gives the same ones: these hooks only watch. |
    But the list tells them apart: the call fired the pre hook, the layer's hook, then the brain's. Forward
    fired only the layer's hook; the brain's own stayed silent. Always call the model.""",
    visual=Show("y_call", "y_forward", caption=HOOKS_SEEN),
    slide=["`model(x)`: pre-hooks, `forward`, forward hooks", "`model.forward(x)` skips the model's own hooks",
           "Same numbers here; always call the model"],
)
def call_vs_forward(device):
    brain = Brain().to(device)
    seen = []
    brain.register_forward_pre_hook(lambda module, args: seen.append("pre hook"))
    brain.register_forward_hook(lambda module, args, out: seen.append("brain hook"))
    brain.fc1.register_forward_hook(lambda module, args, out: seen.append("fc1 hook"))
    x = torch.randn(2, 3, device=device)
    y_call = brain(x)
    y_forward = brain.forward(x)
    expect(torch.equal(y_call, y_forward), "the same numbers either way")
    expect(seen == ["pre hook", "fc1 hook", "brain hook", "fc1 hook"],
           "model(x): pre hook, the layer's hook, the brain's hook; forward: only the layer's hook")
    expect(f"brain(x): {', '.join(seen[:3])}\nbrain.forward(x): {seen[3]}" == HOOKS_SEEN,
           "the caption is the list the hooks wrote")
    return {"y_call": y_call, "y_forward": y_forward}


@lesson.beat(
    "parameters() and named_parameters()",
    narration="""Parameters hands over every registered parameter; named parameters pairs each with its
    dotted name, in a fixed order: a module's own parameters first, then each submodule's, in the order the
    submodules were assigned. | fc1 dot weight: one row per output, one column per input. | Then fc1 dot
    bias, one value per output. | fc2 dot weight, built the same way, | with fc2 dot bias. | Add up
    every element and this brain holds {{ total.item }} parameters, the very number an optimiser will
    tune.""",
    visual=Show("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "total"),
    slide=["`model.parameters()`: every registered parameter", "`model.named_parameters()`: with dotted names",
           "`sum(p.numel() for p in model.parameters())`"],
)
def parameters(device):
    brain = Brain().to(device)
    named = dict(brain.named_parameters())
    sizes = [p.numel() for p in brain.parameters()]
    total = torch.tensor(sum(sizes))
    expect(count(brain.fc1) == 4 * 3 + 4, "out x in weights + out biases")
    expect(list(named) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], "fc1's, then fc2's")
    expect_each([brain, NormBrain(), gained(nn.Linear(3, 2)), gained(Brain())],
                lambda m: [n for n, _ in m.named_parameters()] == assigned_order(m),
                "own parameters first, then each submodule's, in the order assigned")
    expect(brain.fc1.weight.shape == (brain.fc1.out_features, brain.fc1.in_features), "one row per output")
    expect(brain.fc1.bias.shape == (brain.fc1.out_features,), "one bias per output")
    return {**named, "total": total}


@lesson.beat(
    "Buffers",
    narration="""Some tensors belong to a model but must never be trained: a running mean, a mask, a counter.
    Register them as buffers. This standardiser has a learnable scale, a buffer called mean, and a call
    counter registered with persistent equals False. | Its state dict, the model's saved memory, keeps the
    scale and the mean, but leaves the counter out. Non persistent buffers travel with the model, yet stay
    out of its state dict.""",
    visual=StateDict("model"),
    slide=["`self.register_buffer('mean', t)`: state, not trained", "Buffers move with `.to()`",
           "`persistent=False`: left out of the state_dict"],
)
def buffers(device):
    class Standardize(nn.Module):
        calls: torch.Tensor

        def __init__(self, n):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(n))
            self.register_buffer("mean", torch.zeros(n))
            self.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)

        def forward(self, x):
            self.calls += 1
            return (x - self.mean) * self.scale

    model = Standardize(3).to(device)
    model(torch.randn(2, 3, device=device))
    expect([n for n, _ in model.named_buffers()] == ["mean", "calls"], "both buffers are registered")
    expect([n for n, _ in model.named_parameters()] == ["scale"], "buffers are not parameters")
    expect(list(model.state_dict()) == ["scale", "mean"], "the non-persistent counter is not saved")
    expect(model.calls.device.type == torch.device(device).type and model.calls.item() == 1,
           "the counter travels with the model (and counted the one call)")
    expect(Standardize(3).to(torch.float64).calls.dtype == torch.long
           and Standardize(3).to(torch.float64).mean.dtype == torch.float64,
           "non-persistent buffers still follow .to()")
    return {"model": model}


@lesson.beat(
    "Moving the whole model",
    narration="""One call moves the whole creature: model dot to. A batch norm layer holds a learnable
    weight, plus buffers: a running mean and an integer batch count. {% if device == "cpu" %}With no GPU
    here, this first call moves nothing{% else %}The first call takes every parameter and buffer to the
    GPU{% endif %}. No assignment needed: calling to on a module works in place. Then we pass a dtype:
    float64. | The weight converted: {{ weight.dtype }}, on the {{ weight.device }}. | The running mean
    buffer too: {{ running_mean.dtype }}. | But the batch counter keeps its {{ counter.dtype }}: integer
    buffers keep their type.""",
    visual=Show("weight", "running_mean", "counter"),
    slide=["`model.to(device)`: parameters and buffers move", "In place: returns the same module",
           "`model.to(torch.float64)`: integer buffers stay"],
)
def to_device(device):
    model = nn.BatchNorm1d(4)
    model.to(device)
    expect(all(t.device.type == torch.device(device).type for t in [*model.parameters(), *model.buffers()]),
           "parameters and buffers moved")
    expect(kept_storage(nn.BatchNorm1d(4), device) == (torch.device(device).type == "cpu"),
           "on the cpu already, .to(device) moves nothing")
    model.to(torch.float64)
    expect(model.to(torch.float64) is model, "a module's .to() works in place and returns the module")
    expect(model.weight.dtype == model.running_mean.dtype == torch.float64, "floating tensors convert")
    expect(model.num_batches_tracked.dtype == torch.long, "integer buffers keep their dtype")
    expect_each([torch.float16, torch.bfloat16, torch.float64],
                lambda dtype: NormBrain().to(dtype).norm.num_batches_tracked.dtype == torch.long
                and NormBrain().to(dtype).fc1.weight.dtype == dtype, "floats convert; integer buffers never do")
    return {"weight": model.weight, "running_mean": model.running_mean, "counter": model.num_batches_tracked}


@lesson.beat(
    "Recap",
    narration="""The brain lives, mwahahaha! | Subclass nn dot Module: build in init, compute in forward. |
    Modules and parameters assigned to self are registered; plain tensors are not. | Calling the model runs
    its hooks; calling forward skips the model's own. | Named parameters lists the parameters, and numel
    counts their values. | Buffers hold state that is never trained, saved unless persistent is False. |
    And calling to on a model moves every parameter and buffer at once, converting only the floating ones.""",
    visual=Title(heading="What we built", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    brain = Brain().to(device)
    expect(sum(1 for _ in brain.children()) == len(brain._modules), "every assigned module is a child")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""And now, apprentice, your trial. | Build a module with a learnable scale of {{ n }} values
    and a buffer called shift. Before running anything, predict its parameter count and the keys of its
    state dict. Then let torch judge you: count the parameters, print the keys, and see whether the shift
    made it in. Predict correctly, and the next experiment awaits!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["A learnable scale and a buffer `shift`", "Predict the parameter count",
           "Predict the `state_dict` keys, then check"],
)
def challenge(device):
    class Scaler(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(n))
            self.register_buffer("shift", torch.zeros(n))

    n = 3
    solution = Scaler(n).to(device)
    expect(count(solution) == n and list(solution.state_dict()) == ["scale", "shift"], "it can be done")
    expect(f"a learnable scale of {n} values" in lesson.challenge, "the card asks for the scale the check built")
    return {"n": n}
