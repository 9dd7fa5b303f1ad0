"""2.1.3 Preserving Your Monster's Memories.

state_dict: its keys and what they hold (buffers too), torch.save and torch.load(weights_only=True) through a
real file in a temporary folder, load_state_dict and strict mismatches, map_location, and the optimiser's
own state_dict.
"""

import tempfile
from pathlib import Path

import torch
from _models import Brain, NormBrain
from torch import nn

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Show, StateDict, Title

lesson = Lesson(
    objectives=[
        "Read a state_dict: keys, tensors and buffers",
        "Save with torch.save, load with weights_only=True",
        "Restore a fresh model with load_state_dict",
        "Read strict mismatches: missing and unexpected keys",
        "map_location for GPU checkpoints; optimiser state",
    ],
    recap=[
        "state_dict: dotted names to parameters and buffers",
        "torch.save writes it; torch.load(..., weights_only=True)",
        "load_state_dict copies every value into place",
        "strict=False: reports key mismatches; shapes still raise",
        "map_location picks the device; save the optimiser too",
    ],
    challenge="Save a model's state_dict to a file, change one weight in place, load the file back, and "
    "prove with torch.equal that the change is gone.",
    seed=3,
)


def save_and_load(obj, **load_options):
    """Write `obj` with torch.save to a file in a fresh temporary folder; return (loaded, file size)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        torch.save(obj, path)
        return torch.load(path, weights_only=True, **load_options), path.stat().st_size


def resumes(keep_optimiser):
    """Whether two Adam steps, stopped after the first and resumed from a checkpoint (with the optimiser's
    state, or with a fresh Adam), land on exactly the weights of two steps run straight through."""
    x = torch.randn(16, 3)

    def step(model, opt):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        opt.step()

    straight = Brain()
    opt = torch.optim.Adam(straight.parameters(), lr=0.01)
    step(straight, opt)
    checkpoint, _ = save_and_load({"model": straight.state_dict(), "optim": opt.state_dict()})
    step(straight, opt)
    resumed = Brain()
    opt2 = torch.optim.Adam(resumed.parameters(), lr=0.01)
    resumed.load_state_dict(checkpoint["model"])
    if keep_optimiser:
        opt2.load_state_dict(checkpoint["optim"])
    step(resumed, opt2)
    return all(torch.equal(a, b) for a, b in zip(resumed.parameters(), straight.parameters(), strict=True))


@lesson.beat(
    "Preserving memories",
    narration="""Apprentices, a monster that forgets everything at sunrise is no monster at all! Today we bottle
    its memories. | We will read a state dict, keys, tensors and buffers, | save it to a real file and load it
    back safely, | restore a fresh model from it, | read the complaints torch makes when a checkpoint does not
    fit, | and carry checkpoints across devices, with the optimiser's memories too.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "What a state_dict holds",
    narration="""A model's memory lives in its state dict: an ordered dictionary from dotted names to tensors.
    Here is our brain with a batch norm layer, as a tree. | Flattened, it gives one key per tensor: the weights
    and biases, and the batch norm's buffers: its running mean, running variance and a counter of batches
    seen. Careful: these tensors share memory with the live model. Clone them if you want a
    snapshot.""",
    visual=StateDict("model"),
    slide=["`model.state_dict()`: name -> tensor", "Parameters and persistent buffers",
           "Shares memory with the model: clone to keep"],
)
def keys(device):
    model = NormBrain().to(device)
    model(torch.randn(8, 3, device=device))
    state = model.state_dict()
    buffers = [name for name, _ in model.named_buffers()]
    expect(all(name in state for name in buffers), "buffers are in the state_dict")
    expect(state["fc1.weight"].data_ptr() == model.fc1.weight.data_ptr(), "it shares memory with the model")
    expect(not state["fc1.weight"].requires_grad, "its tensors are detached")
    expect(list(state) == [name for name, _ in model.named_parameters()][:2] + ["norm.weight", "norm.bias",
           "norm.running_mean", "norm.running_var", "norm.num_batches_tracked", "fc2.weight", "fc2.bias"],
           "one key per parameter and buffer, module by module")
    return {"model": model}


