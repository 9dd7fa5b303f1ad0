"""1.3.1 Einstein Summation: Harness the Λ-Power.

The notation, and einsum checked against plain torch calls.
"""

import torch

from render.lesson import Lesson
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
        "Letters missing after -> are multiplied and summed",
        "A repeated letter across inputs pairs those axes",
        "One notation for transpose, sums, products, batches",
    ],
    challenge="Write the einsum for the trace of a square matrix (the sum of its diagonal) "
    "and check it against torch.trace.",
)


@lesson.beat(
    "Harness the Λ-Power",
    narration="""Apprentices, prepare for a language of pure power, borrowed from Einstein himself! Einstein
    summation names every axis with a letter and lets you state an operation in a single string. Transposes,
    sums, dot products, outer products, matrix products and batched products all become one incantation:
    torch dot einsum. And each time, we will check the spell against the plain torch call, for trust is
    earned, even by Einstein.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Letters for axes: transpose",
    narration="""Read the equation i j arrow j i. Left of the arrow, one group of letters per input: A's
    first axis is i, its second is j. Right of the arrow, the output's axes in the order we want them. So
    the {{ A.shape }} input becomes {{ T.shape }}: the element at row i, column j moves to row j, column i.
    Nothing is summed, because every letter survives the arrow. Same as A dot T? {{ same }}.""",
    visual=Einsum("A", "T", equation="ij->ji"),
    slide=["`torch.einsum('ij->ji', A)` is `A.T`", "One letter per axis", "Output letters set the order"],
)
def transpose(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    T = torch.einsum("ij->ji", A)
    same = bool(torch.equal(T, A.T))
    return {"A": A, "T": T, "same": same}


@lesson.beat(
    "A missing letter is summed",
    narration="""Now the second law: any letter that vanishes after the arrow is summed away. In i j arrow
    j, the letter i disappears, so we sum down each column: {{ col_sums.values }}. Same as A dot sum over
    dim {{ dim }}? {{ same_cols }}. Drop both letters, i j arrow nothing, and the whole tensor collapses
    into one number, {{ total.item }}. Same as A dot sum? {{ same_total }}.""",
    visual=Einsum("A", "col_sums", equation="ij->j"),
    slide=["`'ij->j'`: sum over i, like `A.sum(dim=0)`", "`'ij->'`: sum everything",
           "Missing letters are summed"],
)
def sums(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    dim = 0
    col_sums = torch.einsum("ij->j", A)
    total = torch.einsum("ij->", A)
    same_cols = bool(torch.equal(col_sums, A.sum(dim=dim)))
    same_total = bool(torch.equal(total, A.sum()))
    return {"A": A, "col_sums": col_sums, "total": total, "dim": dim, "same_cols": same_cols,
            "same_total": same_total}


@lesson.beat(
    "Dot product: i,i->",
    narration="""Two inputs now. When the same letter appears in both inputs, those axes are paired: the
    elements are multiplied together. In i comma i arrow nothing, the letter i also vanishes from the
    output, so the products are summed. That is the dot product: {{ u.values[0] }} times {{ v.values[0] }},
    plus the rest, gives {{ dot.item }}. Same as torch dot dot? {{ same }}.""",
    visual=Einsum("u", "v", "dot", equation="i,i->"),
    slide=["`'i,i->'`: multiply pairs, then sum", "Same as `torch.dot(u, v)`",
           "A shared letter pairs axes across inputs"],
)
def dot(device):
    u = torch.tensor([1.0, 2.0, 3.0], device=device)
    v = torch.tensor([4.0, 5.0, 6.0], device=device)
    dot = torch.einsum("i,i->", u, v)
    same = bool(torch.equal(dot, torch.dot(u, v)))
    return {"u": u, "v": v, "dot": dot, "same": same}


@lesson.beat(
    "Outer product: i,j->ij",
    narration="""Give the two vectors different letters and nothing is paired. Keep both letters after the
    arrow and nothing is summed. Every element of u meets every element of v, and we get the full {{
    outer.shape }} table: the bottom-right cell is {{ u.values[-1] }} times {{ v.values[-1] }}, which is {{
    outer[-1][-1] }}. Same as torch dot outer? {{ same }}. No broadcasting tricks needed!""",
    visual=Einsum("u", "v", "outer", equation="i,j->ij"),
    slide=["`'i,j->ij'`: every pair, nothing summed", "Same as `torch.outer(u, v)`"],
)
def outer(device):
    u = torch.tensor([1.0, 2.0, 3.0], device=device)
    v = torch.tensor([10.0, 20.0], device=device)
    outer = torch.einsum("i,j->ij", u, v)
    same = bool(torch.equal(outer, torch.outer(u, v)))
    return {"u": u, "v": v, "outer": outer, "same": same}


@lesson.beat(
    "Matrix product: ik,kj->ij",
    narration="""Now combine both laws. In i k comma k j arrow i j, the letter k is shared, so A's columns
    pair with B's rows, and k vanishes, so those products are summed. i and j survive as the rows and
    columns of the result. That is matrix multiplication, spelled out: the top-left cell is {{ C[0][0] }}.
    Same as A at B? {{ same }}. The shape rule is right there in the letters.""",
    visual=Einsum("A", "B", "C", equation="ik,kj->ij"),
    slide=["`'ik,kj->ij'` is `A @ B`", "Shared and missing k: paired and summed", "i and j are kept"],
)
def matmul(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    B = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], device=device)
    C = torch.einsum("ik,kj->ij", A, B)
    same = bool(torch.equal(C, A @ B))
    return {"A": A, "B": B, "C": C, "same": same}


@lesson.beat(
    "Batched product: bik,bkj->bij",
    narration="""Need a batch? Just add a letter! With b in front of every group, b is shared and kept, so
    it is never summed: each of the {{ batch }} matrices in A multiplies its partner in B. Shapes {{ A.shape
    }} and {{ B.shape }} give {{ C.shape }}. Same as torch dot bmm? {{ same }}. No unsqueezing, no
    permuting, just one more letter. Mwahaha, Einstein would be proud!""",
    visual=Einsum("A", "B", "C", equation="bik,bkj->bij"),
    slide=["`'bik,bkj->bij'` is `torch.bmm(A, B)`", "A shared, kept letter is a batch axis"],
)
def batched(device):
    A = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]], device=device)
    B = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], [[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]], device=device)
    batch = A.shape[0]
    C = torch.einsum("bik,bkj->bij", A, B)
    same = bool(torch.equal(C, torch.bmm(A, B)))
    return {"A": A, "B": B, "C": C, "batch": batch, "same": same}


@lesson.beat(
    "Why it is powerful",
    narration="""Here is a real case. A search model embeds {{ n }} queries and {{ n }} documents as vectors
    of {{ d }} features, and scores each query with its own document. In plain torch you multiply and then
    sum over the right dim. In einsum you write n d comma n d arrow n, and the letters document exactly
    which axis is which. The scores are {{ scores.values }}. Same as the plain version? {{ same }}.
    Attention uses exactly this, as the next lesson reveals.""",
    visual=Einsum("q", "k", "scores", equation="nd,nd->n"),
    slide=["`'nd,nd->n'`: row-wise dot products", "Same as `(q * k).sum(dim=1)`",
           "The equation documents every axis"],
)
def powerful(device):
    q = torch.randn(3, 4, device=device)
    k = torch.randn(3, 4, device=device)
    n, d = q.shape
    scores = torch.einsum("nd,nd->n", q, k)
    same = bool(torch.allclose(scores, (q * k).sum(dim=1)))
    return {"q": q, "k": k, "scores": scores, "n": n, "d": d, "same": same}


@lesson.beat(
    "Recap and your challenge",
    narration="""Behold your new language! One letter names each axis. Letters after the arrow are kept, in
    that order. Letters missing after the arrow are multiplied and summed. A letter shared across inputs
    pairs those axes, and a shared letter that is kept becomes a batch. Transpose, sums, dot, outer, matrix
    and batched products: one notation for all. Your challenge: write the einsum for the trace of a square
    matrix, the sum of its diagonal, and check it against torch dot trace.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: the trace of a matrix with einsum"],
)
def recap(device):
    return {}
