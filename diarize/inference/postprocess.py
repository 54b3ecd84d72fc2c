"""Posteriors -> speaker segments: hysteresis, pads, minimum durations, speaker-count hints.

Everything here is a pure function of numpy arrays and floats (nothing is mutated), so the
same code serves ``diarize infer``, the Python API and ``diarize tune``.

The steps follow NeMo's Sortformer post-processing (``vad_utils.py``), per speaker column:

1. hysteresis: a speaker turns on when its posterior rises above ``onset`` and off when it
   falls below ``offset`` (frames are 80 ms; NeMo repeats each frame 8x at 10 ms, which gives
   the same boundaries);
2. pads: each segment grows by ``pad_onset`` before and ``pad_offset`` after; overlapping
   segments of the same speaker merge; segments are clipped to ``[0, duration]``;
3. ``min_duration_on``: segments shorter than this are dropped;
4. ``min_duration_off``: gaps shorter than this are filled.

Then speakers without any segment disappear and the rest are renamed ``speaker_0``,
``speaker_1``, ... in order of first appearance.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.errors import DiarizeError

Segment = tuple[float, float]
PARAMETER_NAMES = (
    "onset",
    "offset",
    "pad_onset",
    "pad_offset",
    "min_duration_on",
    "min_duration_off",
)
PROVENANCE_KEYS = ("model", "data", "der", "collar", "date")


@dataclass(frozen=True)
class PostProcessingParams:
    """Thresholds and durations (seconds) that turn posteriors into segments.

    The defaults are neutral: a plain 0.5 threshold, no pads, no filtering.
    ``provenance`` records what the values were tuned for (model, data, der, collar, date
    and any other key found in the YAML file); it does not change the output.
    """

    onset: float = 0.5
    offset: float = 0.5
    pad_onset: float = 0.0
    pad_offset: float = 0.0
    min_duration_on: float = 0.0
    min_duration_off: float = 0.0
    provenance: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in PARAMETER_NAMES:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise DiarizeError(f"post-processing {name} must be a number, got {value!r}")
            if not np.isfinite(value) or value < 0:
                raise DiarizeError(f"post-processing {name} must be >= 0, got {value}")
        if self.onset > 1 or self.offset > 1:
            raise DiarizeError("post-processing onset and offset must lie in [0, 1]")

    def parameters(self) -> dict[str, float]:
        """The six tunable values as a plain dict."""
        return {name: float(getattr(self, name)) for name in PARAMETER_NAMES}


def load_postprocessing(path: str | Path) -> PostProcessingParams:
    """Read a post-processing YAML (NeMo layout: a ``parameters:`` block, plus provenance keys).

    Raises:
        DiarizeError: one line naming the file: missing, malformed YAML (with its line), no
            ``parameters:`` block, or an unknown or invalid parameter.
    """
    from omegaconf import DictConfig, OmegaConf

    from diarize.config import merge, read_yaml, to_object

    data = read_yaml(path)
    if not isinstance(data.get("parameters"), DictConfig):
        raise DiarizeError(f"{path}: expected a 'parameters:' block (onset, offset, ...)")
    schema = OmegaConf.structured(PostProcessingParams)
    OmegaConf.set_readonly(schema, False)
    params = merge(schema, data.parameters, str(path))
    if "provenance" in data.parameters:
        raise DiarizeError(f"{path}: unknown config key 'parameters.provenance'")
    provenance = OmegaConf.to_container(data, resolve=True)
    provenance.pop("parameters")
    return replace(to_object(params, str(path)), provenance=provenance)


def save_postprocessing(path: str | Path, params: PostProcessingParams) -> None:
    """Write ``params`` as YAML (``parameters:`` block first, then provenance), atomically."""
    import yaml

    from diarize.io_utils import atomic_write_text

    document = {"parameters": params.parameters(), **_plain(params.provenance)}
    atomic_write_text(path, yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def with_provenance(params: PostProcessingParams, **provenance: object) -> PostProcessingParams:
    """A copy of ``params`` with provenance keys added (``date`` filled in when absent)."""
    merged = {**params.provenance, **provenance}
    merged.setdefault("date", _dt.date.today().isoformat())
    return replace(params, provenance=merged)


def binarize(probs: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """Hysteresis thresholding of one speaker's posteriors.

    A frame turns the speaker on when ``p > onset`` and off when ``p < offset``; otherwise the
    previous state holds (the speaker starts off). When ``onset < offset`` a frame can satisfy
    both; then it toggles the state, as NeMo's frame-by-frame scan does.

    Shape:
        (T,) -> (T,) bool
    """
    probs = np.asarray(probs, dtype=np.float64)
    on = probs > onset
    off = probs < offset
    if not np.any(on & off):
        # no ambiguous frames: the state is the last decisive frame's, forward-filled
        decisive = on | off
        last = np.where(decisive, np.arange(len(probs)), -1)
        last = np.maximum.accumulate(last) if len(last) else last
        return np.where(last >= 0, on[np.maximum(last, 0)], False)
    active = np.zeros(len(probs), dtype=bool)
    state = False
    for i in range(len(probs)):
        state = (not off[i]) if state else bool(on[i])
        active[i] = state
    return active


def mask_to_segments(mask: np.ndarray, frame_shift: float = FRAME_SHIFT) -> list[Segment]:
    """Runs of True frames as ``(start, end)`` seconds; frame ``i`` spans ``[i, i+1) * shift``.

    Shape:
        (T,) bool -> list of segments
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [
        (float(s) * frame_shift, float(e) * frame_shift) for s, e in zip(starts, ends, strict=True)
    ]


