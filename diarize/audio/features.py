"""Log-mel features and the frame <-> time math, kept in this one tested place.

Audio at 16 kHz is framed every 10 ms (hop 160 samples, 25 ms window, n_fft 512);
the model subsamples 8x, so one model frame is 80 ms. Model frame ``i`` covers
``[i * FRAME_SHIFT, (i + 1) * FRAME_SHIFT)`` seconds.
"""

from __future__ import annotations

import math

SAMPLE_RATE = 16000
HOP_LENGTH = 160  # 10 ms
WIN_LENGTH = 400  # 25 ms
N_FFT = 512
SUBSAMPLING = 8
MEL_SHIFT = HOP_LENGTH / SAMPLE_RATE  # 0.01 s
FRAME_SHIFT = SUBSAMPLING * MEL_SHIFT  # 0.08 s


def num_mel_frames(num_samples: int) -> int:
    """Number of 10 ms feature frames kept for ``num_samples`` of audio (``n // 160``)."""
    return max(int(num_samples), 0) // HOP_LENGTH


def num_model_frames(num_samples: int) -> int:
    """Number of 80 ms model frames for ``num_samples``: ``ceil(mel_frames / 8)``."""
    return math.ceil(num_mel_frames(num_samples) / SUBSAMPLING)


def frames_for_mel(mel_frames: int) -> int:
    """Model frames produced from ``mel_frames`` feature frames (three stride-2 convs)."""
    return math.ceil(max(int(mel_frames), 0) / SUBSAMPLING)


def frame_to_time(frame: int | float) -> float:
    """Start time in seconds of model frame ``frame``."""
    return float(frame) * FRAME_SHIFT


def time_to_frame(seconds: float) -> int:
    """Index of the model frame containing time ``seconds``."""
    return int(math.floor(seconds / FRAME_SHIFT + 1e-9))


def seconds_to_frames(seconds: float) -> int:
    """Model frames in a window of ``seconds`` of 16 kHz audio."""
    return num_model_frames(int(round(seconds * SAMPLE_RATE)))
