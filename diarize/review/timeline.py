"""What a review page shows, computed in Python: speaker statistics, overlap and error regions.

All times are seconds; interval sets are (n, 2) arrays as in :mod:`diarize.metrics.intervals`.
The error regions use the scoring code's optimal speaker mapping and scoring region, so that
their lengths add up to the file's missed, false-alarm and confusion times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from diarize.data.rttm import Turn
from diarize.metrics import intervals as iv
from diarize.metrics.scoring import DEFAULT_COLLAR, merged_by_speaker, score_file


@dataclass(frozen=True)
class SpeakerStats:
    """Talk time (seconds, overlapping turns of the speaker counted once) and turn count."""

    speaker: str
    talk_time: float
    num_turns: int


@dataclass(frozen=True)
class ErrorRegions:
    """A file's DER, its components and where on the timeline each error happens.

    ``missed``, ``false_alarm`` and ``confusion`` are (n, 3) arrays of rows
    ``(start, end, count)``: inside ``[start, end)`` ``count`` speakers are missed (resp. in
    excess, resp. confused), so that ``sum((end - start) * count)`` is the component's time.

    Shape:
        missed, false_alarm, confusion: (n, 3)
    """

    der: float
    components: dict[str, float]
    mapping: dict[str, str]  # {ref speaker: hyp speaker}
    collar: float
    missed: np.ndarray
    false_alarm: np.ndarray
    confusion: np.ndarray


def speaker_stats(turns: Sequence[Turn]) -> list[SpeakerStats]:
    """Per-speaker talk time and number of turns, most talkative speaker first."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        rows.setdefault(turn.speaker, []).append((turn.start, turn.end))
    stats = [
        SpeakerStats(speaker, iv.measure(iv.union(iv.as_intervals(r))), len(r))
        for speaker, r in rows.items()
    ]
    return sorted(stats, key=lambda s: (-s.talk_time, s.speaker))


def speech_time(turns: Sequence[Turn]) -> float:
    """Seconds where at least one speaker speaks."""
    return iv.measure(iv.union(iv.as_intervals([(t.start, t.end) for t in turns])))


def overlap_regions(turns: Sequence[Turn]) -> np.ndarray:
    """Where two or more different speakers speak at once.

    Shape:
        (n, 2)
    """
    by_speaker = merged_by_speaker(turns)
    if len(by_speaker) < 2:
        return iv.EMPTY.copy()
    points, counts = iv.sweep(list(by_speaker.values()))
    return iv.runs(points, (counts > 0).sum(axis=1) >= 2)


def error_regions(
    ref_turns: Sequence[Turn],
    hyp_turns: Sequence[Turn],
    uem: Sequence[tuple[float, float]] | None = None,
    collar: float = DEFAULT_COLLAR,
) -> ErrorRegions:
    """DER of one file (md-eval semantics, overlap scored) and its errors on the timeline.

    Args:
        uem: scoring regions; default the extent of reference and hypothesis turns, as in
            ``diarize score`` without ``--uem``.
        collar: seconds removed on each side of every reference boundary.
    """
    if uem is not None:
        regions = iv.union(iv.as_intervals(uem))
    else:
        bounds = [t for turn in [*ref_turns, *hyp_turns] for t in (turn.start, turn.end)]
        regions = iv.union(iv.as_intervals([(min(bounds), max(bounds))] if bounds else []))
    result, mapping = score_file(ref_turns, hyp_turns, regions, collar)

    # the region scored is the one score_file counts on: evaluation region minus collars
    scored = regions
    if collar > 0 and ref_turns:
        bounds = np.array([t for turn in ref_turns for t in (turn.start, turn.end)])
        scored = iv.difference(scored, np.stack([bounds - collar, bounds + collar], axis=1))
    ref, hyp = merged_by_speaker(ref_turns), merged_by_speaker(hyp_turns)
    ref_names, hyp_names = sorted(ref), sorted(hyp)
    points, counts = iv.sweep([scored] + [ref[s] for s in ref_names] + [hyp[s] for s in hyp_names])
    inside = counts[:, 0] > 0 if len(counts) else np.zeros(0, dtype=bool)
    ref_active = counts[:, 1 : 1 + len(ref_names)] > 0
    hyp_active = counts[:, 1 + len(ref_names) :] > 0
    num_ref, num_hyp = ref_active.sum(axis=1), hyp_active.sum(axis=1)
    hyp_index = {name: k for k, name in enumerate(hyp_names)}
    correct = np.zeros(len(inside), dtype=np.int64)
    for r, name in enumerate(ref_names):
        if name in mapping:
            correct += ref_active[:, r] & hyp_active[:, hyp_index[mapping[name]]]
    missed = np.maximum(num_ref - num_hyp, 0) * inside
    false_alarm = np.maximum(num_hyp - num_ref, 0) * inside
    confusion = (np.minimum(num_ref, num_hyp) - correct) * inside
    return ErrorRegions(
        der=float(result["der"]),
        components={key: float(result[key]) for key in ("missed", "false_alarm", "confusion")}
        | {"total": float(result["total"])},
        mapping=dict(mapping),
        collar=collar,
        missed=_count_runs(points, missed),
        false_alarm=_count_runs(points, false_alarm),
        confusion=_count_runs(points, confusion),
    )


def _count_runs(points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows ``(start, end, value)`` of the maximal runs of equal non-zero ``values``."""
    if not len(values) or not values.any():
        return np.empty((0, 3), dtype=np.float64)
    change = np.flatnonzero(np.diff(values) != 0) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(values)]
    keep = values[starts] > 0
    starts, ends = starts[keep], ends[keep]
    return np.stack([points[starts], points[ends], values[starts].astype(np.float64)], axis=1)
