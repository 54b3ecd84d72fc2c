"""Where a run's weights come from: a checkpoint to resume, or ``init_from`` weights.

Both are checked before training starts, so that a truncated ``last.ckpt`` or one written by
another architecture fails in one line naming the file and the first key that differs (not in
a traceback or a hundred lines of size mismatches).
"""

from __future__ import annotations

from pathlib import Path

import torch

from diarize.errors import DiarizeError
from diarize.models import SEGMENTATION_PREFIX, load_model
from diarize.models.config import first_difference, stored_network_config
from diarize.models.system import SortformerSystem


def init_weights(system: SortformerSystem, source: Path, modules: list[str]) -> None:
    """Copy the network weights of ``source`` into ``system``: all of them (the configs must
    build the same network) or those of the named submodules (their shapes must match).

    Raises:
        DiarizeError: ``source`` is missing, not a model, or does not fit.
    """
    pretrained = load_model(source)
    network = system.network
    if not modules:
        if pretrained.config != network.config:
            raise DiarizeError(
                f"{source}: init_from network differs from model config "
                f"({first_difference(network.config, pretrained.config)})"
            )
        # a folded-in speech-activity network (inference only) is not trained here
        state = pretrained.state_dict()
        network.load_state_dict(
            {k: v for k, v in state.items() if not k.startswith(SEGMENTATION_PREFIX)}
        )
        return
    for name in modules:
        target, given = getattr(network, name, None), getattr(pretrained, name, None)
        if not isinstance(target, torch.nn.Module) or not isinstance(given, torch.nn.Module):
            raise DiarizeError(f"init_modules: {name!r} is not a part of both networks")
        mismatch = first_shape_difference(target.state_dict(), given.state_dict())
        if mismatch:
            raise DiarizeError(f"{source}: {name} has other shapes here (first: {mismatch})")
        target.load_state_dict(given.state_dict())


def check_resume(path: Path, system: SortformerSystem) -> None:
    """Refuse a ``last.ckpt`` that cannot be resumed into ``system`` (read before training).

    Raises:
        DiarizeError: the file is unreadable (e.g. truncated), not a diarize checkpoint, or
            holds another network (the first differing config key or weight is named).
    """
    advice = "delete it to start afresh, or choose another exp_dir"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:  # truncated zip, pickle errors, ... come in many types
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DiarizeError(
            f"{path}: cannot resume, unreadable checkpoint ({reason}); {advice}"
        ) from None
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise DiarizeError(f"{path}: cannot resume, not a diarize checkpoint; {advice}")
    if "network_config" in payload:
        try:
            theirs = stored_network_config(payload["network_config"])
        except DiarizeError as error:
            raise DiarizeError(f"{path}: cannot resume ({error}); {advice}") from None
        difference = first_difference(system.network.config, theirs)
        if difference:
            raise DiarizeError(
                f"{path}: cannot resume, the checkpoint holds another network "
                f"({difference}); {advice}"
            )
    mismatch = first_shape_difference(system.state_dict(), payload["state_dict"])
    if mismatch:
        raise DiarizeError(f"{path}: cannot resume, weights differ ({mismatch}); {advice}")


def first_shape_difference(ours: dict, theirs: dict) -> str | None:
    """The first key missing from one state dict or shaped otherwise, with both shapes."""
    for key, value in ours.items():
        if key not in theirs:
            return f"{key}: missing there"
        if tuple(theirs[key].shape) != tuple(value.shape):
            return f"{key}: {tuple(theirs[key].shape)} there, {tuple(value.shape)} here"
    extra = sorted(set(theirs) - set(ours))
    return f"{extra[0]}: not in this network" if extra else None
