"""3.3.1 Datasets & DataLoaders: Feeding the Beast.

A custom Dataset (__len__ and __getitem__), a DataLoader dealing it into batches, shuffling with a seeded
torch.Generator, drop_last, a collate_fn that pads ragged sequences, num_workers (worker processes, the same
batches), and a transform pipeline that augments each item as it is loaded; then a real training run fed by
the loader. Every index on screen is one a torch DataLoader yielded.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, TensorDataset, get_worker_info

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Curve, Loader, Show, Title

lesson = Lesson(
    objectives=[
        "Write a Dataset: __len__ and __getitem__",
        "Batch it with a DataLoader; shuffle with a seed",
        "Keep or drop the short last batch: drop_last",
        "Pad ragged samples with a collate_fn",
        "Load in parallel with num_workers; augment on the fly",
    ],
    recap=[
        "Dataset: __len__ and __getitem__, items on demand",
        "DataLoader stacks batch_size items into one batch",
        "shuffle=True with a seeded generator: repeatable",
        "drop_last=True discards the short final batch",
        "collate_fn pads ragged items; return the lengths",
        "num_workers: parallel loading, the same order",
        "Transforms in __getitem__: a fresh variant per load",
    ],
    challenge="Make a Dataset of four sequences of lengths 3, 1, 4 and 2; load it with batch_size=2, "
    "shuffle=True, a generator seeded 0 and a collate_fn that pads; print each batch's shape, then prove that "
    "a second loader with the same seed deals the same batches.",
    seed=33,
)


# --- checks (run inside expect calls only: the learner's code panels never show them) ---------------------


def squares_dataset(n):
    x = torch.arange(n)
    return TensorDataset(x, x**2)


def dealt(n, **options):
    """The inputs of each batch a DataLoader over `squares_dataset(n)` yields (its inputs are the item indices)."""
    return [xb for xb, _ in DataLoader(squares_dataset(n), **options)]


def seeded(n, bs, seed, **options):
    return dealt(n, batch_size=bs, shuffle=True, generator=torch.Generator().manual_seed(seed), **options)


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def unshuffled_repeats(case):
    n, bs = case
    loader = DataLoader(squares_dataset(n), batch_size=bs)
    return same([xb for xb, _ in loader], [xb for xb, _ in loader])


def last_holds_the_rest(case):
    n, bs = case
    sizes = [len(b) for b in dealt(n, batch_size=bs)]
    return len(sizes) == -(-n // bs) and sizes[-1] == n - (len(sizes) - 1) * bs


def a_permutation(case):
    n, bs, seed = case
    return torch.equal(torch.cat(seeded(n, bs, seed)).sort().values, torch.arange(n))


def repeatable(seed):
    return same(seeded(10, 4, seed), seeded(10, 4, seed))


def leaves_global_rng(seed):
    before = torch.get_rng_state()
    seeded(10, 4, seed)
    return torch.equal(before, torch.get_rng_state())


def drops_the_rest(case):
    n, bs, seed = case
    batches = seeded(n, bs, seed, drop_last=True)
    loader = DataLoader(squares_dataset(n), batch_size=bs, drop_last=True)
    return len(batches) == n // bs == len(loader) and all(len(b) == bs for b in batches)


def stacks_pairs(loader, bs):
    xb, yb = next(iter(loader))
    return xb.shape == (bs,) and torch.equal(yb, xb**2)


def batch_norm_refuses_one(features):
    error = capture_error(lambda: nn.BatchNorm1d(features)(torch.randn(1, features)))
    return error.startswith("ValueError: Expected more than 1 value per channel when training") and not \
        capture_error(lambda: nn.BatchNorm1d(features).eval()(torch.randn(1, features)))


def padded_to_longest(pad, lens):
    mask = torch.arange(pad.shape[1]) < lens[:, None]
    return pad.shape == (len(lens), int(lens.max())) and bool((pad[~mask] == 0).all())


def sits_out_next(loader, order):
    """The items left out this epoch (not in `order`) differ from those the loader's next epoch leaves out."""
    def left_out(o):
        return set(range(10)) - set(o.tolist())

    return left_out(order) != left_out(torch.cat([xb for xb, _ in loader]))


