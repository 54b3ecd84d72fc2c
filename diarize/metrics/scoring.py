"""DER and JER with NIST md-eval-22 semantics, counted by pyannote.metrics in linear time.

What md-eval-22 does, and so what :func:`score` does, for each uri:

1. Turns of one speaker that overlap (or touch) are merged: a speaker speaking twice at once
   counts once.
2. The evaluation region is the UEM; without one it is ``[earliest, latest]`` turn boundary of
   reference and hypothesis together (dscore's convention, so false alarms before the first
   reference turn count).
3. The speaker mapping maximises the total co-occurrence of reference and hypothesis speakers
   inside the evaluation region (Hungarian), *before* collars are removed.
4. Collars of ``collar`` seconds on each side of every reference turn boundary, taken from the
   turns as written (before merging), are removed from the region. With ``skip_overlap``, so are
   the places where two or more reference turns as written are active (md-eval ``-1``).
5. Missed, false-alarm and confusion times are counted on what is left.

Plain ``pyannote.metrics.DiarizationErrorRate`` differs on 1, 3 and 4 (its collar is a total
width) and is roughly quadratic in the number of turns. Here pyannote's
``IdentificationErrorRate`` (no collar, the mapping already applied to the hypothesis labels)
counts the errors on ~``piece_seconds`` pieces of the scoring region and the counts are added:
with a fixed mapping the errors of disjoint time pieces are additive, so the cost grows linearly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.identification import IdentificationErrorRate
from scipy.optimize import linear_sum_assignment

from diarize.data.rttm import Turn
from diarize.metrics import intervals as iv

DEFAULT_COLLAR = 0.25
PIECE_SECONDS = 60.0
COMPONENTS = ("missed", "false_alarm", "confusion", "total")


@dataclass(frozen=True)
class ScoreReport:
    """Per-file and overall scores.

    ``files[uri]`` and ``overall`` hold ``der`` and ``jer`` (percent), ``missed``,
    ``false_alarm``, ``confusion`` and ``total`` (seconds of reference speaker time scored).
    Files also hold ``num_ref_speakers``/``num_hyp_speakers`` (speakers with speech in the
    evaluation region) and ``jer_speakers``/``jer_error_sum`` (what the overall JER, a mean over
    all reference speakers of all files as in dscore, is made of); overall holds
    ``speaker_count_accuracy`` (percent of files whose speaker counts agree) and ``num_files``.
    """

    overall: dict[str, float]
    files: dict[str, dict[str, Any]]
    collar: float = DEFAULT_COLLAR
    skip_overlap: bool = False
    derived_uem: tuple[str, ...] = ()  # uris scored over their turns' extent (no UEM line)
    ref_only: tuple[str, ...] = ()  # uris absent from the hypothesis (all missed)
    hyp_only: tuple[str, ...] = ()  # uris absent from the reference (all false alarm)
    mappings: dict[str, dict[str, str]] = field(default_factory=dict)  # uri -> {ref: hyp}

    def to_dict(self) -> dict[str, Any]:
        """``{"overall": {...}, "files": {uri: {...}}}`` (JSON-ready)."""
        return {
            "overall": dict(self.overall),
            "files": {uri: dict(values) for uri, values in self.files.items()},
        }


def score(
    reference: Mapping[str, Sequence[Turn]],
    hypothesis: Mapping[str, Sequence[Turn]],
    uem: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    collar: float = DEFAULT_COLLAR,
    skip_overlap: bool = False,
    *,
    piece_seconds: float = PIECE_SECONDS,
) -> ScoreReport:
    """Score every uri of ``reference`` or ``hypothesis`` the way md-eval-22 does.

    Args:
        reference: ``{uri: turns}``.
        hypothesis: ``{uri: turns}``; a uri missing here is all missed, and a uri found only here
            is all false alarm (md-eval would ignore it; it is reported in ``hyp_only``).
        uem: ``{uri: [(start, end), ...]}`` scoring regions; uris without one (or ``None``) are
            scored over the extent of their reference and hypothesis turns (``derived_uem``).
        collar: seconds removed on *each* side of every reference boundary (md-eval ``-c``).
        skip_overlap: score only where at most one reference turn is active (md-eval ``-1``).
        piece_seconds: length of the pieces handed to pyannote (changes speed, not results).

    Raises:
        ValueError: negative collar or non-positive piece length.
    """
    if not collar >= 0:
        raise ValueError(f"collar must be >= 0, got {collar}")
    if not piece_seconds > 0:
        raise ValueError(f"piece_seconds must be > 0, got {piece_seconds}")
    uem = uem or {}
    files, mappings, derived = {}, {}, []
    for uri in sorted(set(reference) | set(hypothesis)):
        ref_turns, hyp_turns = list(reference.get(uri, ())), list(hypothesis.get(uri, ()))
        if uri in uem:
            regions = iv.union(iv.as_intervals(uem[uri]))
        else:
            regions = _extent(ref_turns + hyp_turns)
            derived.append(uri)
        files[uri], mappings[uri] = score_file(
            ref_turns, hyp_turns, regions, collar, skip_overlap, piece_seconds=piece_seconds
        )
    return ScoreReport(
        overall=_overall(files),
        files=files,
        collar=collar,
        skip_overlap=skip_overlap,
        derived_uem=tuple(derived),
        ref_only=tuple(sorted(set(reference) - set(hypothesis))),
        hyp_only=tuple(sorted(set(hypothesis) - set(reference))),
        mappings=mappings,
    )


def score_file(
    ref_turns: Sequence[Turn],
    hyp_turns: Sequence[Turn],
    regions: np.ndarray,
    collar: float = DEFAULT_COLLAR,
    skip_overlap: bool = False,
    *,
    piece_seconds: float = PIECE_SECONDS,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Scores of one recording and its speaker mapping ``{ref: hyp}``.

    Args:
        regions: normalised evaluation regions (see :mod:`diarize.metrics.intervals`).

    Shape:
        regions: (n, 2)
    """
    ref = merged_by_speaker(ref_turns)
    hyp = merged_by_speaker(hyp_turns)
    ref_names, hyp_names = sorted(ref), sorted(hyp)
    # co-occurrence and per-speaker time inside the evaluation region (before collars)
    points, counts = iv.sweep([regions] + [ref[s] for s in ref_names] + [hyp[s] for s in hyp_names])
    widths = np.diff(points) * (counts[:, 0] > 0) if len(points) > 1 else np.zeros(0)
    ref_active = counts[:, 1 : 1 + len(ref_names)] > 0
    hyp_active = counts[:, 1 + len(ref_names) :] > 0
    cooccurrence = (ref_active * widths[:, None]).T @ hyp_active
    mapping = _hungarian(cooccurrence, ref_names, hyp_names)

    scored = regions
    if collar > 0:
        boundaries = np.array([t for turn in ref_turns for t in (turn.start, turn.end)])
        collars = np.stack([boundaries - collar, boundaries + collar], axis=1)
        scored = iv.difference(scored, collars)
    if skip_overlap:
        as_written = iv.as_intervals([(t.start, t.end) for t in ref_turns])
        scored = iv.difference(scored, iv.covered_at_least(as_written, 2))

    # pyannote compares labels as they are: give mapped hypothesis speakers the reference label
    # and keep unmapped ones apart with a prefix no reference label has
    ref_labelled = {f"R:{name}": ref[name] for name in ref_names}
    hyp_to_ref = {h: r for r, h in mapping.items()}
    hyp_labelled = {
        f"R:{hyp_to_ref[name]}" if name in hyp_to_ref else f"H:{name}": hyp[name]
        for name in hyp_names
    }
    counted = count_errors(ref_labelled, hyp_labelled, scored, piece_seconds)

    ref_time = (ref_active * widths[:, None]).sum(axis=0)
    hyp_time = (hyp_active * widths[:, None]).sum(axis=0)
    jer_errors = _jer_errors(ref_names, hyp_names, ref_time, hyp_time, cooccurrence, mapping)
    if jer_errors:
        jer = _percent(sum(jer_errors), len(jer_errors))
    else:  # no reference speaker: any hypothesis speech is all wrong
        jer = 100.0 if hyp_time.sum() > 0 else 0.0
    errors = counted["missed"] + counted["false_alarm"] + counted["confusion"]
    result = {
        "der": _percent(errors, counted["total"]),
        "jer": jer,
        **counted,
        "num_ref_speakers": int((ref_time > 0).sum()),
        "num_hyp_speakers": int((hyp_time > 0).sum()),
        "jer_speakers": len(jer_errors),
        "jer_error_sum": float(sum(jer_errors)),
    }
    return result, mapping


