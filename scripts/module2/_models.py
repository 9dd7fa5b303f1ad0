"""Small nn.Modules shared by the module 2 lessons (2.1.1 builds them, 2.1.3 saves and loads them)."""

import torch
from torch import nn


class Brain(nn.Module):
    """Two linear layers with a ReLU between: the smallest network worth a name."""

    def __init__(self, n_in=3, hidden=4, n_out=2):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class NormBrain(nn.Module):
    """A Brain with BatchNorm after its first layer: parameters and running-statistics buffers to save."""

    def __init__(self, n_in=3, hidden=4, n_out=2):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.norm = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))


def count(model):
    """The number of values the optimiser will train: every element of every registered parameter."""
    return sum(p.numel() for p in model.parameters())


def forward_order(model, *args):
    """Run `model(*args)` once; return the dotted paths of the submodules whose forward ran, in order ("" is
    the model itself, seen by forward pre-hooks removed again afterwards), and the output."""
    order = []
    handles = [m.register_forward_pre_hook(lambda _m, _a, path=path: order.append(path))
               for path, m in model.named_modules()]
    try:
        out = model(*args)
    finally:
        for handle in handles:
            handle.remove()
    return order, out
