"""Final turns from growing posteriors, for streaming: the same turns as offline
post-processing, emitted as soon as nothing later can change them."""

from __future__ import annotations

import math

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.data.rttm import Turn, speaker_name
from diarize.inference.postprocess import (
    PostProcessingParams,
    binarize,
    mask_to_segments,
    merge_segments,
)

__all__ = ["TurnTracker"]


class TurnTracker:
    """Final turns from growing posteriors, equal to offline post-processing of the same
    posteriors (:func:`speaker_segments` per speaker), emitted as soon as they cannot change.

    Each speaker is re-segmented from a frame where its hysteresis state is known to be off
    (the start of its first speech after its last final turn), so a step costs the frames since
    then, not the whole stream. Times are computed from global frame indices exactly as
    :func:`speaker_segments` computes them, so that ties (a pad meeting the next pad) fall the
    same way as offline.
    """

    def __init__(self, params: PostProcessingParams) -> None:
        self.params = params
        self.anchors: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.turns: list[Turn] = []

    def update(
        self, probs: np.ndarray, frames: int, uri: str, duration: float | None = None
    ) -> list[Turn]:
        """Turns made final by the first ``frames`` rows of ``probs``; ``duration``: the
        stream has ended (every turn is final, clipped to it).

        Shape:
            probs (T, speakers)
        """
        p = self.params
        now = frames * FRAME_SHIFT
        ended = duration is not None
        found: list[tuple[float, float, int]] = []
        for speaker in range(probs.shape[1]):
            anchor = self.anchors.get(speaker, 0)
            mask = binarize(probs[anchor:frames, speaker], p.onset, p.offset)
            raw = [
                (anchor + int(round(s)), anchor + int(round(e)))
                for s, e in mask_to_segments(mask, 1.0)
            ]
            # the steps of speaker_segments, on global frame indices
            limit = duration if ended else now
            padded = [
                (
                    max(0.0, float(s) * FRAME_SHIFT - p.pad_onset),
                    min(limit, float(e) * FRAME_SHIFT + p.pad_offset),
                )
                for s, e in raw
            ]
            merged = merge_segments([(s, e) for s, e in padded if e > s])
            kept = [(s, e) for s, e in merged if e - s >= p.min_duration_on]
            if p.min_duration_off > 0:
                kept = merge_segments(kept, max_gap=p.min_duration_off - 1e-9)
            # a segment still open, or that later speech could still pad-merge into, may grow
            # past min_duration_on or come within min_duration_off of a final-looking turn
            cutoff = math.inf
            if not ended:
                cutoff = now - p.pad_onset - p.min_duration_off
                unsettled = [s for s, e in merged if e >= now - p.pad_onset - 1e-9]
                if unsettled:
                    cutoff = min(cutoff, unsettled[0] - p.min_duration_off)
            done = [(round(s, 6), round(e, 6)) for s, e in kept if e < cutoff - 1e-9]
            found += [(s, e, speaker) for s, e in done]
            settled = anchor
            if done:  # the raw end of its last final turn
                ends = [
                    e for _, e in raw if float(e) * FRAME_SHIFT + p.pad_offset <= done[-1][1] + 1e-6
                ]
                settled = max(ends, default=anchor)
            # restart at its next speech (state off just before), or at the end when there is
            # none: a long-silent speaker costs nothing per step
            later = [s for s, _ in raw if s >= settled]
            self.anchors[speaker] = max(anchor, min(later[0] if later else frames, frames))
        new_turns = []
        for start, end, speaker in sorted(found):
            name = self.names.setdefault(speaker, speaker_name(len(self.names)))
            new_turns.append(Turn(uri=uri, start=start, end=end, speaker=name))
        self.turns += new_turns
        return new_turns
