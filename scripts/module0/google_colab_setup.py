"""0.2.4 Google Colab: Assembling the Cloud Laboratory. The GPU runtime and `!nvidia-smi`, torch already
installed, mounting Google Drive, and the session limits that make saving checkpoints a habit.

The trace cannot run Colab, so every notebook here is labelled "expected on Colab": cells and their output
are built from documented behaviour (Colab's FAQ, the `google.colab.drive` helper, the free tier's Tesla
T4), with the parts that differ per session written as "...". Claims the render machine can check go
through `expect`."""

import io

import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import Terminal, Title

COLAB = "expected on Colab"
T4_MEMORY_MIB = 15360  # the memory.total nvidia-smi reports for a 16 GB Tesla T4, the GPU Colab's free tier often gives
MAX_HOURS = 12  # Colab's FAQ: on the free tier a notebook runs for at most 12 hours, often less; paid plans allow more

lesson = Lesson(
    objectives=[
        "The GPU runtime: a GPU in the cloud",
        "!nvidia-smi, and torch already installed",
        "Mount Google Drive to keep your work",
        "Session limits: save checkpoints often",
    ],
    recap=[
        "Runtime, then Change runtime type: a GPU",
        "torch comes installed; ! runs shell commands",
        "drive.mount keeps files past the session",
        "Sessions end: checkpoint to Drive",
    ],
    challenge="In a Colab notebook with a GPU runtime, save a tensor made on the GPU to Drive with torch.save, "
    "restart the runtime, mount Drive again, and load it back with torch.load: is it unchanged?",
)


def expected(pairs):
    return [[cell, output, COLAB] for cell, output in pairs]


def resumes_exactly(keep_optimizer):
    """Whether training resumed from a checkpoint (the model's state, and the optimizer's if `keep_optimizer`)
    takes the same next Adam step as training that never stopped. Its random draws do not leak out."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        x, y = torch.randn(8, 2), torch.randn(8, 1)
        model = torch.nn.Linear(2, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.1)

        def step(m, o):
            o.zero_grad()
            ((m(x) - y) ** 2).mean().backward()
            o.step()

        for _ in range(3):
            step(model, opt)
        buffer = io.BytesIO()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
        step(model, opt)  # the session that never stopped
        checkpoint = torch.load(io.BytesIO(buffer.getvalue()))
        again = torch.nn.Linear(2, 1)
        again.load_state_dict(checkpoint["model"])
        opt_again = torch.optim.Adam(again.parameters(), lr=0.1)
        if keep_optimizer:
            opt_again.load_state_dict(checkpoint["opt"])
        step(again, opt_again)  # the new session, resumed from the checkpoint
        return torch.equal(model.weight, again.weight) and torch.equal(model.bias, again.bias)


@lesson.beat(
    "What you will learn",
    narration="""No GPU at home, apprentice? Then we shall borrow one from the cloud! | We switch a Colab
    notebook to a GPU runtime. | We ask nvidia-smi what we were given, and find torch already installed. |
    We mount Google Drive, so our work outlives the session. | And we learn the session limits, and how to
    cheat death with checkpoints.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The GPU runtime",
    narration="""A new notebook runs on a cpu, so we switched this one to a GPU runtime. | In a cell, an
    exclamation mark runs a shell command. Ask nvidia-smi for the card's name and memory: here a Tesla T4,
    with {{ memory }} mebibytes in all. The driver and CUDA keep some of it, so your tensors get a little
    less. | To switch: open the Runtime menu, choose Change runtime type, and pick a GPU. On the free tier
    it is often a T4, but what you get varies.""",
    visual=Terminal(session="session", system="colab",
                    caption="Runtime menu > Change runtime type > a GPU"),
    slide=["Runtime, then Change runtime type, then GPU", "`!` runs a shell command in a cell",
           "`!nvidia-smi`: which GPU you got"],
)
def gpu_runtime(device):
    session = expected([
        ("!nvidia-smi --query-gpu=name,memory.total --format=csv",
         f"name, memory.total [MiB]\nTesla T4, {T4_MEMORY_MIB} MiB"),
    ])
    return {"session": session, "memory": T4_MEMORY_MIB}


@lesson.beat(
    "torch is already here",
    narration="""No installation needed: Colab ships with torch, built for CUDA. | Import it on a GPU
    runtime, and cuda is available answers True. | And torch dot cuda dot get device name names the card. |
    Colab's torch version may differ from the {{ version }} this course ran with; if a lesson behaves oddly,
    pip install that version in a cell, then restart the runtime so the new torch is imported.""",
    visual=Terminal(session="session", system="colab"),
    slide=["torch is preinstalled, with CUDA", "`torch.cuda.is_available()`: True",
           "Need our version? `!pip install torch==...`"],
)
def torch_ready(device):
    version = torch.__version__.split("+")[0]
    session = expected([
        ("import torch\ntorch.cuda.is_available()", "True"),
        ("torch.cuda.get_device_name(0)", "'Tesla T4'"),
        (f"!pip install torch=={version}", f"...\nSuccessfully installed ... torch-{version} ..."),
    ])
    return {"session": session, "version": version}


