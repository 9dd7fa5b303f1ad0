"""1.2.2 Matrix Mayhem: Multiply or Perish. mm, matmul, @, bmm, the shape rule, and a glimpse of attention."""

import math

import torch

from render.lesson import Lesson, capture_error
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
        "(n x k) @ (k x m) gives (n x m); the inner k must match",
        "mm is strictly 2-D; matmul and @ broadcast batch dims",
        "bmm multiplies a stack of matrices pair by pair",
        "A * B multiplies cells; A @ B sums products along k",
    ],
    challenge="Build Q and K for a short sentence of your own, compute Q @ K.T, "
    "and explain which token attends most to which.",
)


@lesson.beat(
    "Matrix Mayhem",
    narration="""Gather round, apprentices, for today we unleash the mightiest operation in all of deep
    learning: matrix multiplication! We will watch each row sweep across each column, learn the one shape
    rule that governs them all, and meet its incantations: mm, matmul, the at sign, and bmm. We will unmask
    the impostor star, and finally glimpse the product that powers attention itself.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Row meets column",
    narration="""Behold matrix A, shape {{ A.shape }}, and matrix B, shape {{ B.shape }}. Each cell of the
    result is a row of A swept across a column of B, products summed. For the top-left cell: {{ A[0][0] }}
    times {{ B[0][0] }}, plus {{ A[0][1] }} times {{ B[1][0] }}, plus {{ A[0][2] }} times {{ B[2][0] }},
    which makes {{ C[0][0] }}. Repeat for every row and column, and the {{ C.shape }} result stands
    complete. Check it by hand, I dare you!""",
    visual=MatmulSweep("A", "B", "C", op="@"),
    slide=["`C = A @ B`", "`C[i, j]` = row i of A dot column j of B", "Products summed along the inner axis"],
)
def row_meets_column(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    B = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], device=device)
    C = A @ B
    return {"A": A, "B": B, "C": C}


@lesson.beat(
    "The shape rule",
    narration="""One law governs every product. The inner sizes must match: A has {{ k }} columns, so W must
    have {{ k }} rows. They cancel, and the outer sizes survive: {{ A.shape }} times {{ W.shape }} gives {{
    Y.shape }}. Break the law and PyTorch refuses. Multiply A by itself and it cries: {{ error }}. Read the
    shapes in that message, and the inner sizes betray the culprit.""",
    visual=MatmulSweep("A", "W", "Y", op="mm"),
    slide=["`(n, k) @ (k, m)` gives `(n, m)`", "The inner sizes must match", "Mismatch: `RuntimeError`"],
)
def shape_rule(device):
    A = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    W = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]], device=device)
    Y = torch.mm(A, W)
    k = A.shape[1]
    error = capture_error(lambda: torch.mm(A, A)).removeprefix("RuntimeError: ")
    return {"A": A, "W": W, "Y": Y, "k": k, "error": error}


@lesson.beat(
    "mm, matmul and @",
    narration="""Several incantations, one result. Do torch dot mm, torch dot matmul and the at operator
    agree on these matrices? {{ all_equal }}. So why so many? mm is the strict one: it accepts only 2-D
    matrices. Hand it a stack with {{ stack_dims }} dimensions and it complains: {{ mm_error }}. matmul, and
    the at sign that calls it, are the flexible ones. They handle vectors and batches, as we will soon
    see.""",
    visual=Show("A", "B", "C"),
    slide=["`torch.mm(A, B)`: 2-D only", "`torch.matmul(A, B)` and `A @ B`: general",
           "Prefer `@` in model code"],
)
def three_spellings(device):
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    B = torch.tensor([[0.0, 1.0], [1.0, 0.0]], device=device)
    C = A @ B
    all_equal = bool(torch.equal(C, torch.mm(A, B)) and torch.equal(C, torch.matmul(A, B)))
    stack = torch.ones(2, 2, 2, device=device)
    stack_dims = stack.dim()
    mm_error = capture_error(lambda: torch.mm(stack, B)).removeprefix("RuntimeError: ")
    return {"A": A, "B": B, "C": C, "all_equal": all_equal, "stack_dims": stack_dims, "mm_error": mm_error}


@lesson.beat(
    "The impostor star",
    narration="""Now unmask the impostor! The star multiplies cell by cell: {{ A[0][1] }} times {{ B[0][1]
    }} is {{ star[0][1] }}, and so on. But the matrix product sums along a row and a column, so its top-left
    cell is {{ at[0][0] }} while the star's is {{ star[0][0] }}. Are the two results equal? {{ same }}.
    Confuse them and your model computes nonsense without a single error message.""",
    visual=Show("star", "at", caption="A * B versus A @ B"),
    slide=["`A * B`: element-wise (Hadamard) product", "`A @ B`: matrix product",
           "Same shapes, different results"],
)
def impostor_star(device):
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    B = torch.tensor([[5.0, 6.0], [7.0, 8.0]], device=device)
    star = A * B
    at = A @ B
    same = bool(torch.equal(star, at))
    return {"A": A, "B": B, "star": star, "at": at, "same": same}


@lesson.beat(
    "Batches with bmm",
    narration="""Models never multiply just one matrix; they multiply whole batches. torch dot bmm takes a
    stack of {{ batch }} matrices and a matching stack, and multiplies them pair by pair. Shapes {{ A.shape
    }} and {{ B.shape }} give {{ C.shape }}. The batch axis is never summed; it simply rides along. Is the
    last slice exactly the product of the last pair? {{ slice_ok }}.""",
    visual=MatmulSweep("A", "B", "C", op="bmm"),
    slide=["`torch.bmm(A, B)`: `(b, n, k) @ (b, k, m)`", "Gives `(b, n, m)`, one product per slice",
           "The batch sizes must be equal"],
)
def batched(device):
    A = torch.tensor([[[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]],
                      [[1.0, 0.0, 2.0], [2.0, 1.0, 0.0]]], device=device)
    B = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                      [[1.0, 1.0], [0.0, 2.0], [1.0, 0.0]]], device=device)
    C = torch.bmm(A, B)
    batch = A.shape[0]
    slice_ok = bool(torch.equal(C[-1], A[-1] @ B[-1]))
    return {"A": A, "B": B, "C": C, "batch": batch, "slice_ok": slice_ok}


@lesson.beat(
    "Higher dimensions",
    narration="""Now the true power of matmul. A language model holds a batch of sentences, each a sequence
    of token vectors: shape {{ x.shape }}. One weight matrix of shape {{ W.shape }} transforms every token
    at once. matmul treats all leading axes as batch axes and broadcasts the weight across them, giving {{
    y.shape }}. Same answer as looping over every sentence? {{ same_as_loop }}. This is exactly what a
    linear layer does!""",
    visual=Show("x", "W", "y"),
    slide=["`x @ W` with `x` of shape `(batch, tokens, features)`", "Leading axes are batch axes",
           "One weight applied to every token"],
)
def higher_dims(device):
    x = torch.randn(2, 3, 4, device=device)
    W = torch.randn(4, 2, device=device)
    y = x @ W
    same_as_loop = bool(torch.allclose(y, torch.stack([x[i] @ W for i in range(x.shape[0])])))
    return {"x": x, "W": W, "y": y, "same_as_loop": same_as_loop}


@lesson.beat(
    "A glimpse of attention",
    narration="""And now, the crown jewel! In attention, every token has a query and a key, here {{ n_tokens
    }} tokens with {{ d }} features each. Q at K transposed gives a {{ scores.shape }} grid: row i, column j
    scores how strongly token i attends to token j. Each score is a dot product of a query and a key,
    divided by the square root of {{ d }}. The top-left score is {{ scores[0][0] }}. Transformers compute
    this grid in every layer. Mwahahaha!""",
    visual=MatmulSweep("Q", "Kt", "scores", op="@"),
    slide=["`scores = Q @ K.T / sqrt(d)`", "Row i: how token i attends to every token",
           "Softmax turns scores into weights (advanced einsum)"],
)
def attention_glimpse(device):
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    n_tokens, d = Q.shape
    Kt = K.T
    scores = Q @ Kt / math.sqrt(d)
    return {"Q": Q, "Kt": Kt, "scores": scores, "n_tokens": n_tokens, "d": d}


@lesson.beat(
    "Recap and your challenge",
    narration="""Triumph! Each result cell is a row of the left matrix dotted with a column of the right.
    The inner sizes must match, and the outer sizes survive. mm is strictly 2-D, while matmul and the at
    sign broadcast over batch axes, and bmm multiplies stacks pair by pair. The star is a different beast
    entirely. Your challenge: build queries and keys for a short sentence of your own, compute Q at K
    transposed, and explain which token attends most to which.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: your own Q @ K.T, read the scores"],
)
def recap(device):
    return {}
