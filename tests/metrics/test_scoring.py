"""md-eval-22 semantics on hand-computed cases, and where plain pyannote.metrics differs.

Fixtures: tests/fixtures/scoring/{ref.rttm, hyp.rttm, all.uem}. Each expected value below is
derived by hand in the comment above it (times in seconds).
"""

from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from diarize.data.rttm import Turn, load_rttms, turns_to_annotation
from diarize.data.uem import read_uem
from diarize.metrics.scoring import score

FIXTURES = Path(__file__).parents[1] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def data():
    return (
        load_rttms(FIXTURES / "ref.rttm"),
        load_rttms(FIXTURES / "hyp.rttm"),
        read_uem(FIXTURES / "all.uem"),
    )


def _der(data, uri, collar, skip_overlap=False):
    ref, hyp, uem = data
    return score(ref, hyp, uem, collar=collar, skip_overlap=skip_overlap).files[uri]


def _plain_pyannote_der(data, uri, collar, skip_overlap=False):
    ref, hyp, uem = data
    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    region = Timeline([Segment(*r) for r in uem[uri]])
    return 100 * metric(turns_to_annotation(ref[uri]), turns_to_annotation(hyp[uri]), uem=region)


# collar_each_side: ref A 0-10, hyp 1-10, UEM 0-10.
#   collar 0:    missed 1 of 10                                  -> 10 %
#   collar 0.25: scored 0.25-9.75 (9.5 s), missed 0.25-1 (0.75)  -> 7.8947 %
#   plain pyannote's collar=0.25 is a total width: scored 0.125-9.875, missed 0.875 -> 8.974 %
def test_collar_is_on_each_side(data):
    assert _der(data, "collar_each_side", 0.0)["der"] == pytest.approx(10.0)
    file = _der(data, "collar_each_side", 0.25)
    assert file["total"] == pytest.approx(9.5)
    assert file["missed"] == pytest.approx(0.75)
    assert file["der"] == pytest.approx(100 * 0.75 / 9.5)
    assert _plain_pyannote_der(data, "collar_each_side", 0.25) == pytest.approx(100 * 0.875 / 9.75)


# self_overlap: ref A 0-6 and A 4-10 (one speaker written twice on 4-6), hyp s 0-10.
#   merged, A speaks 0-10 once: DER 0, total 10 at collar 0;
#   collar 0.25 around 0, 4, 6, 10 removes 0.25 + 0.5 + 0.5 + 0.25: total 8.5;
#   plain pyannote counts A twice on 4-6: total 12, missed 2 -> 16.67 %
def test_same_speaker_overlap_counts_once(data):
    file = _der(data, "self_overlap", 0.0)
    assert (file["der"], file["total"]) == (pytest.approx(0.0), pytest.approx(10.0))
    assert _der(data, "self_overlap", 0.25)["total"] == pytest.approx(8.5)
    assert _plain_pyannote_der(data, "self_overlap", 0.0) == pytest.approx(100 * 2 / 12)


# map_before_collar: ref A 0-1 and 2-3; hyp x on 0-0.3, 0.7-1, 2-2.3, 2.7-3 and y on 0.3-0.7,
# 2.3-2.7; UEM 0-3. Co-occurrence before collars: A-x 1.2, A-y 0.8, so A -> x.
#   collar 0:    total 2, y's 0.8 s is confusion                         -> 40 %
#   collar 0.25: scored 0.25-0.75, 1.25-1.75, 2.25-2.75; A there 1.0 s, x correct 0.2,
#                y confusion 0.8                                          -> 80 %
#   plain pyannote (collar=0.5, the same width) maps after collars (A -> y): 0.2 / 1 -> 20 %
def test_mapping_is_chosen_before_collars(data):
    assert _der(data, "map_before_collar", 0.0)["der"] == pytest.approx(40.0)
    file = _der(data, "map_before_collar", 0.25)
    assert file["total"] == pytest.approx(1.0)
    assert file["confusion"] == pytest.approx(0.8)
    assert file["der"] == pytest.approx(80.0)
    assert _plain_pyannote_der(data, "map_before_collar", 0.5) == pytest.approx(20.0)
    ref, hyp, uem = data
    assert score(ref, hyp, uem, collar=0.25).mappings["map_before_collar"] == {"A": "x"}


# skip_overlap: ref A 0-6, B 4-9; hyp s1 0-10; UEM 0-10. A-s1 6 s > B-s1 5 s, so A -> s1.
#   collar 0:          0-4 correct, 4-6 B missed (2), 6-9 confusion (3), 9-10 FA (1);
#                      total 6 + 5 = 11                                    -> 6/11
#   collar 0, -1:      4-6 excluded: total 4 + 3 = 7, confusion 3, FA 1   -> 4/7
#   collar 0.25, -1:   scored 0.25-3.75 (A ok), 6.25-8.75 (confusion 2.5), 9.25-10 (FA 0.75);
#                      total 3.5 + 2.5 = 6                                 -> 3.25/6
#   collar 0.25:       adds 4.25-5.75 (B missed 1.5, total 3): total 9     -> 4.75/9
@pytest.mark.parametrize(
    ("collar", "skip", "expected"),
    [(0.0, False, 6 / 11), (0.0, True, 4 / 7), (0.25, True, 3.25 / 6), (0.25, False, 4.75 / 9)],
)
def test_skip_overlap(data, collar, skip, expected):
    assert _der(data, "skip_overlap", collar, skip)["der"] == pytest.approx(100 * expected)