@lesson.beat(
    "Tensors on the GPU",
    narration="""Now put the borrowed GPU to work. | Pick the device once, at the top of your notebook: cuda when
    it is available, else the cpu, so the same notebook still runs without a GPU. | Create tensors on that
    device, and their repr says where they live: cuda, card number zero. Each lesson's notebook opens with
    such a cell, so in Colab its code runs on the GPU.""",
    visual=Terminal(session="session", system="colab"),
    slide=["`device = 'cuda' if torch.cuda.is_available() else 'cpu'`", "`torch.ones(2, device=device)`",
           "`device='cuda:0'` in the repr"],
)
def on_gpu(device):
    pick = "device = 'cuda' if torch.cuda.is_available() else 'cpu'\ndevice"
    here = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.ones(2, device=here)
    expect(x.device.type == here, "a tensor lives on the device it was created on")
    session = expected([(pick, "'cuda'"), ("torch.ones(2, device=device)", "tensor([1., 1.], device='cuda:0')")])
    return {"session": session}


@lesson.beat(
    "Mounting Google Drive",
    narration="""The runtime's disk is wiped when the session ends. Your Drive is not. | drive dot mount asks
    for your permission, then puts your Drive at slash content slash drive. | Save under My Drive, and your
    files survive the session: here, a small tensor saved with torch dot save, which returns nothing, so the
    cell prints nothing when it succeeds.""",
    visual=Terminal(session="session", system="colab"),
    slide=["`from google.colab import drive`", "`drive.mount('/content/drive')`",
           "Save under `/content/drive/MyDrive`"],
)
def drive(device):
    session = expected([
        ("from google.colab import drive\ndrive.mount('/content/drive')", "Mounted at /content/drive"),
        ("torch.save(torch.ones(3), '/content/drive/MyDrive/lab.pt')", ""),
    ])
    buffer = io.BytesIO()
    expect(torch.save(torch.ones(3), buffer) is None, "torch.save returns None: the cell shows no output")
    expect(torch.equal(torch.load(io.BytesIO(buffer.getvalue())), torch.ones(3)), "the saved tensor loads back")
    return {"session": session}


@lesson.beat(
    "Session limits",
    narration="""Now the dark side of free power: no session lasts forever. Colab disconnects idle
    notebooks, and a GPU is not always available. | So checkpoint as you go: every epoch, save the model's
    state and the optimizer's to Drive, and a lost session costs you only the epoch in progress, not a night
    of training. | And
    even a busy session ends: Colab's FAQ says that on the free tier a notebook runs for at most
    {{ hours }} hours, often less. Paid plans can run longer, but not forever.""",
    visual=Terminal(session="session", system="colab",
                    caption=f"Colab's FAQ: free tier, at most {MAX_HOURS} hours a session, often less"),
    slide=["Idle sessions are disconnected", "Free tier: a time limit, even when busy",
           "Checkpoint to Drive every epoch"],
)
def limits(device):
    cell = ("for epoch in range(3):\n"
            "    ...  # train one epoch\n"
            "    state = {'model': model.state_dict(), 'opt': opt.state_dict()}\n"
            "    torch.save(state, f'/content/drive/MyDrive/ckpt{epoch}.pt')\n"
            "    print('saved', epoch)")
    output = "\n".join(f"saved {epoch}" for epoch in range(3))
    model = torch.nn.Linear(2, 1)
    state = model.state_dict()
    expect(set(state) == {"weight", "bias"}, "a state dict holds the model's parameters by name")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    restored = torch.nn.Linear(2, 1)
    restored.load_state_dict(torch.load(io.BytesIO(buffer.getvalue())))
    expect(all(torch.equal(restored.state_dict()[k], state[k]) for k in state), "a checkpoint restores the weights")
    expect(resumes_exactly(keep_optimizer=True) and not resumes_exactly(keep_optimizer=False),
           "with Adam, resuming exactly needs the optimizer's state too, not only the model's")
    return {"session": expected([(cell, output)]), "hours": MAX_HOURS}


@lesson.beat(
    "Recap",
    narration="""Your cloud laboratory floats above the clouds! | Runtime, then Change runtime type, gives you a
    GPU. | torch comes installed, and an exclamation mark runs shell commands like nvidia-smi. | Mount Drive,
    so your files outlive the session. | And since every session ends, save checkpoints to Drive often.""",
    visual=Title(heading="What we assembled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | In a Colab notebook with a GPU runtime, make a tensor on the GPU
    and save it to your Drive with torch dot save. Then restart the runtime, mount Drive again, and load it
    back with torch dot load. If it returns unchanged, you have cheated death. Mwahaha!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Save a GPU tensor to Drive", "Restart the runtime, mount Drive again", "`torch.load` it back, compare"],
)
def challenge(device):
    return {}
