"""Gallery: the number-type ladder (DtypeLadder), every rung read from torch.finfo, torch.iinfo and
element_size()."""

import torch

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import DtypeLadder

lesson = Lesson(
    objectives=["See the number-type ladder once"],
    recap=["Every byte count, limit and step on screen came from torch"],
    seed=35,
)


def ladder(dtypes):
    """Bytes per element, largest finite value, smallest positive normal value (1 for integers) and the step
    from 1 to the next value, one entry per dtype, as float64 tensors."""
    infos = [torch.finfo(d) if d.is_floating_point else torch.iinfo(d) for d in dtypes]
    nbytes = torch.tensor([torch.empty(0, dtype=d).element_size() for d in dtypes])
    largest = torch.tensor([float(i.max) for i in infos], dtype=torch.float64)
    smallest = torch.tensor([i.tiny if isinstance(i, torch.finfo) else 1.0 for i in infos], dtype=torch.float64)
    step = torch.tensor([i.eps if isinstance(i, torch.finfo) else 1.0 for i in infos], dtype=torch.float64)
    return {"dtypes": dtypes, "bytes": nbytes, "largest": largest, "smallest": smallest, "step": step}


def next_after_one(dtype):
    """The gap between 1 and the next value the dtype holds, computed in that dtype."""
    one = torch.ones((), dtype=dtype)
    return (torch.nextafter(one, torch.tensor(2.0, dtype=dtype)) - one).double().item()


@lesson.beat(
    "DtypeLadder: four number types",
    narration="Each rung is a number type. | float32 takes four bytes. | float16 takes two, and tops out low."
    " | bfloat16 takes two, with float32's range. | int8 takes one byte, and holds only whole numbers."
    " | The two half-size floats trade range for precision.",
    visual=DtypeLadder("bytes", "largest", "smallest", "step", highlight=["float16", "bfloat16"]),
)
def dtype_ladder_four(device):
    out = ladder([torch.float32, torch.float16, torch.bfloat16, torch.int8])
    expect_each([torch.float32, torch.float16, torch.bfloat16], lambda d: next_after_one(d) == torch.finfo(d).eps,
                "eps is the gap between 1 and the next value")
    expect(out["largest"][2] > 1e38 and out["largest"][1] < 1e5, "bfloat16 reaches float32's range, float16 does not")
    expect(out["step"][2] > out["step"][1], "bfloat16 steps coarser than float16")
    return out


@lesson.beat(
    "DtypeLadder: wide and tiny floats",
    narration="The frame. | float64 takes eight bytes. | float32 takes four. | float8 e4m3 takes one byte."
    " | float8 e5m2 trades a mantissa bit for range.",
    visual=DtypeLadder("bytes", "largest", "smallest", "step"),
)
def dtype_ladder_wide(device):
    out = ladder([torch.float64, torch.float32, torch.float8_e4m3fn, torch.float8_e5m2])
    expect(out["bytes"].tolist() == [8, 4, 1, 1], "bytes per element from element_size()")
    expect(out["largest"][3] > out["largest"][2], "e5m2 reaches further than e4m3")
    return out
