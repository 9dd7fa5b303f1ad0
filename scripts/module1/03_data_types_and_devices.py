"""1.1.4 DTypes & Devices: Choose Your Weapons. What each dtype can hold and where it loses, and how to
pick a device, move tensors there, and measure what it buys (a real timing, only when a GPU is present)."""

import time

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import BitFields, DeviceMove, Show, Title

lesson = Lesson(
    objectives=[
        "The default dtypes: int64, float32, bool",
        "float32, float16, bfloat16: range against precision",
        "Integers and bools: what they hold, how they break",
        "Convert dtypes and count the memory saved",
        "Devices: cpu, cuda, mps; move tensors; pick the best",
    ],
    recap=[
        "Integers default to int64, decimals to float32",
        "float16 overflows early; bfloat16 keeps range, loses digits",
        "Small ints wrap, int casts truncate, nonzero is True",
        "`.to(torch.bfloat16)` halves a float32 tensor's memory",
        "`.to(device)` copies across; pick cuda, mps, then cpu",
    ],
    challenge="Write a function best_device() that returns cuda, mps or cpu. Then time a large matrix "
    "product in float32 and in bfloat16 on it, and explain any difference you see.",
)


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def time_ms(fn, device, repeats=5):
    """Wall times of `repeats` calls of `fn` in milliseconds, after a warm-up call, each waiting for the device
    to finish."""
    fn()
    synchronize(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        runs.append((time.perf_counter() - start) * 1000)
    return runs


def median(runs):
    """The middle one of an odd number of timings."""
    return sorted(runs)[len(runs) // 2]


def race(n, runs, device):
    """The timing beat's figures (each device's median run, rounded once), its claims about them checked."""
    cpu_ms = round(median(runs[0]), 1)
    gpu_ms = round(median(runs[1]), 2) if len(runs) > 1 else None
    expect((gpu_ms is not None) == (device != "cpu"), "a GPU figure exactly when a GPU ran, none invented")
    if gpu_ms is not None:
        expect(tiny_copy_loses(device), "a tiny product gains nothing from the trip to the GPU")
    timings = torch.tensor([t for t in (cpu_ms, gpu_ms) if t is not None])
    return {"n": n, "cpu_ms": cpu_ms, "gpu_ms": gpu_ms, "runs": torch.tensor(runs), "timings": timings}


def tiny_copy_loses(device):
    """An 8x8 product on the CPU against copying it to `device`, multiplying there and copying back."""
    tiny = torch.randn(8, 8)
    here = median(time_ms(lambda: tiny @ tiny, "cpu"))
    there = median(time_ms(lambda: (tiny.to(device) @ tiny.to(device)).cpu(), device))
    return there > here



@lesson.beat(
    "What you will learn",
    narration="""Every archmage chooses spell components with care, and so shall you. | We meet the default
    dtypes torch picks for you. | We pit float32, float16 and bfloat16 against each other, range against
    precision. | We see what integers and booleans can hold, and how they break. | We convert, and count the
    memory saved. | And we choose a device, move tensors onto it, and time the difference.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The default dtypes",
    narration="""torch reads your data and picks a dtype. | Whole numbers become {{ ints.dtype }}. |
    Decimals become {{ floats.dtype }}, torch's default float. | Truth values become {{ flags.dtype }}. | Add a
    float to the integers and the result takes the float's dtype, here {{ mixed.dtype }}; a float64 or a
    float16 operand would make it float64 or float16 instead. | Now cast the sum back to whole numbers and look
    at the last cell: {{ ints.values[1] }} plus {{ floats.values[0] }} came back as {{ back.values[1] }}.
    float32 cannot hold every whole number that large, so the promotion rounded without a word.""",
    visual=Show("ints", "floats", "flags", "mixed", "back", digits=1),
    slide=["Integers: `int64`", "Decimals: `float32`", "Comparisons and flags: `bool`",
           "int + float takes the float's dtype; float32 may round"],
)
def defaults(device):
    ints = torch.tensor([1, 16777217], device=device)
    floats = torch.tensor([0.5, 1.5], device=device)
    flags = torch.tensor([True, False], device=device)
    mixed = ints + floats[0]
    expect(mixed.dtype == torch.float32, "promoted")
    expect_each([torch.float16, torch.bfloat16, torch.float32, torch.float64],
                lambda d: (ints + torch.tensor(0.5, dtype=d, device=device)).dtype == d
                and (ints + torch.tensor([0.5, 1.5], dtype=d, device=device)).dtype == d,
                "int + float takes the float's dtype, whichever float it is")
    back = mixed.to(torch.int64)
    expect(back[1] != ints[1], "rounded")
    return {"ints": ints, "floats": floats,
            "flags": flags, "mixed": mixed, "back": back}


@lesson.beat(
    "Three ways to store a float",
    narration="""Let us dissect one humble number in three formats. | float32 spends its bits on a wide
    exponent and a long mantissa, and comes closest: {{ f32_text }}. | float16 has half the bits and lands on
    {{ f16_text }}: the error already shows in the fifth decimal. | bfloat16 keeps float32's exponent but
    only a stub of mantissa, and lands on {{ bf16_text }}, further off still. | The exponent buys range, the
    mantissa buys precision.""",
    visual=BitFields("f32", "f16", "bf16"),
    slide=["Sign, exponent (range), mantissa (precision)", "`float16`: short exponent",
           "`bfloat16`: float32's exponent, short mantissa"],
)
def float_bits(device):
    f32 = torch.tensor([0.1], device=device)
    f16 = f32.to(torch.float16)
    bf16 = f32.to(torch.bfloat16)
    err16, err_bf = (abs(t.item() - 0.1) for t in (f16, bf16))
    expect(1e-5 <= err16 < 1e-4, "float16's error on 0.1 is in the fifth decimal")
    expect(err_bf > err16, "bfloat16 is further off")
    f32_info, bf16_info = torch.finfo(torch.float32), torch.finfo(torch.bfloat16)
    expect(bf16_info.smallest_normal == f32_info.smallest_normal, "bfloat16 keeps float32's exponent range")
    expect(bf16_info.bits == 16 and torch.finfo(torch.float16).bits == 16, "half the bits")
    return {"f32": f32, "f16": f16, "bf16": bf16,
            "f32_text": f"{f32.item():.5f}",
            "f16_text": f"{f16.item():.5f}",
            "bf16_text": f"{bf16.item():.5f}"}


@lesson.beat(
    "Where the small floats lose",
    narration="""Now we push them to breaking point. | Here are {{ big.values }}, safe in float32. | float16
    holds nothing above {{ f16_max }}: the first fits exactly, the second becomes infinity. Disaster! |
    bfloat16 survives both, but rounds them to {{ bigbf.values }}. | And its coarse mantissa turns
    {{ texts[0] }} into {{ texts[1] }}. So float16 overflows while bfloat16 blurs: train in bfloat16 when you
    can, and watch float16 for infinities.""",
    visual=Show("big", "big16", "bigbf", "smallbf"),
    slide=["`float16`: overflows to inf early", "`bfloat16`: huge range, few digits",
           "`torch.finfo(dtype)` tells the limits"],
)
def float_limits(device):
    big = torch.tensor([65504.0, 70000.0], device=device)
    big16, bigbf = big.half(), big.bfloat16()
    f16_max = int(torch.finfo(torch.float16).max)
    expect(big16[0] == f16_max and big16[1].isinf(), "the largest float16 fits exactly; the next overflows")
    expect_each([65520.0, 70000.0, 1e6, 3e38],
                lambda v: torch.tensor(v).half().isinf() and torch.tensor(v).bfloat16().isfinite(),
                "float16 overflows where bfloat16 survives")
    expect(bigbf.isfinite().all() and not torch.equal(bigbf.float(), big), "bfloat16 survives, rounded")
    small = torch.tensor([1.001], device=device)
    smallbf = small.bfloat16()
    texts = [f"{t.item():.3f}" for t in (small, smallbf)]
    return {"big": big, "big16": big16, "bigbf": bigbf,
            "smallbf": smallbf, "f16_max": f16_max,
            "texts": texts}


@lesson.beat(
    "Integers",
    narration="""Integers are exact, until they are not. | An int8 holds at most {{ top.item }}. | Add one
    more and it wraps around to {{ wrapped.item }}, without a word of warning. | Now cast the decimals
    {{ decimals.values }} to a signed integer type. | The cast neither rounds nor floors: it truncates toward
    zero, giving {{ truncated.values }}. Unsigned types such as uint8 hold no negatives at all, so keep
    negative values away from them.""",
    visual=Show("top", "wrapped", "decimals", "truncated"),
    slide=["`int8` wraps silently past its maximum", "float to signed int truncates toward zero",
           "`torch.iinfo(dtype)` tells the limits"],
)
def integers(device):
    int8 = torch.iinfo(torch.int8)
    top = torch.tensor([int8.max], dtype=torch.int8, device=device)
    wrapped = top + 1
    expect(wrapped == int8.min, "it wraps to the minimum")
    expect_each([torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8],
                lambda d: (torch.tensor([torch.iinfo(d).max], dtype=d, device=device) + 1) == torch.iinfo(d).min,
                "every integer type wraps past its maximum, silently")
    decimals = torch.tensor([2.7, -2.7], device=device)
    truncated = decimals.to(torch.int64)
    expect((truncated == decimals.trunc()).all(), "toward zero")
    expect_each([(f, i) for f in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
                 for i in (torch.int8, torch.int16, torch.int32, torch.int64)],
                lambda c: (lambda x: torch.equal(x.to(c[1]).double(), x.trunc().double()))(
                    torch.tensor([2.7, -2.7, 0.5, -0.5, 99.9, -99.9], dtype=c[0], device=device)),
                "casting in-range floats to a signed integer type truncates toward zero")
    expect(torch.iinfo(torch.uint8).min == 0 and decimals.to(torch.uint8)[1] != truncated[1],
           "uint8 holds no negatives: -2.7 does not become -2")
    return {"top": top, "wrapped": wrapped,
            "decimals": decimals, "truncated": truncated}


@lesson.beat(
    "Booleans",
    narration="""And bool keeps only truth. | Take these numbers: {{ raw.values }}. | Cast them to bool and
    every nonzero value becomes True, the half and the negative too; only the zero stays False. | Each flag
    costs {{ size }} byte, and summing flags counts the True ones: {{ count.item }}.""",
    visual=Show("raw", "flags", "count"),
    slide=["Any nonzero becomes `True`", "One byte per flag", "`flags.sum()` counts the True ones"],
)
def booleans(device):
    raw = torch.tensor([0.0, 0.5, -3.0, 2.0], device=device)
    flags = raw.to(torch.bool)
    expect(torch.equal(flags, raw != 0), "nonzero is True")
    expect_each([torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.int64],
                lambda d: (lambda r: torch.equal(r.to(torch.bool), r != 0))(
                    torch.tensor([0, 1, -3, 2, 0], device=device).to(d) / (2 if d.is_floating_point else 1)),
                "in every dtype, exactly the nonzero values become True")
    count = flags.sum()
    expect(count == (raw != 0).sum(), "the sum counts them")
    return {"raw": raw, "flags": flags, "count": count,
            "size": flags.element_size()}


@lesson.beat(
    "Converting an embedding table",
    narration="""A real weapon: an embedding table, one vector per word. | Here is a small one in float32,
    {{ table.shape }}. | Convert it with to bfloat16, and the values move only a little, as the two grids
    show. | But each number shrinks from {{ footprint[0][0] }} bytes to {{ footprint[1][0] }}: for a
    vocabulary of {{ vocab }} words and width {{ width }}, that is {{ footprint[0][1] }} megabytes in
    float32 against {{ footprint[1][1] }} in bfloat16. Mwahaha, half the memory!""",
    visual=Show("table", "bf16", "footprint"),
    slide=["`t.to(torch.bfloat16)` or `t.bfloat16()`", "`t.half()` is float16, not bfloat16",
           "16-bit: half the bytes per number", "Pick the dtype at creation with `dtype=`"],
)
def converting(device):
    table = torch.randn(2, 4, device=device)
    bf16 = table.to(torch.bfloat16)
    expect(((bf16 - table) / table).abs().max() < 0.01, "values move a little")
    vocab, width = 50257, 768
    nbytes = torch.tensor([t.element_size() for t in (table, bf16)])
    footprint = torch.stack([nbytes, nbytes * vocab * width // 10**6], dim=1)
    expect(nbytes[1] * 2 == nbytes[0], "half the bytes")
    return {"table": table, "bf16": bf16, "footprint": footprint, "vocab": vocab, "width": width}


@lesson.beat(
    "Choosing and moving devices",
    narration="""Now, where shall the arithmetic happen? We ask torch for the best device: cuda on NVIDIA
    cards, mps on Apple silicon, else the cpu. {% if best == "cpu" %}This machine has no GPU, so torch answers
    cpu{% else %}Here torch answers {{ best }}{% endif %}{% if best != device %}, though this render was told to
    use {{ device }}{% endif %}. {% if mix_error %}| The to method copies our tensor from {{ x.device }} to
    {{ moved.device }}. Mix the two in one operation and torch refuses with an error.{% else %}| Asked to move
    our tensor to {{ moved.device }}, where it already lives, the to method hands back the very same tensor,
    with no copy at all. On a machine with a GPU, the same call would copy it into the GPU's memory.{% endif %}""",
    visual=DeviceMove("x", "moved"),
    slide=["`torch.cuda.is_available()`", "`torch.backends.mps.is_available()`",
           "`t.to(device)` copies across devices", "Keep an operation's tensors on one device"],
)
def devices(device):
    if torch.cuda.is_available():
        best = "cuda"
    elif torch.backends.mps.is_available():
        best = "mps"
    else:
        best = "cpu"
    x = torch.arange(4)
    moved = x.to(best)
    mix_error = ""
    if moved.device != x.device:
        mix_error = capture_error(lambda: x + moved)
        expect(mix_error != "", "tensors on two devices do not mix")
        expect(moved.data_ptr() != x.data_ptr(), "to copies across devices")
    else:
        expect(moved is x, "to the same device: the very same tensor")
    return {"x": x, "moved": moved, "best": best, "mix_error": mix_error}


@lesson.beat(
    "CPU against GPU",
    narration="""The decisive experiment: the same {{ n }} by {{ n }} matrix product, timed several times
    after a warm-up, on every device this machine has. {% if gpu_ms %}| The first row is the cpu, whose middle
    run takes {{ cpu_ms }} milliseconds; the second is the GPU, whose middle run takes {{ gpu_ms }}
    milliseconds, {% if gpu_ms < cpu_ms %}faster{% else %}slower{% endif %} here. | Small tensors gain nothing, though:
    copying them across costs more than it saves.{% else %}| This machine has no GPU, so there is a single
    row: the cpu's runs, the middle one {{ cpu_ms }} milliseconds. | With no GPU here there is nothing to
    compare, and we will not invent a figure. Run this lesson on a machine with cuda or mps and this beat
    measures both.{% endif %}""",
    visual=Show("runs", caption="milliseconds per run, one row per device that ran"),
    slide=["Time several runs after a warm-up; take the middle", "On a GPU, synchronize before reading the clock",
           "A GPU figure only where a GPU ran"],
)
def timing(device):
    n = 1024
    a = torch.randn(n, n)
    runs = [time_ms(lambda: a @ a, "cpu")]
    if device != "cpu":
        g = a.to(device)
        runs.append(time_ms(lambda: g @ g, device))
    return race(n, runs, device)


@lesson.beat(
    "Recap",
    narration="""Your arsenal is assembled! | Integers default to int64 and decimals to float32. | float16
    overflows early, while bfloat16 keeps the range and sacrifices digits. | Small integers wrap, casts
    truncate, and any nonzero value is True. | Converting float32 to bfloat16 or float16 halves the memory. |
    And the to method copies tensors across devices; pick cuda first, then mps, then the cpu.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect(torch.tensor([1]).dtype == torch.int64 and torch.tensor([1.0]).dtype == torch.float32, "defaults")
    f16, bf16 = torch.finfo(torch.float16), torch.finfo(torch.bfloat16)
    expect(f16.max < bf16.max and f16.eps < bf16.eps, "bfloat16: more range, fewer digits")
    x = torch.ones(4, device=device)
    expect(x.to(torch.bfloat16).element_size() * 2 == x.element_size(), "16-bit halves the memory")
    expect(x.to(torch.float16).element_size() * 2 == x.element_size(), "for float16 too")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your final trial, apprentice. | Write a function called best device that returns cuda, mps or
    cpu, whichever your machine offers first. Then time a large matrix product on that device, once in float32
    and once in bfloat16. Remember to synchronize before you stop the clock! Explain the difference, and then,
    only then, may you cackle.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Write `best_device()`: cuda, mps or cpu", "Time a big matmul in float32 and bfloat16",
           "Synchronize before you stop the clock"],
)
def challenge(device):
    a = torch.randn(8, 8, device=device, dtype=torch.bfloat16)
    expect(capture_error(lambda: a @ a) == "", "bfloat16 products run on this device")
    return {}