def count_errors(
    reference: Mapping[str, np.ndarray],
    hypothesis: Mapping[str, np.ndarray],
    regions: np.ndarray,
    piece_seconds: float = PIECE_SECONDS,
) -> dict[str, float]:
    """Missed, false-alarm, confusion and total time, label against label, inside ``regions``.

    pyannote.metrics' ``IdentificationErrorRate`` does the counting on each piece of
    ``piece_seconds``; the regions are cut at the piece edges, so nothing is counted twice.

    Shape:
        each label's intervals (n, 2); regions (m, 2)
    """
    totals = dict.fromkeys(COMPONENTS, 0.0)
    if not len(regions):
        return totals
    edges = _piece_edges(regions, [*reference.values(), *hypothesis.values()], piece_seconds)
    uem_pieces = iv.split_at(regions, edges)
    ref_pieces = {label: iv.split_at(rows, edges) for label, rows in reference.items()}
    hyp_pieces = {label: iv.split_at(rows, edges) for label, rows in hypothesis.items()}
    metric = IdentificationErrorRate()
    names = {"missed": "missed detection", "false_alarm": "false alarm", "confusion": "confusion"}
    for piece, uem_rows in enumerate(uem_pieces):
        ref_annotation = _annotation({k: v[piece] for k, v in ref_pieces.items()})
        hyp_annotation = _annotation({k: v[piece] for k, v in hyp_pieces.items()})
        if not uem_rows or not (ref_annotation or hyp_annotation):
            continue
        uem = Timeline([Segment(lo, hi) for lo, hi in uem_rows])
        components = metric.compute_components(ref_annotation, hyp_annotation, uem=uem)
        totals["total"] += components["total"]
        for key, name in names.items():
            totals[key] += components[name]
    return totals