class Indexed(Dataset):
    """Item i is i: the batches a loader yields are the indices it dealt."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return i


class Noisy(Dataset):
    """Each item a fresh random number: an augmentation at its simplest."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.rand(())


def worker_noise(seed):
    def run(workers):
        g = torch.Generator().manual_seed(seed)
        return torch.cat(list(DataLoader(Noisy(), batch_size=4, shuffle=True, generator=g, num_workers=workers)))

    torch.manual_seed(seed)
    single = run(0)
    first, second = run(2), run(2)
    return torch.equal(first, second) and not torch.equal(first, single)


def same_with_workers(seed):
    def run(workers):
        g = torch.Generator().manual_seed(seed)
        return list(DataLoader(Indexed(), batch_size=4, shuffle=True, generator=g, num_workers=workers))

    return same(run(0), run(2))


def fresh_workers_refuse(cls, method):
    """A worker started by spawn or forkserver gets the dataset pickled: a class it cannot import fails."""
    error = capture_error(lambda: list(DataLoader(cls(), batch_size=4, num_workers=1, multiprocessing_context=method)))
    return "Can't pickle" in error or "Can't get attribute" in error


# --- beats ------------------------------------------------------------------------------------------------


@lesson.beat(
    "Feeding the beast",
    narration="""Apprentices, a monster is only as strong as what it eats, and today we build its feeding
    machinery. | First a Dataset of our own, | then a loader that deals it into shuffled, repeatable batches, |
    the short batch at the end, and how to drop it, | padding for ragged samples, | and background workers
    with fresh augmentations served as every item is loaded.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "A custom Dataset",
    narration="""A map-style Dataset is a class with two methods: len, how many items there are, and get item,
    one item by its index. | It holds
    {{ inputs.numel }} inputs, | and each target is the square of its input, computed only when that item
    is asked for. For tensors already in memory, torch's TensorDataset gives exactly these pairs, ready
    made.""",
    visual=Show("inputs", "targets"),
    slide=["Subclass `torch.utils.data.Dataset`", "`__len__`: how many items", "`__getitem__(i)`: item i",
           "`TensorDataset(x, y)`: the ready-made kind"],
)
def custom_dataset(device):
    class Squares(Dataset):
        def __init__(self, n):
            self.x = torch.arange(n)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.x[i] ** 2

    ds = Squares(6)
    inputs = torch.stack([ds[i][0] for i in range(len(ds))])
    targets = torch.stack([ds[i][1] for i in range(len(ds))])
    ready = TensorDataset(inputs, targets)
    expect(len(ds) == 6 and ds[3][0] == 3 and ds[3][1] == 9, "item 3 is (3, 9)")
    expect(all(torch.equal(torch.stack(ready[i]), torch.stack(ds[i])) for i in range(len(ds))),
           "TensorDataset(inputs, targets) gives the same pairs")
    expect(len(DataLoader(ds, batch_size=2)) == 3, "a DataLoader takes it as it is")
    return {"inputs": inputs, "targets": targets}


@lesson.beat(
    "Batching",
    narration="""Now hand a TensorDataset of {{ squares.numel }} squares to a DataLoader with batch size
    {{ batch_size }}. Each card is a target, its index above. | The loader takes the first
    {{ batch_size }} indices, fetches each item, and the default collate function stacks their inputs into
    one tensor and their targets into another. | The next {{ batch_size }} follow, in order. | The last batch gets
    only the {{ sizes[-1] }} items
    left over: a short batch, not an error. Without shuffling, every epoch deals exactly these batches.""",
    visual=Loader("squares", "order", "sizes"),
    slide=["`DataLoader(ds, batch_size=4)`", "Default collate stacks items into tensors",
           "The last batch holds what is left"],
)
def batching(device):
    x = torch.arange(10)
    squares = x**2
    ds = TensorDataset(x, squares)
    loader = DataLoader(ds, batch_size=4)
    batches = [xb for xb, yb in loader]
    order = torch.cat(batches)
    sizes = torch.tensor([len(b) for b in batches])
    expect(stacks_pairs(loader, 4), "a batch stacks 4 inputs and their 4 targets")
    expect(torch.equal(order, torch.arange(10)), "without shuffle the items come in order")
    expect(same(batches, [b for b, _ in loader]), "every epoch deals the same batches")
    expect_each([(10, 4), (7, 3), (12, 5)], unshuffled_repeats, "without shuffle, every epoch deals the same batches")
    expect_each([(10, 4), (10, 3), (7, 7), (5, 8), (12, 5)], last_holds_the_rest,
                "the last batch holds the remainder")
    return {"squares": squares, "order": order, "sizes": sizes, "batch_size": 4}


@lesson.beat(
    "Shuffling with a seeded generator",
    narration="""Data stored sorted, say by label, would deal lopsided batches.
    Shuffle equals True deals
    a new permutation each epoch, and a generator seeded with {{ seed }} makes it repeatable. | The first
    batch picks items from all over the dataset. | Then the next {{ sizes[1] }}. | And the last
    {{ sizes[-1] }}: every item exactly once. The same seed deals these batches again, run after run, without
    touching torch's global random state. The next epoch, the generator moves on to a new order.""",
    visual=Loader("squares", "order", "sizes"),
    slide=["`g = torch.Generator().manual_seed(7)`", "`DataLoader(ds, 4, shuffle=True, generator=g)`",
           "A new permutation each epoch, the same each run"],
)
def shuffling(device):
    x = torch.arange(10)
    squares = x**2
    ds = TensorDataset(x, squares)
    g = torch.Generator().manual_seed(7)
    loader = DataLoader(ds, batch_size=4,
                        shuffle=True, generator=g)
    batches = [xb for xb, yb in loader]
    order = torch.cat(batches)
    sizes = torch.tensor([len(b) for b in batches])
    expect_each([(10, 4, s) for s in range(4)] + [(7, 3, 1), (16, 5, 2)], a_permutation,
                "every item exactly once per epoch")
    expect_each(range(5), repeatable, "the same seed deals the same batches")
    expect_each(range(3), leaves_global_rng, "a loader with its own generator leaves the global RNG alone")
    expect(not torch.equal(torch.cat([xb for xb, _ in loader]), order), "the next epoch's order differs")
    return {"squares": squares, "order": order, "sizes": sizes, "seed": 7}


