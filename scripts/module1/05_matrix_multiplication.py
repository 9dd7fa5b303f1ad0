"""1.2.2 Matrix Mayhem: Multiply or Perish. mm, matmul, @, bmm, the shape rule, and a glimpse of attention."""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import MatmulSweep, Show, Title

lesson = Lesson(
    objectives=[
        "Multiply matrices: each row meets each column",
        "Obey the shape rule: inner sizes must match",
        "Choose between mm, matmul, @ and bmm",
        "Tell the element-wise product from the matrix product",
        "Glimpse attention's heart: Q @ K.T",
    ],
    recap=[
        "Result cell (i, j) = row i of A dot column j of B",
        "(n, k) @ (k, m) gives (n, m): inner k must match",
        "mm: 2-D only; matmul and @ take vectors, batches",
        "bmm multiplies a stack of matrices pair by pair",
        "A * B multiplies cells; A @ B sums along k",
    ],
    challenge="Give four tokens hand-made queries and keys of two features each, compute Q @ K.T, "
    "and use argmax on each row to find the token each one attends to most.",
)


def star_and_at_disagree(n):
    """Two random n x n matrices: `*` and `@` both run, give the same shape and different numbers."""
    X, Y = torch.randn(n, n), torch.randn(n, n)
    return (X * Y).shape == (X @ Y).shape and not torch.equal(X * Y, X @ Y)


def agree_on_2d(dtype):
    """mm, matmul and @ on two random 2-D matrices of `dtype`: the very same numbers."""
    X, Y = torch.randn(5, 7).to(dtype), torch.randn(7, 3).to(dtype)
    return torch.equal(X @ Y, torch.mm(X, Y)) and torch.equal(X @ Y, torch.matmul(X, Y))


def batch_matches_loop(seed):
    """A (4, 7, 64) batch times a (64, 32) matrix against a loop over the batch, up to rounding."""
    gen = torch.Generator().manual_seed(seed)
    x, W = torch.randn(4, 7, 64, generator=gen), torch.randn(64, 32, generator=gen)
    return torch.allclose(x @ W, torch.stack([x[i] @ W for i in range(len(x))]), atol=1e-5)


