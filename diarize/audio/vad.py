"""The one energy VAD: speech regions of a single-speaker signal from 10 ms frame energies.

Used to find the speech in simulation sources (``diarize.simulate.sources``) and to cut real
recordings into utterances (the voice-bank recipe). It is not a diarization VAD: it assumes one
speaker and a quiet background, and adapts its threshold to each signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diarize.audio.io import SAMPLE_RATE


@dataclass(frozen=True)
class VadParams:
    """Energy-VAD settings (see ``vad`` in conf/simulate.yaml).

    Attributes:
        threshold_db: frames more than this below the loudest frame are silence.
        floor_margin: ... and so are frames less than this fraction of the way from the noise
            floor (10th-percentile frame) to the loudest frame.
        min_pause: shorter pauses are bridged (seconds).
        min_speech: shorter speech regions are dropped (seconds).
        pad: seconds added on both sides of each region (energy VADs clip soft onsets).
        frame: analysis frame (seconds).
        min_contrast_db: a signal whose loudest frame is less than this above its noise floor
            (a tone, steady noise) has no speech.
    """

    threshold_db: float = 40.0
    floor_margin: float = 0.4
    min_pause: float = 0.3
    min_speech: float = 0.08
    pad: float = 0.03
    frame: float = 0.01
    min_contrast_db: float = 0.0


def speech_regions(
    samples: np.ndarray, params: VadParams, sample_rate: int = SAMPLE_RATE
) -> list[tuple[float, float]]:
    """Speech regions of a single-speaker signal by frame energy.

    The threshold adapts to each file: ``threshold_db`` below its peak frame, but at least
    ``floor_margin`` of the way from its noise floor (10th-percentile frame) to the peak, so that
    clean synthetic audio and noisy recordings both work. Pauses shorter than ``min_pause`` are
    bridged, blips shorter than ``min_speech`` dropped, and regions padded by ``pad`` (energy VADs
    clip soft onsets and decays).

    Shape:
        samples: (num_samples,)
    """
    frame = int(round(params.frame * sample_rate))
    num_frames = len(samples) // frame
    if num_frames == 0:
        return []
    frames = np.asarray(samples[: num_frames * frame], dtype=np.float64).reshape(num_frames, frame)
    energy_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    peak = float(energy_db.max())
    if peak < -90.0:  # digital silence
        return []
    floor = float(np.percentile(energy_db, 10))
    if peak - floor < params.min_contrast_db:
        return []
    threshold = max(peak - params.threshold_db, floor + params.floor_margin * (peak - floor))
    active = np.concatenate([[False], energy_db > threshold, [False]])
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    runs = (edges.reshape(-1, 2) * params.frame).tolist()  # (start, end) seconds
    merged: list[list[float]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < params.min_pause:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    duration = len(samples) / sample_rate
    regions: list[tuple[float, float]] = []
    for start, end in merged:
        if end - start < params.min_speech:
            continue
        start, end = max(0.0, start - params.pad), min(duration, end + params.pad)
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((round(start, 4), round(end, 4)))
    return [(round(float(s), 4), round(float(e), 4)) for s, e in regions]