@lesson.beat(
    "drop_last",
    narration="""Sometimes a short batch is unwelcome: batch norm refuses a single feature vector while training, and
    some models want every batch the same shape. Drop last equals True throws the short batch away. | With the
    same seed, the first batch. | The second. | The left-over items sit out this epoch. With
    shuffling, the next epoch deals a new order, and here other items sit out instead.""",
    visual=Loader("squares", "order", "sizes"),
    slide=["`DataLoader(..., drop_last=True)`", "Only full batches: `len(loader) == n // batch_size`",
           "Shuffled, a different remainder sits out"],
)
def drop_last(device):
    x = torch.arange(10)
    squares = x**2
    ds = TensorDataset(x, squares)
    g = torch.Generator().manual_seed(7)
    loader = DataLoader(ds, batch_size=4,
                        shuffle=True, generator=g,
                        drop_last=True)
    batches = [xb for xb, yb in loader]
    order = torch.cat(batches)
    sizes = torch.tensor([len(b) for b in batches])
    expect_each([(10, 4, 0), (10, 3, 1), (9, 3, 2), (7, 8, 3), (13, 5, 4)], drops_the_rest,
                "drop_last keeps only full batches: n // batch_size of them")
    expect_each([1, 2, 16], batch_norm_refuses_one, "batch norm refuses a single feature vector while training")
    expect(sits_out_next(loader, order), "the next epoch, other items sit out")
    return {"squares": squares, "order": order, "sizes": sizes}


