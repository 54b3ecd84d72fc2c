"""Where the bundled model and its settings live, and how model names and devices resolve."""

from __future__ import annotations

from pathlib import Path

import torch

from diarize.errors import DiarizeError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
DEFAULT_MODEL = PRETRAINED_DIR / "default.pt"
DEFAULT_POSTPROCESSING = PRETRAINED_DIR / "postprocess.yaml"
DEFAULT_LONGFORM = PRETRAINED_DIR / "longform.yaml"


def resolve_model(path_or_name: str | Path | None) -> Path:
    """The model file for a path, a bundled name (``default``) or None (= ``default``).

    Raises:
        DiarizeError: no such file and no bundled model of that name.
    """
    if path_or_name is None or str(path_or_name) == "default":
        if not DEFAULT_MODEL.is_file():
            raise DiarizeError(
                f"{DEFAULT_MODEL}: the bundled default model is not installed; "
                "pass --model PATH (a .pt export or a .ckpt checkpoint)"
            )
        return DEFAULT_MODEL
    path = Path(path_or_name)
    if path.is_file():
        return path
    bundled = PRETRAINED_DIR / f"{path_or_name}.pt"
    if path.suffix == "" and bundled.is_file():
        return bundled
    names = sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt"))
    known = f" (bundled models: {', '.join(names)})" if names else ""
    raise DiarizeError(f"{path}: no such model file{known}")


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; asking for CUDA without one is an error."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DiarizeError("--device cuda: no CUDA device is available (use --device cpu)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise DiarizeError(f"unknown device {name!r}; use cpu, cuda or auto")
    return torch.device(name)


PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (x86 AVX512-BF16 or AMX; Linux only).

    On such a CPU oneDNN runs CAM++'s convolutions in bfloat16 about 1.8x faster than in
    float32 (README, Benchmarks); on others bfloat16 is emulated and slower.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_bf16(device: torch.device, precision: str | bool | None) -> bool:
    """Whether the networks run under bfloat16 autocast.

    ``auto`` (or None): on CUDA, and on a CPU with native bfloat16; ``fp32`` / ``bf16`` (or
    False / True) force it.
    """
    if isinstance(precision, bool):
        return precision
    name = "auto" if precision is None else str(precision)
    if name not in PRECISIONS:
        raise DiarizeError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if name != "auto":
        return name == "bf16"
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