def merge_segments(segments: list[Segment], max_gap: float = 0.0) -> list[Segment]:
    """Sort and merge segments that overlap or are separated by at most ``max_gap`` seconds."""
    merged: list[list[float]] = []
    for start, end in sorted(segments):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def speaker_segments(
    probs: np.ndarray, params: PostProcessingParams, duration: float | None = None
) -> list[Segment]:
    """Segments of one speaker column after hysteresis, pads and min-duration filtering.

    Args:
        probs: posteriors of one speaker at 80 ms frames.
        params: thresholds and durations.
        duration: audio length in seconds (segments are clipped to it); default ``T * 0.08``.

    Shape:
        (T,) -> list of ``(start, end)`` seconds
    """
    limit = len(probs) * FRAME_SHIFT if duration is None else float(duration)
    raw = mask_to_segments(binarize(probs, params.onset, params.offset))
    padded = [
        (max(0.0, start - params.pad_onset), min(limit, end + params.pad_offset))
        for start, end in raw
    ]
    segments = merge_segments([(s, e) for s, e in padded if e > s])
    # NeMo's "speech first" filtering: drop short speech, then fill short gaps
    segments = [(s, e) for s, e in segments if e - s >= params.min_duration_on]
    if params.min_duration_off > 0:
        segments = merge_segments(segments, max_gap=params.min_duration_off - 1e-9)
    return [(round(s, 6), round(e, 6)) for s, e in segments]


def postprocess(
    probs: np.ndarray,
    params: PostProcessingParams | None = None,
    duration: float | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> dict[str, list[Segment]]:
    """Posteriors of all speaker columns -> ``{"speaker_0": [(start, end), ...], ...}``.

    Speakers are named in order of first appearance; see :func:`select_speakers` for the
    speaker-count hints.

    Shape:
        (T, K) -> dict of speaker -> segments
    """
    chosen = select_speakers(probs, params, duration, num_speakers, min_speakers, max_speakers)
    from diarize.data.rttm import speaker_name

    return {speaker_name(i): segments for i, (_, segments) in enumerate(chosen)}


def select_speakers(
    probs: np.ndarray,
    params: PostProcessingParams | None = None,
    duration: float | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> list[tuple[int, list[Segment]]]:
    """Post-process every column and apply the speaker-count hints.

    Hints (``num_speakers`` sets both bounds):

    * more active speakers than ``max_speakers``: keep the ``max_speakers`` with the most
      speech (ties: larger posterior sum), drop the others;
    * fewer than ``min_speakers``: the inactive columns with the largest posterior sum are
      binarized again with ``onset = offset = half of that column's peak`` (same pads and
      minimum durations), strongest first, until ``min_speakers`` are active. A column whose
      peak is below 0.05 is left out: the model does not hear a speaker there, and inventing
      one would only add false alarms. So ``min_speakers`` is a best effort, never a promise.

    Returns:
        ``(column, segments)`` per kept speaker, in order of first appearance.

    Shape:
        (T, K) -> list of (column, segments)
    """
    params = params or PostProcessingParams()
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2:
        raise DiarizeError(f"expected posteriors of shape (frames, speakers), got {probs.shape}")
    low, high = check_speaker_hints(num_speakers, min_speakers, max_speakers, probs.shape[1])
    columns = {k: speaker_segments(probs[:, k], params, duration) for k in range(probs.shape[1])}
    active = [k for k, segs in columns.items() if segs]
    mass = probs.sum(axis=0)

    if high is not None and len(active) > high:
        speech = {k: sum(e - s for s, e in columns[k]) for k in active}
        active = sorted(sorted(active, key=lambda k: (-speech[k], -mass[k]))[:high])
    if low is not None and len(active) < low:
        for k in sorted(set(columns) - set(active), key=lambda k: -mass[k]):
            if len(active) >= low:
                break
            peak = float(probs[:, k].max()) if len(probs) else 0.0
            if peak < 0.05:
                continue
            relaxed = replace(params, onset=peak / 2, offset=peak / 2)
            columns[k] = speaker_segments(probs[:, k], relaxed, duration)
            if columns[k]:
                active.append(k)

    order = sorted(active, key=lambda k: (columns[k][0][0], k))
    return [(k, columns[k]) for k in order]


def check_speaker_hints(
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    model_max_speakers: int,
) -> tuple[int | None, int | None]:
    """Validate speaker-count hints and return ``(low, high)`` bounds (None = unbounded).

    Raises:
        DiarizeError: negative or inconsistent hints, or more speakers asked than the model has.
    """
    # zero speakers is no diarization: num/max must be >= 1 (the command line's rule too)
    for name, value, least in (
        ("num_speakers", num_speakers, 1),
        ("min_speakers", min_speakers, 0),
        ("max_speakers", max_speakers, 1),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least
        ):
            raise DiarizeError(f"{name} must be an integer >= {least}, got {value!r}")
    for name, value in (("num_speakers", num_speakers), ("min_speakers", min_speakers)):
        if value is not None and value > model_max_speakers:
            raise DiarizeError(
                f"{name}={value} exceeds this model's max_speakers={model_max_speakers}"
            )
    if num_speakers is not None:
        if min_speakers is not None or max_speakers is not None:
            raise DiarizeError("give either num_speakers or min_speakers/max_speakers, not both")
        return num_speakers, num_speakers
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise DiarizeError(
            f"min_speakers={min_speakers} is larger than max_speakers={max_speakers}"
        )
    return min_speakers, max_speakers


def _plain(value: object) -> object:
    """Provenance values as YAML-safe builtins (numpy scalars, paths -> float/str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


__all__ = [
    "PARAMETER_NAMES",
    "PostProcessingParams",
    "binarize",
    "check_speaker_hints",
    "load_postprocessing",
    "mask_to_segments",
    "merge_segments",
    "postprocess",
    "save_postprocessing",
    "select_speakers",
    "speaker_segments",
    "with_provenance",
]