@lesson.beat(
    "Matrix Mayhem",
    narration="""Gather round, apprentices: today we unleash the mightiest operation in deep learning,
    matrix multiplication! | We will watch each row sweep across each column, | learn the one
    shape rule that governs them all, | and meet its incantations: mm, matmul, the at sign, and bmm. | We
    will unmask the impostor star, | and finally glimpse the product that powers attention.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Row meets column",
    narration="""Behold `A`, shape {{ A.shape }}, and B, shape {{ B.shape }}: the inner sizes cancel, leaving
    a {{ C.shape }} result. | Each result cell is a row of `A` swept across a column
    of B, products summed. | Top-left: {{ A[0][0] }} times {{ B[0][0] }}, plus {{ A[0][1] }} times {{
    B[1][0] }}, plus {{ A[0][2] }} times {{ B[2][0] }}, which makes {{ C[0][0] }}. | The first row meets the
    second column: {{ C[0][1] }}. | The second row meets the first column: {{ C[1][0] }}. | And the last
    cell, {{ C[1][1] }}. Check it by hand, I dare you!""",
    visual=MatmulSweep("A", "B", "C", op="@", digits=1),
    slide=["`C = A @ B`", "`C[i, j]` = row i of A dot column j of B", "Products summed along the inner axis"],
)
def row_meets_column(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    B = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], device=device)
    C = A @ B
    expect(all(C[i, j] == (A[i] * B[:, j]).sum() for i in range(2) for j in range(2)),
           "each cell of A @ B is a row of A times a column of B, summed")
    return {"A": A, "B": B, "C": C}


@lesson.beat(
    "The shape rule",
    narration="""One law governs every product. The inner sizes must match: `A` has {{ k }} columns, so W
    must have {{ k }} rows. They cancel, and the outer sizes survive: {{ A.shape }} times {{ W.shape }} gives
    {{ Y.shape }}. | Here are `A` and W. | Each cell takes a whole row and a whole column: the first gives {{
    Y[0][0] }}, | the next gives {{ Y[0][1] }}, | the third gives {{ Y[0][2] }}, | and the rest at
    once, every cell a sum of {{ k }} products.""",
    visual=MatmulSweep("A", "W", "Y", op="mm", digits=1),
    slide=["`(n, k) @ (k, m)` gives `(n, m)`", "The inner sizes must match", "The outer sizes survive"],
)
def shape_rule(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    W = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]], device=device)
    Y = torch.mm(A, W)
    k = A.shape[1]
    expect(W.shape[0] == k and Y.shape == (A.shape[0], W.shape[1]), "(n, k) @ (k, m) gives (n, m)")
    return {"A": A, "W": W, "Y": Y, "k": k}


@lesson.beat(
    "When shapes clash",
    narration="""Break the law and PyTorch refuses. | Here is `A` again, {{ A.shape }}. | Multiply `A` by
    itself and its {{ cols }} columns meet only {{ rows }} rows. PyTorch cries that mat1 and mat2 shapes
    cannot be multiplied, and for 2-D matrices it names both shapes. Read them: the last size of the first
    must equal the first size of the second. Transpose one of them, and `A` at `A` transposed works.""",
    visual=Show("A", code=True, error="error", digits=1),
    slide=["2-D mismatch: an error naming both shapes", "Last size of the first = first size of the second",
           "`A @ A.T` works"],
)
def shape_error(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    error = capture_error(lambda: A @ A)
    rows, cols = A.shape
    fixed = A @ A.T
    expect("cannot be multiplied (2x3 and 2x3)" in error, "the error names both shapes")
    expect_each([((2, 3), (2, 3)), ((3, 4), (5, 6)), ((1, 7), (3, 1))],
                lambda c: f"({c[0][0]}x{c[0][1]} and {c[1][0]}x{c[1][1]})"
                in capture_error(lambda: torch.randn(*c[0]) @ torch.randn(*c[1])),
                "a 2-D mismatch names both shapes")
    expect("2x2x3" not in capture_error(lambda: torch.randn(2, 2, 3) @ torch.randn(2, 2, 3)),
           "a batched mismatch words it differently")
    return {"A": A, "error": error, "rows": rows, "cols": cols, "fixed": fixed}


@lesson.beat(
    "mm, matmul and @",
    narration="""Several incantations, one result: torch dot mm, torch dot matmul, and the at operator. |
    Here is `A`, {{ A.shape }}, | then B, {{ B.shape }}, | and here is C, which all three spells agree on. | mm
    is the strict one: it accepts only 2-D matrices. Hand it a vector first and it complains that self
    must be a matrix. matmul and the at sign are flexible: they take vectors and
    batches.""",
    visual=Show("A", "B", "C", error="mm_error", digits=1),
    slide=["`torch.mm(A, B)`: 2-D only", "`torch.matmul(A, B)` and `A @ B`: general",
           "Prefer `@` in model code"],
)
def three_spellings(device):
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    B = torch.tensor([[0.0, 1.0], [1.0, 0.0]], device=device)
    C = A @ B
    C_mm = torch.mm(A, B)
    C_matmul = torch.matmul(A, B)
    expect(torch.equal(C, C_mm) and torch.equal(C, C_matmul), "mm, matmul and @ agree")
    expect_each([torch.float32, torch.float16, torch.bfloat16], agree_on_2d, "mm, matmul and @ agree, other dtypes too")
    v = torch.tensor([1.0, 2.0], device=device)
    mm_error = capture_error(lambda: torch.mm(v, B))
    expect(mm_error.endswith("self must be a matrix"), "mm refuses a vector")
    expect(capture_error(lambda: torch.mm(B, v)).endswith("mat2 must be a matrix"), "second, the error says mat2")
    expect_each([(v, B), (B, v), (B[None], B), (B, B[None])], lambda c: capture_error(lambda: torch.mm(*c)) != "",
                "mm refuses anything but two 2-D matrices")
    expect_each([(v, B), (B, v), (B[None], B), (B, B[None])], lambda c: capture_error(lambda: c[0] @ c[1]) == "",
                "matmul takes vectors and batches")
    return {"A": A, "B": B, "C": C, "mm_error": mm_error}


@lesson.beat(
    "A vector meets a matrix",
    narration="""matmul keeps that promise. A vector of shape {{ v.shape }} at a {{ W.shape }} matrix: matmul
    treats the vector as a single row, multiplies, then drops that row axis, giving shape {{ y.shape }}. |
    The vector stands where a one-row matrix would. | {{ v[0] }} times {{ W[0][0] }}, plus {{ v[1] }} times
    {{ W[1][0] }}, plus {{ v[2] }} times {{ W[2][0] }}, makes {{ y[0] }}. | The second column gives {{ y[1]
    }}.""",
    visual=MatmulSweep("v", "W", "y", op="@", digits=1),
    slide=["`v @ W`: `(k,) @ (k, m)` gives `(m,)`", "The vector acts as one row, then the axis goes",
           "`W.T @ v`: a vector on the right acts as a column"],
)
def vector(device):
    v = torch.tensor([1.0, 2.0, 3.0], device=device)
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]], device=device)
    y = v @ W
    expect(torch.equal(y, (v[None, :] @ W)[0]), "v @ W is the one-row product with the row axis dropped")
    expect(torch.equal(W.T @ v, (W.T @ v[:, None])[:, 0]), "a vector on the right acts as a column")
    return {"v": v, "W": W, "y": y}


@lesson.beat(
    "The impostor star",
    narration="""Now unmask the impostor! Both spells take the same two {{ A.shape }} matrices: `A`, |
    and B. | The star multiplies cell by cell: {{ A[0][1] }} times {{ B[0][1] }} is {{ star[0][1] }}. | The
    matrix product sums along a row and a column instead, so its top-left cell is {{ at[0][0] }}, while the
    star's is {{ star[0][0] }}. | Same shapes, different numbers. Confuse them on square matrices and your
    model computes nonsense without a single error message.""",
    visual=Show("A", "B", "star", "at", code=False, caption="A * B versus A @ B", digits=1),
    slide=["`A * B`: element-wise (Hadamard) product", "`A @ B`: matrix product",
           "Same shapes, usually different numbers"],
)
def impostor_star(device):
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    B = torch.tensor([[5.0, 6.0], [7.0, 8.0]], device=device)
    star = A * B
    at = A @ B
    expect(star.shape == at.shape and not torch.equal(star, at), "same shapes, different numbers")
    expect_each([2, 3, 5, 8], star_and_at_disagree, "on square matrices both run without a word, and disagree")
    expect(capture_error(lambda: torch.ones(2, 3) @ torch.ones(2, 3)) != "", "non-square ones at least raise")
    expect_each([torch.diag(torch.tensor(d)) for d in ([2.0, 3.0], [1.0, -4.0, 0.5])],
                lambda D: torch.equal(D * D, D @ D), "usually: diagonal matrices are a special case where both agree")
    return {"A": A, "B": B, "star": star, "at": at}


@lesson.beat(
    "Batches with bmm",
    narration="""Models multiply whole batches. torch dot bmm takes a
    stack of {{ batch }} matrices and a matching stack: shapes {{ A.shape }} and {{ B.shape }} give {{
    C.shape }}. | First pair: `A`'s first matrix meets B's first. | Its top cell is {{ C[0][0][0] }}, | its
    bottom cell {{ C[0][1][0] }}. | Then the second pair, and nothing crosses between pairs: | its top cell is {{
    C[1][0][0] }}, | its bottom cell {{ C[1][1][0] }}. The batch axis is never summed; it simply rides along.""",
    visual=MatmulSweep("A", "B", "C", op="bmm", digits=1),
    slide=["`torch.bmm(A, B)`: `(b, n, k) @ (b, k, m)`", "Gives `(b, n, m)`, one product per slice",
           "The batch sizes must be equal"],
)
def batched(device):
    A = torch.tensor([[[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]],
                      [[1.0, 0.0, 2.0], [2.0, 1.0, 0.0]]], device=device)
    B = torch.tensor([[[1.0], [0.0], [2.0]],
                      [[1.0], [2.0], [1.0]]], device=device)
    C = torch.bmm(A, B)
    batch = A.shape[0]
    expect(all(torch.equal(C[i], A[i] @ B[i]) for i in range(batch)), "each slice is its own pair's product")
    expect(capture_error(lambda: torch.bmm(A, B[:1])) != "", "bmm refuses stacks of different batch sizes")
    return {"A": A, "B": B, "C": C, "batch": batch}


@lesson.beat(
    "Higher dimensions",
    narration="""A batch of sentences, each a sequence of token vectors, meets one weight matrix W:
    one line, y equals x at W, transforms every token. | Here x has shape {{ x.shape }}:
    sentences, tokens, features. | matmul treats the leading axes as batch axes and broadcasts W across them,
    giving y, {{ y.shape }}; the loop in the code agrees, up to rounding. nn dot Linear stores its weight as
    outputs by inputs, our W transposed, and computes x at weight transposed plus a bias: hence W transposed in
    the code.""",
    visual=Show("x", "y"),
    slide=["`x @ W` with `x` of shape `(batch, tokens, features)`", "Leading axes are batch axes",
           "`nn.Linear`: weight `(out, in)`, `x @ weight.T + bias`"],
)
def higher_dims(device):
    x = torch.randn(2, 3, 4, device=device)
    W = torch.randn(4, 2, device=device)
    y = x @ W
    loop = torch.stack([x[0] @ W, x[1] @ W])
    expect(torch.allclose(y, loop), "same as a loop")
    expect_each(range(10), batch_matches_loop, "a loop gives the same numbers up to rounding, at other sizes too")
    linear = torch.nn.functional.linear(x, W.T)
    expect(torch.allclose(linear, y), "Linear with weight W.T agrees")
    expect_each([(4, 2), (3, 5)], lambda c: torch.nn.Linear(*c).weight.shape == (c[1], c[0]),
                "nn.Linear(in, out) stores its weight as (out, in)")
    return {"x": x, "W": W, "y": y}


@lesson.beat(
    "A glimpse of attention",
    narration="""The crown jewel! In attention, each of {{ n_tokens }} tokens has a query and a key of
    {{ d }} features. Q at K transposed sums the features away, leaving a {{ raw.shape }} grid, tokens by
    tokens. | Rows of Q are queries; columns of K
    transposed are keys. | Query zero against key zero: {{ raw[0][0] }}. | Against key
    one: {{ raw[0][1] }}. | Against key two: {{ raw[0][2] }}. | Row i, column j scores how strongly token i
    attends to token j. Attention divides every score by the square root of {{ d }} before
    a softmax. Mwahahaha!""",
    visual=MatmulSweep("Q", "Kt", "raw", op="@"),
    slide=["`scores = Q @ K.T / sqrt(d)`", "Row i: how token i attends to every token",
           "Softmax turns scores into weights (advanced einsum)"],
)
def attention_glimpse(device):
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    n_tokens, d = Q.shape
    Kt = K.T
    raw = Q @ Kt
    expect(all(torch.allclose(raw[i, j], Q[i] @ K[j]) for i in range(n_tokens) for j in range(n_tokens)),
           "score (i, j) is query i dotted with key j")
    expect(torch.allclose(torch.softmax(raw / d**0.5, dim=-1),
                          torch.nn.functional.scaled_dot_product_attention(Q, K, torch.eye(n_tokens, device=device)),
                          atol=1e-6), "attention divides the scores by the square root of d before a softmax")
    return {"Q": Q, "Kt": Kt, "raw": raw, "n_tokens": n_tokens, "d": d}


@lesson.beat(
    "Recap and your challenge",
    narration="""Triumph! | Each result cell is a row of the left matrix dotted with a column of the right. |
    The inner sizes must match, and the outer sizes survive. | mm is strictly 2-D, while matmul and the at
    sign take vectors and batches. | bmm multiplies stacks pair by pair. | The star only multiplies
    cells. | Your challenge: hand-make queries and keys for a few tokens, compute Q
    at K transposed, and let argmax name the token each one attends to most.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: your own Q @ K.T, read the scores"],
)
def recap(device):
    return {}