def _piece_edges(
    regions: np.ndarray, label_rows: Sequence[np.ndarray], piece_seconds: float
) -> np.ndarray:
    """Piece edges on a ``piece_seconds`` grid from the start of ``regions``, kept only where a
    boundary falls in the grid cell: the number of pieces grows with the number of turns, never
    with the time span (an onset of 3.6e8 s must not make 6 million empty pieces).

    Shape:
        regions (m, 2) -> (num_pieces + 1,)
    """
    start, stop = float(regions[0, 0]), float(regions[-1, 1])
    points = np.concatenate([iv.as_intervals(rows).ravel() for rows in (regions, *label_rows)])
    points = points[(points > start) & (points < stop)]
    cells = np.unique(np.floor((points - start) / piece_seconds))
    inner = start + piece_seconds * cells[cells > 0]
    return np.concatenate([[start], inner[inner < stop], [stop]])


def _annotation(pieces: Mapping[str, list[tuple[float, float]]]) -> Annotation:
    annotation = Annotation()
    track = 0
    for label, rows in pieces.items():
        for lo, hi in rows:
            annotation[Segment(lo, hi), track] = label
            track += 1
    return annotation


def merged_by_speaker(turns: Sequence[Turn]) -> dict[str, np.ndarray]:
    """Each speaker's turns as sorted, non-overlapping ``(start, end)`` rows (empty ones left out)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        rows.setdefault(turn.speaker, []).append((turn.start, turn.end))
    merged = {speaker: iv.union(iv.as_intervals(r)) for speaker, r in rows.items()}
    return {speaker: r for speaker, r in merged.items() if len(r)}


def _hungarian(
    cooccurrence: np.ndarray, ref_names: list[str], hyp_names: list[str]
) -> dict[str, str]:
    """Maximum total co-occurrence one-to-one mapping; pairs that never co-occur stay unmapped."""
    if not cooccurrence.size:
        return {}
    rows, cols = linear_sum_assignment(cooccurrence, maximize=True)
    return {
        ref_names[r]: hyp_names[c]
        for r, c in zip(rows, cols, strict=True)
        if cooccurrence[r, c] > 0
    }


def _jer_errors(
    ref_names: list[str],
    hyp_names: list[str],
    ref_time: np.ndarray,
    hyp_time: np.ndarray,
    cooccurrence: np.ndarray,
    mapping: dict[str, str],
) -> list[float]:
    """Per reference speaker (with speech in the region): (FA + miss) / union, 1 if unmapped.

    The same definition as pyannote's ``JaccardErrorRate`` (no collar, overlap scored).
    """
    hyp_index = {name: k for k, name in enumerate(hyp_names)}
    errors = []
    for r, name in enumerate(ref_names):
        if ref_time[r] <= 0:
            continue
        if name not in mapping:
            errors.append(1.0)
            continue
        h = hyp_index[mapping[name]]
        both = cooccurrence[r, h]
        union = ref_time[r] + hyp_time[h] - both
        errors.append(float((ref_time[r] - both + hyp_time[h] - both) / union))
    return errors


def _extent(turns: Sequence[Turn]) -> np.ndarray:
    if not turns:
        return iv.EMPTY.copy()
    start, end = min(t.start for t in turns), max(t.end for t in turns)
    return iv.as_intervals([(start, end)]) if end > start else iv.EMPTY.copy()


def _percent(errors: float, total: float) -> float:
    # an empty reference with false alarms is 100 % wrong, as in pyannote.metrics
    if total > 0:
        return 100.0 * errors / total
    return 100.0 if errors > 0 else 0.0


def _overall(files: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    sums = {key: sum(f[key] for f in files.values()) for key in COMPONENTS}
    errors = sums["missed"] + sums["false_alarm"] + sums["confusion"]
    jer_speakers = sum(f["jer_speakers"] for f in files.values())
    jer_sum = sum(f["jer_error_sum"] for f in files.values())
    hyp_speech = any(f["false_alarm"] > 0 for f in files.values())
    matches = sum(f["num_ref_speakers"] == f["num_hyp_speakers"] for f in files.values())
    return {
        "der": _percent(errors, sums["total"]),
        "jer": _percent(jer_sum, jer_speakers) if jer_speakers else (100.0 if hyp_speech else 0.0),
        **sums,
        "speaker_count_accuracy": 100.0 * matches / len(files) if files else 0.0,
        "num_files": float(len(files)),
    }
