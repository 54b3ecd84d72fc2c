"""Stream latencies: how many 80 ms frames a step finalizes, how many it waits for, and how
many more it holds back to label them again (:mod:`~diarize.inference.stream_hold`)."""

from __future__ import annotations

from diarize.audio.features import FRAME_SHIFT

__all__ = ["LATENCY_PRESETS", "latency_frames"]

# seconds -> (block, lookahead, hold) frames, after NeMo's streaming Sortformer presets, except
# 1.04 s: NeMo's 6 + 7 was no better than 11 + 2 (DER 35.4% vs 33.8%) and twice as slow (RTF 0.18
# vs 0.09); and 10 s: the 1.04-s engine with 9 s more held, not one step of 124 frames (real-voice
# dev mixes: DER 19.7% against 26.0%, at the 1.04-s engine's cost)
LATENCY_PRESETS = {0.32: (3, 1, 0), 1.04: (11, 2, 0), 10.0: (11, 2, 111)}
ENGINE = LATENCY_PRESETS[1.04]


def latency_frames(latency: float) -> tuple[int, int, int]:
    """``(block, lookahead, hold)`` frames for a latency in seconds (a preset when within
    0.05 s): longer than 1.04 s, the 1.04-s engine with the rest held.

    Raises:
        ValueError: a latency below one frame (0.16 s).
    """
    for preset, frames in LATENCY_PRESETS.items():
        if abs(latency - preset) <= 0.05:
            return frames
    total = int(round(latency / FRAME_SHIFT))
    if total < 2:
        raise ValueError(f"latency must be at least 0.16 s, got {latency}")
    if total > sum(ENGINE):
        return (*ENGINE[:2], total - sum(ENGINE))
    lookahead = min(7, total // 2)
    return total - lookahead, lookahead, 0
