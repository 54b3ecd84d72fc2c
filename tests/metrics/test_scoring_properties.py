"""Property tests: score() against an independent 1 ms frame-based md-eval reimplementation,
and against plain pyannote.metrics where the two agree (collar 0, no same-speaker overlap)."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyannote.core import Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

from diarize.data.rttm import Turn, turns_to_annotation
from diarize.metrics.scoring import score

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_turn = st.tuples(
    st.integers(0, 12_000), st.integers(0, 4_000), st.integers(0, 2)
)  # (start ms, duration ms, speaker)
_turns = st.lists(_turn, min_size=0, max_size=8)


def _to_turns(raw, prefix):
    return [Turn("u", s / 1000, (s + d) / 1000, f"{prefix}{k}") for s, d, k in raw]


def _activity(raw, length):
    """speaker -> bool frames (1 ms) where that speaker speaks (same-speaker overlap once)."""
    frames = {}
    for s, d, k in raw:
        frames.setdefault(k, np.zeros(length, bool))[s : s + d] = True
    return {k: v for k, v in frames.items() if v.any()}


def _optimal_mappings(cooc):
    """All sets of positive (ref, hyp) pairs reaching the maximum total co-occurrence."""
    size = max(cooc.shape)
    padded = np.zeros((size, size), dtype=cooc.dtype)
    padded[: cooc.shape[0], : cooc.shape[1]] = cooc
    best, found = -1, set()
    for perm in itertools.permutations(range(size)):
        pairs = frozenset((r, h) for r, h in enumerate(perm) if padded[r, h] > 0)
        total = sum(padded[r, h] for r, h in pairs)
        if total > best:
            best, found = total, {pairs}
        elif total == best:
            found.add(pairs)
    return found


def frame_der(ref_raw, hyp_raw, regions, collar_ms, skip_overlap):
    """md-eval-22 speaker scoring on 1 ms frames; integers throughout, so exact."""
    length = 20_000
    ref, hyp = _activity(ref_raw, length), _activity(hyp_raw, length)
    evaluated = np.zeros(length, bool)
    for a, b in regions:
        evaluated[a:b] = True
    ref_names, hyp_names = sorted(ref), sorted(hyp)
    cooc = np.array([[np.sum(ref[r] & hyp[h] & evaluated) for h in hyp_names] for r in ref_names])
    cooc = cooc.reshape(len(ref_names), len(hyp_names))
    mappings = _optimal_mappings(cooc) if cooc.size else {frozenset()}
    mapping = next(iter(mappings))
    scored = evaluated.copy()
    for s, d, _ in ref_raw:
        for boundary in (s, s + d):
            scored[max(0, boundary - collar_ms) : boundary + collar_ms] = False
    if skip_overlap:
        as_written = np.zeros(length, int)
        for s, d, _ in ref_raw:
            as_written[s : s + d] += 1
        scored &= as_written <= 1
    zero = np.zeros(length, bool)
    ref_matrix = np.array([ref[r] for r in ref_names] or [zero])
    hyp_matrix = np.array([hyp[h] for h in hyp_names] or [zero])
    n_ref, n_hyp = ref_matrix.sum(0), hyp_matrix.sum(0)
    n_map = sum((ref[ref_names[r]] & hyp[hyp_names[h]]).astype(int) for r, h in mapping)
    n_map = n_map if isinstance(n_map, np.ndarray) else np.zeros(length, int)
    missed = np.maximum(n_ref - n_hyp, 0)[scored].sum() / 1000
    false_alarm = np.maximum(n_hyp - n_ref, 0)[scored].sum() / 1000
    confusion = (np.minimum(n_ref, n_hyp) - n_map)[scored].sum() / 1000
    return {
        "missed": missed,
        "false_alarm": false_alarm,
        "confusion": confusion,
        "total": n_ref[scored].sum() / 1000,
        "ambiguous": len(mappings) > 1,
    }


@st.composite
def _case(draw):
    ref_raw, hyp_raw = draw(_turns), draw(_turns)
    cuts = sorted(draw(st.sets(st.integers(0, 16_000), min_size=2, max_size=6)))
    regions = [(a, b) for a, b in itertools.pairwise(cuts) if draw(st.booleans())]
    return ref_raw, hyp_raw, regions or [(cuts[0], cuts[-1])]


@pytest.mark.parametrize(("collar_ms", "skip"), [(0, False), (250, False), (250, True)])
@SETTINGS
@given(case=_case())
def test_matches_frame_based_md_eval(case, collar_ms, skip):
    ref_raw, hyp_raw, regions = case
    expected = frame_der(ref_raw, hyp_raw, regions, collar_ms, skip)
    # a tie between optimal mappings may be broken differently (only matters with collars)
    assume(not expected["ambiguous"] or (collar_ms == 0 and not skip))
    report = score(
        {"u": _to_turns(ref_raw, "r")},
        {"u": _to_turns(hyp_raw, "h")},
        {"u": [(a / 1000, b / 1000) for a, b in regions]},
        collar=collar_ms / 1000,
        skip_overlap=skip,
    )
    got = report.files["u"]
    for key in ("missed", "false_alarm", "confusion", "total"):
        assert got[key] == pytest.approx(expected[key], abs=1e-6), key


def _without_self_overlap(raw):
    """Drop zero-length turns and turns overlapping an earlier turn of the same speaker."""
    kept, ends = [], {}
    for s, d, k in sorted(raw):
        if d > 0 and s >= ends.get(k, -1):
            kept.append((s, d, k))
            ends[k] = s + d
    return kept


@SETTINGS
@given(ref_raw=_turns, hyp_raw=_turns)
def test_equals_plain_pyannote_at_collar_zero(ref_raw, hyp_raw):
    ref_raw, hyp_raw = _without_self_overlap(ref_raw), _without_self_overlap(hyp_raw)
    ref, hyp = _to_turns(ref_raw, "r"), _to_turns(hyp_raw, "h")
    region = (0.0, 20.0)
    ours = score({"u": ref}, {"u": hyp}, {"u": [region]}, collar=0.0).files["u"]
    metric = DiarizationErrorRate(collar=0.0)
    plain = metric(
        turns_to_annotation(ref), turns_to_annotation(hyp), uem=Timeline([Segment(*region)])
    )
    assert ours["der"] == pytest.approx(100 * plain, abs=1e-6)


@SETTINGS
@given(ref_raw=_turns, hyp_raw=_turns)
def test_jer_equals_pyannote(ref_raw, hyp_raw):
    ref_raw, hyp_raw = _without_self_overlap(ref_raw), _without_self_overlap(hyp_raw)
    assume(ref_raw)  # pyannote says 100 % for nothing against nothing, we say 0 %
    ref, hyp = _to_turns(ref_raw, "r"), _to_turns(hyp_raw, "h")
    ref_act, hyp_act = _activity(ref_raw, 20_000), _activity(hyp_raw, 20_000)
    cooc = np.array(
        [[np.sum(ref_act[r] & hyp_act[h]) for h in sorted(hyp_act)] for r in sorted(ref_act)]
    )
    assume(not cooc.size or len(_optimal_mappings(cooc)) == 1)
    ours = score({"u": ref}, {"u": hyp}, {"u": [(0.0, 20.0)]}, collar=0.0).files["u"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = JaccardErrorRate()(
            turns_to_annotation(ref), turns_to_annotation(hyp), uem=Timeline([Segment(0, 20)])
        )
    assert ours["jer"] == pytest.approx(100 * plain, abs=1e-6)


def test_frame_oracle_self_check():
    # one speaker 0-1 s, hypothesis 0.5-1.5 s: missed 0.5, false alarm 0.5
    result = frame_der([(0, 1000, 0)], [(500, 1000, 0)], [(0, 2000)], 0, False)
    assert (result["missed"], result["false_alarm"], result["total"]) == (0.5, 0.5, 1.0)
