"""Gallery beats for `Loader`: a real torch DataLoader over a tiny Dataset, shuffled by a seeded
torch.Generator; the indices of every batch it yielded are traced in order, with the batch sizes."""

import torch
from torch.utils.data import DataLoader, Dataset

from render.lesson import Lesson, expect
from scenes.vocabulary import Loader

lesson = Lesson(
    objectives=["See the Loader visual once"],
    recap=["Every index dealt came from a torch DataLoader"],
    seed=33,
)


class Numbered(Dataset):
    """Item i is (its index, a value): the index lets the trace see which items each batch holds."""

    def __init__(self, values):
        self.values = values

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return i, self.values[i]


def dealt(values, **options):
    """The indices the DataLoader yielded, batch after batch, and each batch's size."""
    batches = [idx for idx, _ in DataLoader(Numbered(values), **options)]
    return torch.cat(batches), torch.tensor([len(b) for b in batches])


@lesson.beat(
    "Loader: shuffled, a short last batch",
    narration="Ten items in order. | The first batch. | The second. | The last batch is short.",
    visual=Loader("data", "order", "sizes", code=False),
)
def loader_shuffled(device):
    data = torch.arange(10) * 10
    order, sizes = dealt(data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
    expect(torch.equal(order.sort().values, torch.arange(10)), "each item exactly once per epoch")
    expect(sizes.tolist() == [4, 4, 2], "the last batch holds the remainder")
    return {"data": data.to(device), "order": order, "sizes": sizes}


@lesson.beat(
    "Loader: drop_last",
    narration="Seven readings. | The first batch. | The second. | The leftover item is dropped.",
    visual=Loader("readings", "order", "sizes"),
)
def loader_drop_last(device):
    readings = torch.linspace(-1.5, 1.5, 7)
    g = torch.Generator().manual_seed(1)
    loader = DataLoader(range(7), batch_size=3,
                        shuffle=True, generator=g,
                        drop_last=True)
    batches = list(loader)
    order = torch.cat(batches)
    sizes = torch.tensor([len(b) for b in batches])
    expect(len(loader) == 7 // 3, "drop_last keeps only full batches")
    return {"readings": readings, "order": order, "sizes": sizes}
