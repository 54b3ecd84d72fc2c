"""Speech-activity statistics of sessions: measured from speaker intervals (what the RTTM says).

overlap_ratio = time with >= 2 speakers / time with >= 1 speaker;
silence_ratio = time with no speaker / session length.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def activity(intervals: Iterable[tuple[float, float]], end: float) -> tuple[float, float]:
    """Seconds with >= 1 and with >= 2 active intervals inside ``[0, end]``.

    Intervals of one speaker must already be merged (a speaker never overlaps itself).
    """
    spans = np.asarray([(s, e) for s, e in intervals], dtype=np.float64).reshape(-1, 2)
    spans = np.clip(spans, 0.0, end)
    spans = spans[spans[:, 1] > spans[:, 0]]
    if len(spans) == 0:
        return 0.0, 0.0
    times = np.concatenate([spans[:, 0], spans[:, 1]])
    deltas = np.concatenate([np.ones(len(spans)), -np.ones(len(spans))])
    order = np.argsort(times, kind="stable")
    count = np.cumsum(deltas[order])[:-1]
    lengths = np.diff(times[order])
    return float(lengths[count >= 1].sum()), float(lengths[count >= 2].sum())


def session_stats(turns: Sequence[tuple[float, float, str]], duration: float) -> dict[str, float]:
    """Ratios of one session from its (start, end, speaker) turns."""
    speech, overlap = activity(((s, e) for s, e, _ in turns), duration)
    silence = max(0.0, duration - speech)
    return {
        "duration": duration,
        "speech": speech,
        "overlap": overlap,
        "silence": silence,
        "overlap_ratio": overlap / speech if speech > 0 else 0.0,
        "silence_ratio": silence / duration if duration > 0 else 0.0,
        "num_speakers": len({speaker for s, e, speaker in turns if e > s}),
    }


def summarize(
    per_session: Sequence[dict[str, Any]],
    targets: dict[str, float],
    extra_counts: dict[str, Counter] | None = None,
) -> dict[str, Any]:
    """Totals and means over sessions, next to the configured targets.

    Args:
        per_session: ``session_stats`` results (plus ``uri``).
        targets: ``{"overlap_ratio": ..., "silence_ratio": ...}`` as configured.
        extra_counts: further histograms to report (e.g. augmentation types).
    """
    hours = sum(item["duration"] for item in per_session) / 3600.0
    summary: dict[str, Any] = {
        "sessions": len(per_session),
        "hours": round(hours, 4),
        "overlap_ratio": {
            "target": targets["overlap_ratio"],
            "mean": _mean(item["overlap_ratio"] for item in per_session),
            "std": _std(item["overlap_ratio"] for item in per_session),
        },
        "silence_ratio": {
            "target": targets["silence_ratio"],
            "mean": _mean(item["silence_ratio"] for item in per_session),
            "std": _std(item["silence_ratio"] for item in per_session),
        },
        "speakers_histogram": _histogram(item["num_speakers"] for item in per_session),
    }
    for name, counter in (extra_counts or {}).items():
        summary[name] = {str(key): counter[key] for key in sorted(counter, key=str)}
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The printed form of :func:`summarize` (a few aligned lines)."""
    lines = [f"sessions: {summary['sessions']}  hours: {summary['hours']:.2f}"]
    for key in ("overlap_ratio", "silence_ratio"):
        item = summary[key]
        lines.append(
            f"{key}: mean {item['mean']:.3f} (std {item['std']:.3f})  target {item['target']:.3f}"
        )
    histogram = ", ".join(f"{k} spk: {v}" for k, v in summary["speakers_histogram"].items())
    lines.append(f"speakers per session: {histogram}")
    for key, value in summary.items():
        if key in ("sessions", "hours", "overlap_ratio", "silence_ratio", "speakers_histogram"):
            continue
        if isinstance(value, dict):
            lines.append(f"{key}: " + ", ".join(f"{k}: {v}" for k, v in value.items()))
    return "\n".join(lines)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(float(np.mean(values)), 6) if values else 0.0


def _std(values: Iterable[float]) -> float:
    values = list(values)
    return round(float(np.std(values)), 6) if values else 0.0


def _histogram(values: Iterable[int]) -> dict[str, int]:
    counter = Counter(values)
    return {str(key): counter[key] for key in sorted(counter)}