@lesson.beat(
    "torch.save and torch.load",
    narration="""Now bottle it. Torch dot save writes the state dict to a real file, and torch dot load, with
    weights only equals True, reads it back as a dictionary of tensors. Save the whole module instead, and
    that load refuses: the file holds pickled code, and weights only will not run it. | Our file is
    {{ size.item }} bytes. | The numbers themselves are only {{ raw.item }} bytes: the rest is names and
    zip packaging.""",
    visual=Show("size", "raw"),
    slide=["`torch.save(model.state_dict(), path)`", "`torch.load(path, weights_only=True)`",
           "A pickled whole module is refused"],
)
def save_load(device):
    model = Brain().to(device)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "brain.pt"
        torch.save(model.state_dict(), path)
        size = torch.tensor(path.stat().st_size)
        loaded = torch.load(path, weights_only=True)
        torch.save(model, path)  # the whole module, pickled
        refused = capture_error(lambda: torch.load(path, weights_only=True))
    raw = torch.tensor(sum(t.numel() * t.element_size() for t in loaded.values()))
    expect(refused.startswith("UnpicklingError: Weights only load failed"),
           "weights_only=True refuses a pickled module")
    expect(list(loaded) == list(model.state_dict()) and all(torch.equal(loaded[k], v)
           for k, v in model.state_dict().items()), "it reads back the same tensors")
    expect(size > raw, "the file holds every value, plus names and packaging")
    return {"size": size, "raw": raw, "refused": refused}


@lesson.beat(
    "load_state_dict",
    narration="""Loaded from the file, the state dict holds the original brain's tensors. | A fresh brain is
    born with its own random values. | Load state dict copies each saved tensor into place, and the fresh
    brain now answers exactly as the original did: its memories restored, its old random values gone.""",
    visual=StateDict("loaded", into="fresh", model="original"),
    slide=["`state = torch.load(path, weights_only=True)`", "`fresh.load_state_dict(state)`",
           "Every value copied into place"],
)
def restore(device):
    original = Brain().to(device)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "brain.pt"
        torch.save(original.state_dict(), path)
        loaded = torch.load(path, weights_only=True)
    fresh = Brain().to(device)
    expect(not torch.equal(fresh.fc1.weight, original.fc1.weight), "the fresh brain starts with its own values")
    fresh.load_state_dict(loaded)
    x = torch.randn(4, 3, device=device)
    expect(torch.equal(fresh(x), original(x)), "the fresh brain answers as the original")
    expect(all(torch.equal(v, loaded[k]) for k, v in fresh.state_dict().items()), "every value copied into place")
    return {"loaded": loaded, "fresh": fresh, "original": original}


@lesson.beat(
    "A strict load refuses",
    narration="""Brains change shape as you experiment, and old checkpoints stop fitting. This one was saved
    from the brain with batch norm. | Load it into the plain brain and torch refuses: load state dict is
    strict by default, and it lists every unexpected key, each batch norm tensor with no home
    to go to. Better a loud error than a half-remembered monster.""",
    visual=StateDict("saved", result="error"),
    slide=["`load_state_dict` is strict by default", "Unexpected keys: saved, but no home",
           "Missing keys: wanted, but not saved"],
)
def strict_error(device):
    saved = NormBrain().to(device).state_dict()
    plain = Brain().to(device)
    error = capture_error(lambda: plain.load_state_dict(saved))
    unexpected = [k for k in saved if k.startswith("norm.")]
    expect("Unexpected key(s)" in error and all(k in error for k in unexpected), "the error names every key")
    return {"saved": saved, "error": error}


@lesson.beat(
    "strict=False and its report",
    narration="""A classic accident: insert one layer into a Sequential, and every name after it shifts. This
    checkpoint came from the old model. | The new model has an identity layer where the last Linear used to
    be. | With strict equals False, the keys that match are copied. | And torch hands back a report: missing
    keys, {{ missing }}; unexpected keys, {{ unexpected }}. Always read it. And strict equals False forgives
    only names: a saved tensor of the wrong shape still raises a size mismatch.""",
    visual=StateDict("saved", into="new", model="old", result="report"),
    slide=["`strict=False`: returns `missing_keys`, `unexpected_keys`", "Inserting a layer renames those after it",
           "A shape mismatch still raises, strict or not"],
)
def strict_false(device):
    old = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    saved = old.state_dict()
    new = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Identity(), nn.Linear(4, 2)).to(device)
    report = new.load_state_dict(saved, strict=False)
    expect(report.missing_keys == ["3.weight", "3.bias"], "the last layer's new name is missing")
    expect(report.unexpected_keys == ["2.weight", "2.bias"], "its old name is unexpected")
    expect(torch.equal(new.state_dict()["0.weight"], saved["0.weight"]), "the matching keys were copied")
    wider = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5)).to(device)
    mismatch = capture_error(lambda: wider.load_state_dict(saved, strict=False))
    expect(mismatch.startswith("RuntimeError") and "size mismatch for 2.weight" in mismatch,
           "strict=False still raises on a shape mismatch")
    return {"saved": saved, "old": old, "new": new, "report": report,
            "missing": ", ".join(report.missing_keys), "unexpected": ", ".join(report.unexpected_keys)}


