"""A timeline picture of who spoke when (``diarize infer --plot``).

One row per hypothesis speaker; when a reference is known, its speakers are drawn underneath
in grey, so misses and confusions can be seen at a glance. matplotlib is imported here only,
with the non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path

from diarize.data.rttm import Turn
from diarize.io_utils import atomic_path


def plot_timeline(
    path: str | Path,
    hypothesis: list[Turn],
    reference: list[Turn] | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    title: str = "",
) -> None:
    """Draw the speaker timeline to a PNG, atomically.

    Args:
        path: the PNG to write.
        hypothesis: diarization turns (file time).
        reference: reference turns of the same recording, or None.
        offset: start of the diarized window in the file.
        duration: length of the window; default the end of the last turn.
        title: figure title (the uri).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(hypothesis, "")
    if reference:
        rows += _rows(reference, "ref ")
    ends = [t.end for t in hypothesis + list(reference or [])]
    stop = offset + duration if duration is not None else max(ends, default=offset + 1.0)
    height = 1.0 + 0.35 * max(len(rows), 1)
    figure, axes = plt.subplots(figsize=(12, height))
    colours = plt.get_cmap("tab10")
    for index, (label, turns) in enumerate(rows):
        y = len(rows) - 1 - index
        colour = "0.55" if label.startswith("ref ") else colours(index % 10)
        axes.broken_barh([(t.start, t.end - t.start) for t in turns], (y - 0.4, 0.8), color=colour)
    axes.set_yticks(range(len(rows)), [label for label, _ in reversed(rows)])
    axes.set_xlim(offset, max(stop, offset + 1e-3))
    axes.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    axes.set_xlabel("time (s)")
    axes.set_title(title or (hypothesis[0].uri if hypothesis else ""))
    if reference:
        axes.axhline(len(rows) - len(_rows(hypothesis, "")) - 0.5, color="0.2", lw=0.8)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(figure)


def _rows(turns: list[Turn], prefix: str) -> list[tuple[str, list[Turn]]]:
    """Turns grouped by speaker, speakers in order of first appearance."""
    grouped: dict[str, list[Turn]] = {}
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        grouped.setdefault(turn.speaker, []).append(turn)
    return [(f"{prefix}{speaker}", group) for speaker, group in grouped.items()]
