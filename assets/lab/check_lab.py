"""Professor Torchenstein's lab check: is your PyTorch installation ready for the course?

Run it with the Python of your environment:

    python check_lab.py

It prints the Python and torch versions, the build torch was compiled for (CUDA, ROCm or CPU only),
every device torch can use with a small matrix product timed on each, and the MPS status on a Mac.
It exits with status 0 when all is well, and 1 with a hint for each problem it finds, for example a
CPU-only wheel on a machine whose NVIDIA driver sees a GPU. Only the standard library and torch are used.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import textwrap
import time

SIZE = 256  # the matrix product each device runs: small, so the check takes a second


def nvidia_gpus() -> list[str]:
    """GPU names the NVIDIA driver reports (`nvidia-smi -L`); empty when there is no driver."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.startswith("GPU ")]


def build_of(torch: object) -> str:
    """What this torch was compiled for: `CUDA 12.6`, `ROCm 6.4` or `CPU only`."""
    version = getattr(torch, "version", None)
    if getattr(version, "hip", None):
        return f"ROCm {version.hip}"  # type: ignore[union-attr]
    if getattr(version, "cuda", None):
        return f"CUDA {version.cuda}"  # type: ignore[union-attr]
    return "CPU only"


def devices(torch: object) -> list[str]:
    """Every device torch can compute on here: the CPU, each CUDA/ROCm GPU, the Apple GPU."""
    found = ["cpu"]
    cuda = torch.cuda  # type: ignore[attr-defined]
    if cuda.is_available():
        found += [f"cuda:{i}" for i in range(cuda.device_count())]
    if torch.backends.mps.is_available():  # type: ignore[attr-defined]
        found.append("mps")
    return found


def synchronize(torch: object, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)  # type: ignore[attr-defined]
    elif device == "mps":
        torch.mps.synchronize()  # type: ignore[attr-defined]


def matmul_check(torch: object, device: str) -> tuple[float, bool]:
    """Time one SIZE x SIZE product on `device` (after a warm-up) and compare it with the CPU's answer."""
    gen = torch.Generator().manual_seed(0)  # type: ignore[attr-defined]
    a = torch.rand(SIZE, SIZE, generator=gen)  # type: ignore[attr-defined]
    expected = a @ a
    on_device = a.to(device)
    (on_device @ on_device).sum().item()  # warm-up: the first call pays for start-up
    synchronize(torch, device)
    start = time.perf_counter()
    result = on_device @ on_device
    synchronize(torch, device)
    ms = (time.perf_counter() - start) * 1000
    agrees = bool(torch.allclose(result.cpu(), expected, rtol=1e-3, atol=1e-2))  # type: ignore[attr-defined]
    return ms, agrees


def problems_of(facts: dict) -> list[str]:
    """Hints for what is off, from the facts gathered (plain data, so each rule is easy to test)."""
    hints = []
    if facts["nvidia_gpus"] and facts["build"] == "CPU only":
        hints.append(
            "nvidia-smi sees an NVIDIA GPU, but this torch is a CPU-only build"
            f" ({facts['torch']}). Reinstall torch from PyTorch's CUDA index:"
            " https://pytorch.org/get-started/locally/"
        )
    if facts["build"].startswith(("CUDA", "ROCm")) and not facts["cuda_available"]:
        hints.append(
            f"torch was built for {facts['build']} but sees no GPU: check the driver"
            " (nvidia-smi, or rocm-smi on AMD) and that it is recent enough."
        )
    if facts["system"] == "Darwin" and facts["machine"] == "arm64" and not facts["mps_available"]:
        hints.append(
            "an Apple silicon Mac without MPS: update macOS (12.3 or later) and torch;"
            " MPS built: " + str(facts["mps_built"])
        )
    if facts["system"] == "Darwin" and facts["machine"] == "x86_64" and facts["apple_silicon"]:
        hints.append("this Python runs under Rosetta (x86_64): install an arm64 Python to use MPS.")
    for device, (_, agrees) in facts["timings"].items():
        if not agrees:
            hints.append(f"the product on {device} disagrees with the CPU's: update the driver and torch.")
    return hints


def apple_silicon() -> bool:
    """True on an Apple silicon Mac, even when this Python runs translated by Rosetta."""
    if platform.system() != "Darwin":
        return False
    try:
        out = subprocess.run(["sysctl", "-n", "hw.optional.arm64"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return platform.machine() == "arm64"
    return out.stdout.strip() == "1"


def gather(torch: object) -> dict:
    """Every fact the report and the checks need."""
    mps = torch.backends.mps  # type: ignore[attr-defined]
    facts = {
        "python": platform.python_version(),
        "torch": torch.__version__,  # type: ignore[attr-defined]
        "build": build_of(torch),
        "system": platform.system(),
        "machine": platform.machine(),
        "apple_silicon": apple_silicon(),
        "nvidia_gpus": nvidia_gpus(),
        "cuda_available": torch.cuda.is_available(),  # type: ignore[attr-defined]
        "mps_built": mps.is_built(),
        "mps_available": mps.is_available(),
        "timings": {},
    }
    for device in devices(torch):
        try:
            facts["timings"][device] = matmul_check(torch, device)
        except Exception:  # a device that cannot even multiply is exactly what we must report
            facts["timings"][device] = (float("nan"), False)
    return facts


def report(facts: dict) -> list[str]:
    """The lines printed for the learner."""
    lines = [
        f"Python   {facts['python']} ({facts['system']} {facts['machine']})",
        f"torch    {facts['torch']}",
        f"build    {facts['build']}",
        f"MPS      built {facts['mps_built']}, available {facts['mps_available']}",
        f"NVIDIA   {len(facts['nvidia_gpus'])} GPU(s) seen by nvidia-smi",
        f"devices  {SIZE}x{SIZE} matmul on each:",
    ]
    for device, (ms, agrees) in facts["timings"].items():
        lines.append(f"  {device:<8} {ms:8.3f} ms   {'ok' if agrees else 'WRONG'}")
    return lines


def main() -> int:
    try:
        import torch
    except ImportError:
        print(f"Python   {platform.python_version()}")
        print("Problem: torch is not installed in this Python. Activate your environment, then:")
        print("  pip install torch   (see https://pytorch.org/get-started/locally/)")
        return 1
    facts = gather(torch)
    print("\n".join(report(facts)))
    hints = problems_of(facts)
    if not hints:
        print("All good: your lab is ready. Mwahaha!")
        return 0
    for hint in hints:
        print(textwrap.fill(f"Problem: {hint}", 64, subsequent_indent="  ", break_on_hyphens=False))
    return 1


if __name__ == "__main__":
    sys.exit(main())
