"""Files written by ``diarize infer``: per-recording RTTM / JSON / PNG and the combined RTTM.

Every file is written atomically (temporary file in the same folder, then rename), so an
interrupted run never leaves a half-written output that a re-run would mistake for done.

The JSON holds the segments, an exclusive (overlap-free) version for aligning ASR words, and the
speaker count. Exclusive segments: wherever several speakers overlap, the one with the highest
mean posterior over that stretch keeps it (ties: the speaker who started last, since in a
conversation the newcomer is usually the one interrupting); adjacent pieces of the same speaker
are merged.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.data.rttm import Turn, read_rttm, write_rttm
from diarize.inference.diarizer import Diarization
from diarize.inference.postprocess import Segment
from diarize.io_utils import atomic_write_text

COMBINED_RTTM = "diarization.rttm"


def rttm_path(out_dir: Path, uri: str) -> Path:
    return Path(out_dir) / f"{uri}.rttm"


def json_path(out_dir: Path, uri: str) -> Path:
    return Path(out_dir) / f"{uri}.json"


def plot_path(out_dir: Path, uri: str) -> Path:
    return Path(out_dir) / f"{uri}.png"


def expected_outputs(out_dir: Path, uri: str, with_json: bool, with_plot: bool) -> list[Path]:
    """The files a finished recording has in ``out_dir``."""
    paths = [rttm_path(out_dir, uri)]
    if with_json:
        paths.append(json_path(out_dir, uri))
    if with_plot:
        paths.append(plot_path(out_dir, uri))
    return paths


def is_done(out_dir: Path, uri: str, with_json: bool, with_plot: bool) -> bool:
    """True when every requested output of ``uri`` already exists (it is then skipped)."""
    return all(p.is_file() for p in expected_outputs(out_dir, uri, with_json, with_plot))


def write_outputs(
    out_dir: Path,
    result: Diarization,
    with_json: bool = False,
    with_plot: bool = False,
    reference: list[Turn] | None = None,
    extra: dict | None = None,
) -> list[Path]:
    """Write the RTTM (empty file when nobody speaks) and the optional JSON and PNG.

    The RTTM goes last: it marks the recording as done for re-runs.
    """
    written = []
    if with_json:
        document = diarization_json(result, extra)
        path = json_path(out_dir, result.uri)
        atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    if with_plot:
        from diarize.inference.plot import plot_timeline

        path = plot_path(out_dir, result.uri)
        plot_timeline(path, result.turns(), reference, result.offset, result.duration, result.uri)
        written.append(path)
    path = rttm_path(out_dir, result.uri)
    write_rttm(path, result.turns())
    written.append(path)
    return written


def write_combined_rttm(out_dir: Path, uris: list[str]) -> Path:
    """Rebuild ``DIR/diarization.rttm`` from the per-recording RTTMs (skipped ones included)."""
    turns: list[Turn] = []
    for uri in uris:
        path = rttm_path(out_dir, uri)
        if path.is_file():
            turns.extend(read_rttm(path))
    path = Path(out_dir) / COMBINED_RTTM
    write_rttm(path, turns)
    return path


def diarization_json(result: Diarization, extra: dict | None = None) -> dict:
    """The JSON document of one recording (times in seconds, in file time)."""

    def as_records(pairs: list[tuple[str, Segment]]) -> list[dict]:
        return [
            {
                "speaker": name,
                "start": round(result.offset + s, 3),
                "end": round(result.offset + e, 3),
            }
            for name, (s, e) in pairs
        ]

    segments = sorted(
        ((name, seg) for name, _, segs in result.speakers for seg in segs),
        key=lambda pair: (pair[1][0], pair[1][1], pair[0]),
    )
    return {
        "uri": result.uri,
        "offset": round(result.offset, 3),
        "duration": round(result.duration, 3),
        "num_speakers": result.num_speakers,
        "speakers": [name for name, _, _ in result.speakers],
        "segments": as_records(segments),
        "exclusive_segments": as_records(exclusive_segments(result)),
        **(extra or {}),
    }


def exclusive_segments(result: Diarization) -> list[tuple[str, Segment]]:
    """Overlap-free segments: each overlapped stretch goes to one speaker (see module doc).

    Returns:
        ``(speaker, (start, end))`` sorted by start, times relative to ``result.offset``.
    """
    tracks = {name: list(segments) for name, _, segments in result.speakers}
    columns = {name: column for name, column, _ in result.speakers}
    first_start = {name: segs[0][0] for name, segs in tracks.items() if segs}
    starts = {name: [s for s, _ in segs] for name, segs in tracks.items()}
    bounds = sorted({t for segs in tracks.values() for seg in segs for t in seg})
    pieces: list[tuple[str, Segment]] = []
    for left, right in zip(bounds[:-1], bounds[1:], strict=True):
        middle = (left + right) / 2
        active = []
        for name, segs in tracks.items():
            i = bisect.bisect_right(starts[name], middle) - 1
            if i >= 0 and segs[i][1] > middle:
                active.append((name, segs[i][0]))
        if not active:
            continue
        if len(active) == 1:
            winner = active[0][0]
        else:
            winner = max(
                active,
                key=lambda pair: (
                    _mean_posterior(result.probs, columns[pair[0]], left, right),
                    pair[1],
                    first_start[pair[0]],
                ),
            )[0]
        if pieces and pieces[-1][0] == winner and abs(pieces[-1][1][1] - left) < 1e-9:
            pieces[-1] = (winner, (pieces[-1][1][0], right))
        else:
            pieces.append((winner, (left, right)))
    return pieces


def _mean_posterior(probs: np.ndarray, column: int, start: float, end: float) -> float:
    if len(probs) == 0:
        return 0.0
    first = min(int(start / FRAME_SHIFT), len(probs) - 1)
    last = max(first + 1, min(int(np.ceil(end / FRAME_SHIFT)), len(probs)))
    return float(probs[first:last, column].mean())