@lesson.beat(
    "collate_fn with padding",
    narration="""Real data is ragged: sentences come in different lengths, and the default collate function
    stacks, which needs equal sizes. Here a plain list of tensors is the dataset, and the loader gets a collate
    function of our own. | Pad
    sequence fills each sequence with zeros up to the longest in its batch. | Our function also
    returns the true lengths, {{ lengths }}, so the model can mask the padding out. | The default collate instead
    stops with torch's complaint: stack expects each tensor to be equal size.""",
    visual=Show("padded", "lengths", error="error"),
    slide=["`collate_fn(batch)`: a list of items -> a batch", "`pad_sequence(batch, batch_first=True)`",
           "Return the lengths too, for the mask"],
)
def collate_padding(device):
    seqs = [torch.tensor([5, 2, 7]), torch.tensor([4, 1]),
            torch.tensor([9, 3, 8, 6]), torch.tensor([2])]

    def pad_batch(batch):
        lengths = torch.tensor([len(s) for s in batch])
        return pad_sequence(batch, batch_first=True), lengths

    loader = DataLoader(seqs, batch_size=3, collate_fn=pad_batch)
    padded, lengths = next(iter(loader))
    error = capture_error(lambda: next(iter(DataLoader(seqs, batch_size=3))))
    expect(error.startswith("RuntimeError: stack expects each tensor to be equal size"),
           "the default collate cannot stack ragged items")
    expect(all(padded_to_longest(pad, lens) for pad, lens in loader),
           "each batch is padded with zeros to its own longest")
    expect(all(torch.equal(padded[k, : lengths[k]], seqs[k]) for k in range(3)), "each row starts with its sequence")
    return {"padded": padded, "lengths": lengths, "error": error}


@lesson.beat(
    "num_workers",
    narration="""Num workers equals {{ workers }} starts {{ workers }} worker processes, each building whole
    batches; get worker info gives each worker its number. On macOS, Windows and Python three fourteen, workers
    start fresh:
    keep the Dataset class in an imported file, not a notebook cell. | The order is
    the one seed {{ seed }} dealt in one process: workers change the speed, not the batches. | Each batch came
    from worker {{ worker }}: they take turns. Random augmentations use each worker's own seed: they differ
    from one process, yet repeat with the same seed.""",
    visual=Show("order", "worker"),
    slide=["`DataLoader(..., num_workers=2)`: worker processes", "Each worker builds whole batches, in turn",
           "Same seed, same batches as `num_workers=0`", "Spawned workers: the Dataset class in a .py file"],
)
def workers(device):
    class WhoLoads(Dataset):
        # macOS/Windows: define it in a .py file
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return i, get_worker_info().id

    g = torch.Generator().manual_seed(7)
    loader = DataLoader(WhoLoads(), batch_size=4,
                        shuffle=True, generator=g,
                        num_workers=2)
    batches = list(loader)
    order = torch.cat([i for i, w in batches])
    worker = torch.stack([w[0] for i, w in batches])
    expect(all(bool((w == w[0]).all()) for _, w in batches), "each worker builds whole batches")
    expect(torch.equal(worker, torch.arange(len(batches)) % 2), "the workers take turns")
    expect(torch.equal(order, torch.cat(seeded(10, 4, 7))), "the same order as a single process")
    expect_each(range(3), same_with_workers, "the same seed deals the same batches with 0 or 2 workers")
    expect(get_worker_info() is None, "in the main process get_worker_info() is None")
    expect_each(range(2), worker_noise, "random draws in workers differ from one process, but repeat with the seed")
    expect_each(["spawn", "forkserver"], lambda method: fresh_workers_refuse(WhoLoads, method),
                "workers started fresh cannot receive a class they cannot import")
    return {"order": order, "worker": worker, "workers": 2, "seed": 7}


