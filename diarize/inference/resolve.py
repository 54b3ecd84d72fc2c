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
