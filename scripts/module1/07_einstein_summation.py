"""1.3.1 Einstein Summation: Harness the Λ-Power.

The notation, and einsum checked against plain torch calls.
"""

import torch

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Einsum, Title

lesson = Lesson(
    objectives=[
        "Read Einstein notation: one letter per axis",
        "The laws: kept letters stay, missing letters are summed",
        "Write transpose, sums, dot, outer, matmul, bmm in einsum",
        "Check every einsum against the plain torch call",
    ],
    recap=[
        "One letter names each axis of each input",
        "Letters after -> are kept, in that order",
        "Letters missing after -> are summed over",
        "A shared letter pairs axes; kept, it is a batch",
        "One notation for transpose, sums, products, batches",
    ],
    challenge="Multiply each matrix of a stack by its own vector with one einsum, "
    "and check it against torch.bmm on the vectors unsqueezed into columns.",
)

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def agree(equation, plain, *shapes, exact=True):
    """einsum(equation) against the plain torch call on random inputs of `shapes`, for several seeds and every
    float dtype: bit for bit (`exact`), or up to float32 rounding."""
    for seed in range(5):
        gen = torch.Generator().manual_seed(seed)
        for dtype in DTYPES if exact else (torch.float32,):
            inputs = [torch.randn(*shape, generator=gen).to(dtype) for shape in shapes]
            ours, theirs = torch.einsum(equation, *inputs), plain(*inputs)
            if not (torch.equal(ours, theirs) if exact else torch.allclose(ours, theirs, atol=1e-5)):
                return False
    return True


