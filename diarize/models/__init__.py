"""SortFormer networks: build from a config, load, save and export.

``load_model`` reads a Lightning ``.ckpt`` written by ``diarize train`` or a compact exported
``.pt`` (fp16 weights + config); loading a ``.pt`` does not import Lightning, so the command
line starts fast. Either way the network comes back in eval mode, float32 on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diarize.errors import DiarizeError
from diarize.io_utils import atomic_path
from diarize.models.config import NetworkConfig, network_config, stored_network_config
from diarize.models.sortformer import SortformerNetwork, sort_by_arrival

__all__ = [
    "SortformerNetwork",
    "attach_segmentation",
    "build_network",
    "build_network_from_config",
    "export_model",
    "load_model",
    "save_model",
    "sort_by_arrival",
]

EXPORT_FORMAT = "diarize-sortformer"
EXPORT_VERSION = 1


def build_network(config: NetworkConfig | dict | Any) -> SortformerNetwork:
    """A freshly initialised network from a :class:`NetworkConfig` or a config mapping."""
    if not isinstance(config, NetworkConfig):
        config = network_config(config)
    return SortformerNetwork(config)


def build_network_from_config(path: str | Path, seed: int = 0) -> SortformerNetwork:
    """A randomly initialised network (eval mode) from a YAML config (train or model-size file)."""
    torch.manual_seed(seed)
    return build_network(network_config(path)).eval()


SEGMENTATION_PREFIX = "segmentation."


def save_model(network: SortformerNetwork, path: str | Path, meta: dict | None = None) -> Path:
    """Write the compact model file: ``{"config", "state_dict" (fp16), "meta"}`` (atomic)."""
    path = Path(path)
    # a folded-in speech-activity network is stored under its own key (the network's config
    # does not describe it; see diarize.models.segmentation); its sinc filters' cut-off
    # frequencies (in Hz) stay fp32: in fp16 they move by up to 2 Hz, and the segmentation's
    # class probabilities by up to 0.3 (tested)
    state, segmentation = {}, {}
    for key, value in network.state_dict().items():
        value = value.detach().cpu()
        if key.startswith(SEGMENTATION_PREFIX):
            key = key[len(SEGMENTATION_PREFIX) :]
            keep_fp32 = ".filterbank." in key
            segmentation[key] = value.float() if keep_fp32 else _half(value)
        else:
            state[key] = _half(value)
    payload = {
        "config": network.config_dict(),
        "state_dict": state,
        "meta": {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "num_parameters": sum(p.numel() for p in network.parameters()),
            **(meta or {}),
        },
    }
    if segmentation:
        payload["segmentation"] = segmentation
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return path


def _half(value: torch.Tensor) -> torch.Tensor:
    return value.half() if value.is_floating_point() else value


def attach_segmentation(network: SortformerNetwork, state: dict) -> None:
    """Give ``network`` pyannote's segmentation network (``network.segmentation``) with
    ``state`` (its checkpoint's keys): its speech probability then replaces the network's
    (``LongformConfig.speech_source``)."""
    from diarize.models.segmentation import PyanNet

    segmentation = PyanNet()
    segmentation.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    )
    network.segmentation = segmentation.eval()


def export_model(checkpoint: str | Path, out: str | Path, meta: dict | None = None) -> Path:
    """Turn a training checkpoint into the compact fp16 ``.pt`` model file."""
    network = load_model(checkpoint)
    return save_model(network, out, meta={"source": Path(checkpoint).name, **(meta or {})})


def load_model(path: str | Path) -> SortformerNetwork:
    """A network from a Lightning ``.ckpt`` or an exported ``.pt``, eval mode, float32 on CPU.

    Raises:
        DiarizeError: the file is missing, unreadable or not a diarize model.
    """
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: no such model file")
    try:
        # a Lightning checkpoint pickles more than tensors; an exported model is plain data
        payload = torch.load(path, map_location="cpu", weights_only=path.suffix != ".ckpt")
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        import zipfile

        if "weights_only" in str(error).lower() or not zipfile.is_zipfile(path):
            # torch's advice to pass weights_only=False is not for our users: the file is
            # simply not a model (a YAML, a text file, a foreign pickle)
            reason = "not a torch file written by diarize"
        raise DiarizeError(
            f"{path}: not a readable model file ({reason}); "
            "expected a .pt export or a .ckpt checkpoint"
        ) from None
    if not isinstance(payload, dict):
        raise DiarizeError(f"{path}: not a diarize model file")
    if "network_config" in payload:  # written by SortformerSystem.on_save_checkpoint
        config = payload["network_config"]
        state = {
            key[len("network.") :]: value
            for key, value in payload["state_dict"].items()
            if key.startswith("network.")
        }
    elif payload.get("meta", {}).get("format") == EXPORT_FORMAT:
        config, state = payload["config"], payload["state_dict"]
    else:
        raise DiarizeError(f"{path}: not a diarize model file (no network config inside)")
    try:
        network = build_network(stored_network_config(config))
        network.load_state_dict(
            {
                key: value.float() if value.is_floating_point() else value
                for key, value in state.items()
            }
        )
        if isinstance(payload.get("segmentation"), dict):
            attach_segmentation(network, payload["segmentation"])
    except (RuntimeError, DiarizeError) as error:
        raise DiarizeError(
            f"{path}: weights do not fit the stored config ({str(error).splitlines()[0]})"
        ) from None
    return network.float().eval()
