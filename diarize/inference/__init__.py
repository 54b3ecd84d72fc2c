"""Inference: the Diarizer API, long-audio engine, post-processing, inputs and outputs.

``Diarizer`` is imported lazily so that ``diarize.inference.postprocess`` and friends load
without torch.
"""

from __future__ import annotations

__all__ = ["Diarization", "Diarizer"]


def __getattr__(name: str):
    if name in __all__:
        from diarize.inference import diarizer

        return getattr(diarizer, name)
    raise AttributeError(f"module 'diarize.inference' has no attribute {name!r}")