@lesson.beat(
    "Harness the Λ-Power",
    narration="""Apprentices, prepare for a language of pure power, borrowed from Einstein himself! | Einstein
    summation names every axis with a letter, | and its laws say which letters stay and which are summed. |
    Transposes, sums, dot products, outer products, matrix products and batched products all become one
    incantation: torch dot einsum. | And each time, we check the spell against the plain torch call, for
    trust is earned, even by Einstein.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Letters for axes: transpose",
    narration="""Read the equation i j arrow j i. | Left of the arrow, one group of letters per input: `A`'s
    first axis is i, its second is j. | Right of the arrow, the output's axes in the order we want them.
    Every letter survives the arrow, so nothing is summed. | The {{ A.shape }} input becomes {{ T.shape }}:
    each element simply moves, from row i, column j to row j, column i. The result is exactly `A` dot
    T.""",
    visual=Einsum("A", "T", equation="ij->ji", same_as="A.T", same="same"),
    slide=["`torch.einsum('ij->ji', A)` is `A.T`", "One letter per axis", "Output letters set the order"],
)
def transpose(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    T = torch.einsum("ij->ji", A)
    same = torch.equal(T, A.T)
    expect(same, "einsum('ij->ji', A) equals A.T")
    expect_each([(5, 7), (1, 4), (30, 2)], lambda shape: agree("ij->ji", lambda X: X.T, shape),
                "exactly A.T, at other sizes and in every float dtype")
    return {"A": A, "T": T, "same": same}


@lesson.beat(
    "A missing letter is summed",
    narration="""Now the second law: any letter that vanishes after the arrow is summed away. Read i j arrow
    j. | `A` is {{ A.shape }}, with i on its rows and j on its columns. | The letter i disappears, so we sum
    down each column, and j survives. | That leaves {{ col_sums.shape }} numbers. The first: {{ A[0][0] }} plus
    {{ A[1][0] }} is {{ col_sums[0] }}, then {{ col_sums[1] }} and {{ col_sums[2] }}: just what `A` dot sum over
    dim {{ dim }} returns.""",
    visual=Einsum("A", "col_sums", equation="ij->j", same_as="A.sum(dim=0)", same="same"),
    slide=["`'ij->j'`: sum over i, like `A.sum(dim=0)`", "`'ij->'`: sum everything",
           "Missing letters are summed"],
)
def sums(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    dim = 0
    col_sums = torch.einsum("ij->j", A)
    same = torch.equal(col_sums, A.sum(dim=dim))
    expect(same, "einsum('ij->j', A) equals A.sum(dim=0)")
    expect(torch.equal(torch.einsum("ij->", A), A.sum()), "einsum('ij->', A) equals A.sum()")
    expect_each([(17, 23), (2, 50)], lambda shape: agree("ij->j", lambda X: X.sum(dim=0), shape)
                and agree("ij->", lambda X: X.sum(), shape), "the sums agree at other sizes and dtypes")
    return {"A": A, "col_sums": col_sums, "dim": dim, "same": same}


@lesson.beat(
    "Dot product: i,i->",
    narration="""Two inputs now: i comma i arrow nothing. | When the same letter appears in both inputs,
    those axes are paired: each element of u meets the element of v at the same position. | And i vanishes
    from the output, so the products are summed into a single number. | {{ u[0] }} times {{ v[0] }}, plus {{
    u[1] }} times {{ v[1] }}, plus {{ u[2] }} times {{ v[2] }}, gives {{ dot.item }}: the dot product, what
    torch dot dot returns too, up to float rounding.""",
    visual=Einsum("u", "v", "dot", equation="i,i->", same_as="torch.dot(u, v)", same="same"),
    slide=["`'i,i->'`: multiply pairs, then sum", "`torch.dot(u, v)`, up to rounding",
           "A shared letter pairs axes across inputs"],
)
def dot(device):
    u = torch.tensor([1.0, 2.0, 3.0], device=device)
    v = torch.tensor([4.0, 5.0, 6.0], device=device)
    dot = torch.einsum("i,i->", u, v)
    same = torch.equal(dot, torch.dot(u, v))
    expect(same, "einsum('i,i->', u, v) equals torch.dot(u, v)")
    expect_each([(5,), (50,), (1000,)], lambda shape: agree("i,i->", torch.dot, shape, shape, exact=False),
                "on random float vectors, short or long, they agree up to rounding")
    return {"u": u, "v": v, "dot": dot, "same": same}


@lesson.beat(
    "Outer product: i,j->ij",
    narration="""Give the two vectors different letters: i comma j arrow i j. | No letter is shared, so
    nothing is paired. | Both letters survive the arrow, so nothing is summed: every element of u meets
    every element of v. | They fill a {{ outer.shape }} table: the first cell is {{ u[0] }} times {{ v[0] }}, {{
    outer[0][0] }}, and the bottom-right is {{ u[2] }} times {{ v[1] }}, {{ outer[2][1] }}. It equals torch
    dot outer, with no broadcasting tricks needed!""",
    visual=Einsum("u", "v", "outer", equation="i,j->ij", same_as="torch.outer(u, v)", same="same"),
    slide=["`'i,j->ij'`: every pair, nothing summed", "Same as `torch.outer(u, v)`"],
)
def outer(device):
    u = torch.tensor([1.0, 2.0, 3.0], device=device)
    v = torch.tensor([10.0, 20.0], device=device)
    outer = torch.einsum("i,j->ij", u, v)
    same = torch.equal(outer, torch.outer(u, v))
    expect(same, "einsum('i,j->ij', u, v) equals torch.outer(u, v)")
    expect_each([((50,), (31,)), ((1,), (7,))], lambda c: agree("i,j->ij", torch.outer, *c),
                "torch.outer exactly, at other sizes and dtypes")
    return {"u": u, "v": v, "outer": outer, "same": same}


@lesson.beat(
    "Matrix product: ik,kj->ij",
    narration="""Now combine both laws: i k comma k j arrow i j. | The letter k is shared, so `A`'s
    columns pair with B's rows. | And k vanishes, so those products are summed, while i and j survive as the rows
    and columns of the result. | The top-left cell: {{ A[0][0] }} times {{ B[0][0] }}, plus {{ A[0][1] }}
    times {{ B[1][0] }}, plus {{ A[0][2] }} times {{ B[2][0] }}, makes {{ C[0][0] }}. That is `A` at B, up to
    rounding as with the dot product, and the shape rule is right there in the letters.""",
    visual=Einsum("A", "B", "C", equation="ik,kj->ij", same_as="A @ B", same="same"),
    slide=["`'ik,kj->ij'` is `A @ B`, up to rounding", "Shared and missing k: paired and summed",
           "i and j are kept"],
)
def matmul(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    B = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], device=device)
    C = torch.einsum("ik,kj->ij", A, B)
    same = torch.equal(C, A @ B)
    expect(same, "einsum('ik,kj->ij', A, B) equals A @ B")
    expect_each([((17, 23), (23, 9)), ((1, 64), (64, 5)), ((17, 23), (23, 1)), ((1, 1000), (1000, 1))],
                lambda c: agree("ik,kj->ij", torch.matmul, *c, exact=False),
                "A @ B up to rounding at other sizes, one-column B included (not always bit for bit there)")
    return {"A": A, "B": B, "C": C, "same": same}


@lesson.beat(
    "Batched product: bik,bkj->bij",
    narration="""Need a batch? Just add a letter: b i k comma b k j arrow b i j. | b is shared, so each of
    the {{ batch }} matrices in `A` meets its partner in B: shapes {{ A.shape }} and {{ B.shape }}. | b is
    also kept, so it is never summed; only k is. | The result is {{ C.shape }}, and its first cell comes from
    the first pair: {{ A[0][0][0] }} times {{ B[0][0][0] }}, plus {{ A[0][0][1] }} times {{ B[0][1][0] }}, is {{
    C[0][0][0] }}. It equals torch dot bmm, batch after batch. Mwahaha, Einstein would be proud!""",
    visual=Einsum("A", "B", "C", equation="bik,bkj->bij", same_as="torch.bmm(A, B)", same="same"),
    slide=["`'bik,bkj->bij'` is `torch.bmm(A, B)`", "A shared, kept letter is a batch axis"],
)
def batched(device):
    A = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]], device=device)
    B = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], [[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]], device=device)
    batch = A.shape[0]
    C = torch.einsum("bik,bkj->bij", A, B)
    same = torch.equal(C, torch.bmm(A, B))
    expect(same, "einsum('bik,bkj->bij', A, B) equals torch.bmm(A, B)")
    expect_each([((3, 5, 7), (3, 7, 4)), ((1, 2, 30), (1, 30, 2))], lambda c: agree("bik,bkj->bij", torch.bmm, *c),
                "torch.bmm bit for bit, at other sizes and dtypes (on the CPU)")
    return {"A": A, "B": B, "C": C, "batch": batch, "same": same}


@lesson.beat(
    "Why it is powerful",
    narration="""A real case: a search model embeds queries and documents, and scores each query against its
    own document: n d comma n d arrow n. | q holds {{ n }} queries, k their {{ n }} documents, {{ d }}
    features wide. n and d are shared, so query n meets document n, feature by feature. | d vanishes, so
    features are summed; n survives: one score per pair, and no dim number to remember. | The scores are {{
    scores[0] }}, {{ scores[1] }} and {{ scores[2] }}. Attention goes further, pairing every query with every
    key, as the next lesson reveals.""",
    visual=Einsum("q", "k", "scores", equation="nd,nd->n"),
    slide=["`'nd,nd->n'`: row-wise dot products", "`(q * k).sum(dim=1)`, up to rounding",
           "The equation documents every axis"],
)
def powerful(device):
    q = torch.randn(3, 4, device=device)
    k = torch.randn(3, 4, device=device)
    n, d = q.shape
    dim = 1
    scores = torch.einsum("nd,nd->n", q, k)
    expect(torch.allclose(scores, (q * k).sum(dim=dim)), "einsum('nd,nd->n') equals (q * k).sum(dim=1)")
    expect_each([(3, 4), (64, 300)], lambda shape: agree("nd,nd->n", lambda a, b: (a * b).sum(dim=1), shape, shape,
                                                         exact=False), "up to rounding, at other sizes too")
    expect(torch.allclose(torch.einsum("qd,kd->qk", q, k).diagonal(), scores),
           "the row-wise scores are the diagonal of every query against every key")
    return {"q": q, "k": k, "scores": scores, "n": n, "d": d, "dim": dim}


@lesson.beat(
    "Recap and your challenge",
    narration="""Behold your new language! | One letter names each axis. | Letters after the arrow are kept,
    in that order. | Letters missing after the arrow are summed over. | A letter shared across inputs pairs
    those axes, multiplying them, and a shared letter that is kept becomes a batch. | Transpose, sums, dot,
    outer, matrix and batched products: one notation for all. | Your challenge: multiply each matrix of a
    stack by its own vector in one einsum, no unsqueezing needed, and check it against torch dot bmm, which
    needs the vectors unsqueezed into columns.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: a batch of matrix-vector products"],
)
def recap(device):
    expect_each([((4, 5, 6), (4, 6)), ((8, 16, 32), (8, 32))],
                lambda c: agree("bij,bj->bi", lambda A, v: torch.bmm(A, v.unsqueeze(-1)).squeeze(-1), *c),
                "the challenge: einsum and bmm on unsqueezed vectors agree")
    return {}
