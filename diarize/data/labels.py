"""RTTM turns -> frame targets on the model's 80 ms grid (a pure function).

Turns are drawn on a 10 ms grid, averaged over the eight 10 ms frames of each 80 ms model
frame (model frame ``i`` covers 10 ms frames ``[8i, 8i + 8)``, the span every front end centres
frame ``i`` on: see :data:`diarize.audio.features.CENTRE_SHIFT`), then thresholded at 0.5.
Columns are speakers in order of first appearance in the window. When more speakers talk in the
window than the model has columns, the ones who speak most are kept and the others are reported
as dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from diarize.audio.features import SAMPLE_RATE, SUBSAMPLING, num_mel_frames, num_model_frames
from diarize.data.rttm import Turn


@dataclass(frozen=True)
class FrameTargets:
    """Targets of one window.

    Attributes:
        targets: float32 0/1 matrix, column k = ``speakers[k]``; all-zero columns pad to K.
        speakers: speaker names of the columns, in order of first appearance.
        dropped: speakers active in the window that did not fit in K columns.
    """

    targets: np.ndarray
    speakers: tuple[str, ...]
    dropped: tuple[str, ...]


def rttm_to_frame_targets(
    turns: Iterable[Turn], offset: float, duration: float, max_speakers: int
) -> FrameTargets:
    """Frame targets for the window ``[offset, offset + duration)`` of a recording.

    Args:
        turns: the recording's turns (times in seconds from the start of the file).
        offset: window start in seconds.
        duration: window length in seconds.
        max_speakers: number of columns K.

    Shape:
        -> targets (num_model_frames(duration * 16000), max_speakers)
    """
    num_samples = int(round(duration * SAMPLE_RATE))
    fine_frames = num_mel_frames(num_samples)
    frames = num_model_frames(num_samples)
    fine: dict[str, np.ndarray] = {}
    first_seen: dict[str, int] = {}
    for turn in sorted(turns, key=lambda turn: (turn.start, turn.end)):
        start = max(int(round((turn.start - offset) * 100)), 0)
        end = min(int(round((turn.end - offset) * 100)), fine_frames)
        if end <= start:
            continue
        grid = fine.setdefault(turn.speaker, np.zeros(frames * SUBSAMPLING, dtype=np.float32))
        grid[start:end] = 1.0
        first_seen[turn.speaker] = min(first_seen.get(turn.speaker, start), start)
    # average the 10 ms labels of each 80 ms frame; the last frame may be partly outside the audio
    counts = np.clip(fine_frames - SUBSAMPLING * np.arange(frames), 1, SUBSAMPLING)
    coarse = {
        name: grid.reshape(frames, SUBSAMPLING).sum(1) / counts >= 0.5
        for name, grid in fine.items()
    }
    spoken = {name: int(active.sum()) for name, active in coarse.items() if active.any()}
    by_talk = sorted(spoken, key=lambda name: (-spoken[name], first_seen[name], name))
    kept = set(by_talk[:max_speakers])
    speakers = tuple(sorted(kept, key=lambda name: (first_seen[name], name)))
    dropped = tuple(sorted(set(spoken) - kept, key=lambda name: (first_seen[name], name)))
    targets = np.zeros((frames, max_speakers), dtype=np.float32)
    for column, name in enumerate(speakers):
        targets[:, column] = coarse[name]
    return FrameTargets(targets, speakers, dropped)