# self_overlap with -1: md-eval counts turns as written, so A overlapping itself on 4-6 is
# excluded: total 4 + 4 = 8.
def test_skip_overlap_uses_turns_as_written(data):
    assert _der(data, "self_overlap", 0.0, skip_overlap=True)["total"] == pytest.approx(8.0)


# derived_uem (no UEM line): region 0-4 from ref A 2-4 and hyp s 0-4 together.
#   collar 0: FA 2 over total 2 -> 100 %; collar 0.25: scored 0-1.75 and 2.25-3.75,
#   FA 1.75 over total 1.5 -> 116.67 %
def test_region_without_uem_spans_reference_and_hypothesis(data):
    ref, hyp, uem = data
    report = score(ref, hyp, uem, collar=0.0)
    assert set(report.derived_uem) == {"derived_uem", "ref_only", "hyp_only"}
    assert report.files["derived_uem"]["false_alarm"] == pytest.approx(2.0)
    assert report.files["derived_uem"]["der"] == pytest.approx(100.0)
    assert _der(data, "derived_uem", 0.25)["der"] == pytest.approx(100 * 1.75 / 1.5)


# ref_only: A 1-3 all missed (collar 0.25 leaves 1.25-2.75); hyp_only: s 0-1.5 all false alarm.
def test_uri_on_one_side_only_is_scored_and_reported(data):
    ref, hyp, uem = data
    report = score(ref, hyp, uem, collar=0.25)
    assert report.ref_only == ("ref_only",)
    assert report.hyp_only == ("hyp_only",)
    assert report.files["ref_only"]["missed"] == pytest.approx(1.5)
    assert report.files["ref_only"]["der"] == pytest.approx(100.0)
    assert report.files["hyp_only"]["false_alarm"] == pytest.approx(1.5)
    assert report.files["hyp_only"]["total"] == 0.0
    assert report.files["hyp_only"]["num_ref_speakers"] == 0


# Overall at collar 0 is time-weighted: total 10+10+2+11+2+2+0 = 37; missed 1+2+2 = 5;
# false alarm 1+2+1.5 = 4.5; confusion 0.8+3 = 3.8 -> 13.3 / 37.
def test_overall_is_time_weighted(data):
    ref, hyp, uem = data
    overall = score(ref, hyp, uem, collar=0.0).overall
    assert overall["total"] == pytest.approx(37.0)
    assert overall["missed"] == pytest.approx(5.0)
    assert overall["false_alarm"] == pytest.approx(4.5)
    assert overall["confusion"] == pytest.approx(3.8)
    assert overall["der"] == pytest.approx(100 * 13.3 / 37)
    assert overall["num_files"] == 7


def test_piece_length_does_not_change_results(data):
    ref, hyp, uem = data
    for collar, skip in [(0.0, False), (0.25, True)]:
        default = score(ref, hyp, uem, collar=collar, skip_overlap=skip)
        small = score(ref, hyp, uem, collar=collar, skip_overlap=skip, piece_seconds=0.37)
        for uri, values in default.files.items():
            for key in ("der", "missed", "false_alarm", "confusion", "total"):
                assert small.files[uri][key] == pytest.approx(values[key], abs=1e-9)


def test_to_dict_has_the_documented_keys(data):
    ref, hyp, uem = data
    report = score(ref, hyp, uem).to_dict()
    assert set(report) == {"overall", "files"}
    for values in [report["overall"], *report["files"].values()]:
        assert {"der", "jer", "missed", "false_alarm", "confusion", "total"} <= set(values)


# JER per reference speaker: (FA + miss) / union. skip_overlap (A 0-6, B 4-9, s1 0-10, A -> s1):
# A: FA 4, miss 0, union 10 -> 0.4; B unmapped -> 1. File JER = 70 %.
def test_jer_hand_computed(data):
    assert _der(data, "skip_overlap", 0.25)["jer"] == pytest.approx(70.0)


def test_speaker_count_accuracy():
    ref = {"a": [Turn("a", 0, 1, "A"), Turn("a", 1, 2, "B")], "b": [Turn("b", 0, 1, "A")]}
    hyp = {"a": [Turn("a", 0, 2, "x")], "b": [Turn("b", 0, 1, "y")]}
    report = score(ref, hyp)
    assert report.files["a"]["num_ref_speakers"] == 2
    assert report.files["a"]["num_hyp_speakers"] == 1
    assert report.overall["speaker_count_accuracy"] == pytest.approx(50.0)


def test_rejects_negative_collar():
    with pytest.raises(ValueError, match="collar"):
        score({}, {}, collar=-1.0)


def test_cost_grows_with_turns_not_with_the_time_span():
    import time

    from diarize.metrics.scoring import _piece_edges

    far = 9.9e6  # just inside the readers' bound; 165,000 one-minute pieces of nothing
    reference = {"u": [Turn("u", 0.0, 1.0, "A"), Turn("u", far, far + 1.0, "A")]}
    hypothesis = {"u": [Turn("u", 0.0, 1.0, "h"), Turn("u", far, far + 2.0, "h")]}
    started = time.perf_counter()
    report = score(reference, hypothesis, collar=0.0)
    assert time.perf_counter() - started < 5.0
    assert report.files["u"]["false_alarm"] == pytest.approx(1.0)
    regions = np.array([[0.0, far + 2.0]])
    rows = [np.array([[0.0, 1.0], [far, far + 1.0]])]
    assert len(_piece_edges(regions, rows, 60.0)) <= 4