@lesson.beat(
    "A transform pipeline",
    narration="""Augmentation serves the beast new variants of each item. Our pipeline is a list of small
    functions, and the dataset's get item applies them in turn: a random flip, a pinch of noise, then
    normalising. | The stored signal. | Ask for the first item, and the pipeline runs. | Ask again: a
    different variant, still with mean zero and spread one, while the stored signal never changes. Each epoch,
    the monster tastes fresh data.""",
    visual=Show("signal", "first", "again"),
    slide=["Transforms run inside `__getitem__`", "Random ones: a new variant every load",
           "The stored data never changes"],
)
def transforms(device):
    pipeline = [
        lambda s: s.flip(0) if torch.rand(()) < 0.5 else s,
        lambda s: s + 0.1 * torch.randn(s.shape),
        lambda s: (s - s.mean()) / s.std(),
    ]

    class Signals(TensorDataset):
        def __getitem__(self, i):
            (s,) = super().__getitem__(i)
            for step in pipeline:
                s = step(s)
            return s

    signal = torch.tensor([0.0, 1.0, 3.0, 2.0, 5.0])
    ds = Signals(signal[None])
    first = ds[0]
    again = ds[0]
    expect(not torch.equal(first, again), "a different variant each time")
    expect(torch.equal(ds.tensors[0][0], torch.tensor([0.0, 1.0, 3.0, 2.0, 5.0])), "the stored signal never changes")
    expect_each(range(5), lambda _: torch.allclose(ds[0].mean(), torch.tensor(0.0), atol=1e-6)
                and torch.allclose(ds[0].std(), torch.tensor(1.0)), "each variant has mean 0 and std 1")
    return {"signal": signal, "first": first, "again": again}


@lesson.beat(
    "The beast eats",
    narration="""Now feed the beast for real: a linear model learns a noisy straight line, one optimiser step
    per batch, the shuffled loader dealing a new order every epoch. | Over the epochs the mean loss falls,
    down to {{ loss[-1] }}. The loader did all the dealing; the training loop only asked
    for the next batch.""",
    visual=Curve("epoch", "loss"),
    slide=["`for xb, yb in loader:` one step per batch", "A new shuffle each epoch", "The loss falls"],
)
def training(device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, generator=g) * 2 - 1
    y = 3 * x + 1 + 0.1 * torch.randn(64, 1, generator=g)
    loader = DataLoader(TensorDataset(x, y), batch_size=16,
                        shuffle=True, generator=g)
    model = nn.Linear(1, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    losses = []
    for _ in range(12):
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.mse_loss(model(xb.to(device)), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / len(x))
    loss = torch.tensor(losses)
    expect(loss[-1] < loss[0] / 10, "the loss falls tenfold")
    expect(len(loader) == 4, "four steps per epoch")
    expect(abs(model.weight.item() - 3) < 0.2 and abs(model.bias.item() - 1) < 0.2, "it finds w and b")
    return {"epoch": torch.arange(1, 13), "loss": loss}


@lesson.beat(
    "Recap",
    narration="""Let us recap the feeding machinery, apprentices. | A Dataset needs only len and get item, |
    a DataLoader stacks batch size items into each batch, | shuffling with a seeded generator is new every
    epoch yet repeatable, | drop last throws the short batch away, | a collate function pads ragged items and
    returns their lengths, | worker processes load in parallel, in the very same order, | and random
    transforms in get item serve a fresh variant at every load.""",
    visual=Title(heading="Recap", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect(len(DataLoader(squares_dataset(10), batch_size=4, drop_last=True)) == 2, "drop_last: only full batches")
    return {}


@lesson.beat(
    "Challenge",
    narration="""Now, apprentice, your challenge. | Build a Dataset of {{ count }} ragged sequences, of lengths
    {{ lengths }}. Load it shuffled with a seeded generator and a padding collate function, print each batch's
    shape, and prove that a second loader with the same seed deals the same batches. Feed the beast well!""",
    visual=Title(heading="Challenge", lines=[lesson.challenge]),
    slide=["Four ragged sequences: lengths 3, 1, 4 and 2", "`batch_size=2`, `shuffle=True`, a seeded generator",
           "A padding `collate_fn`; print each batch's shape", "A second loader, same seed: the same batches?"],
)
def challenge(device):
    seqs = [torch.arange(n) for n in (3, 1, 4, 2)]

    def pad_batch(batch):
        return pad_sequence(batch, batch_first=True)

    def run():
        g = torch.Generator().manual_seed(0)
        return list(DataLoader(seqs, batch_size=2, shuffle=True, generator=g, collate_fn=pad_batch))

    expect(same(run(), run()), "the same seed deals the same padded batches")
    return {"count": len(seqs), "lengths": [len(s) for s in seqs]}