@lesson.beat(
    "map_location",
    narration="""Saved tensors remember their device. A checkpoint written on a GPU loads back onto that GPU,
    and fails on a machine without one. | Our weight was saved from {% if device == "cpu" %}the cpu, since this
    machine has no GPU{% else %}{{ device }}{% endif %}. | Map location equals cpu sends every tensor to the
    cpu as it loads, a fresh copy read from the file. Name a GPU instead, and they land straight on it.""",
    visual=Show("saved", "loaded"),
    slide=["Tensors load onto the device they were saved from", "`torch.load(path, map_location='cpu', ...)`",
           "Or `map_location='cuda:0'`, or `model.to(device)` after"],
)
def map_location(device):
    model = Brain().to(device)
    saved = model.fc1.weight.detach()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "brain.pt"
        torch.save(model.state_dict(), path)
        state = torch.load(path, map_location="cpu",
                           weights_only=True)
    loaded = state["fc1.weight"]
    expect(all(t.device.type == "cpu" for t in state.values()), "map_location puts every tensor on the cpu")
    expect(torch.equal(loaded, saved.cpu()), "with the same values")
    expect(loaded.untyped_storage().data_ptr() != saved.untyped_storage().data_ptr(), "a fresh copy")
    return {"saved": saved, "loaded": loaded}


@lesson.beat(
    "The optimiser's memories",
    narration="""Models are not the only ones with memories. Adam keeps two running averages for every
    parameter, and its own state dict holds them, keyed by parameter number, beside its settings. Save both
    state dicts in one checkpoint, and training resumes where it stopped. | Here, after one step, the first
    parameter's average gradient: a tenth of its gradient. | And its average squared
    gradient, a thousandth of its square: tiny numbers, but lose them, and Adam restarts cold.""",
    visual=Show("exp_avg", "exp_avg_sq", digits=4),
    slide=["`opt.state_dict()`: per-parameter state + settings", "Adam: `exp_avg`, `exp_avg_sq`, `step`",
           "Save `{'model': ..., 'optim': ...}` together"],
)
def optimizer_state(device):
    model = Brain().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(16, 3, device=device)).pow(2).sum().backward()
    opt.step()
    path = Path(tempfile.mkdtemp()) / "ckpt.pt"
    torch.save({"model": model.state_dict(), "optim": opt.state_dict()}, path)
    loaded = torch.load(path, weights_only=True)
    first = loaded["optim"]["state"][0]
    expect(sorted(first) == ["exp_avg", "exp_avg_sq", "step"], "Adam's state")
    expect(list(loaded["optim"]["state"]) == [0, 1, 2, 3], "keyed by parameter number")
    expect(torch.equal(first["exp_avg"], opt.state[model.fc1.weight]["exp_avg"]), "the first is fc1's weight")
    expect(torch.allclose(first["exp_avg"], 0.1 * model.fc1.weight.grad)
           and torch.allclose(first["exp_avg_sq"], 0.001 * model.fc1.weight.grad**2),
           "after one step: a tenth of the gradient, a thousandth of its square")
    expect_each([True, False], lambda keep: resumes(keep) == keep,
                "with the optimiser's state, training resumes exactly; without it, it does not")
    expect(opt.param_groups[0]["betas"] == (0.9, 0.999), "the default betas: a tenth and a thousandth are new")
    return {"exp_avg": first["exp_avg"], "exp_avg_sq": first["exp_avg_sq"]}


@lesson.beat(
    "Recap",
    narration="""The memories are bottled, mwahahaha! | A state dict maps dotted names to parameters and
    buffers. | Torch dot save writes it, and torch dot load with weights only reads it back safely. | Load state
    dict copies every value into a fresh model. | Strict loads refuse mismatched keys; strict equals False
    reports them, but a wrong shape still raises. | Map location picks the device, and the optimiser's state
    dict belongs in the checkpoint too.""",
    visual=Title(heading="What we preserved", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    model = NormBrain().to(device)
    keys = list(model.state_dict())
    expect(len(keys) == len(list(model.parameters())) + len(list(model.buffers())), "parameters + buffers")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Save a model's state dict to a file. Then vandalise it: change one
    weight in place, under no grad. Load the file back into the model, and prove with torch dot equal that the
    vandalism is gone. Bonus: skip the file, keep the state dict in memory without cloning it, and explain why
    the vandalism then survives the load.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Save a `state_dict`, then change a weight", "Load it back with `load_state_dict`",
           "Prove the change is gone with `torch.equal`"],
)
def challenge(device):
    model = Brain().to(device)
    original = model.fc1.weight.detach().clone()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "brain.pt"
        torch.save(model.state_dict(), path)
        with torch.no_grad():
            model.fc1.weight[0, 0] += 1
        model.load_state_dict(torch.load(path, weights_only=True))
    expect(torch.equal(model.fc1.weight, original), "it can be done")
    kept = model.state_dict()
    with torch.no_grad():
        model.fc1.weight[0, 0] += 1
    model.load_state_dict(kept)
    expect(not torch.equal(model.fc1.weight, original), "an uncloned state dict in memory shares the change")
    return {}
