from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diarize.errors import DiarizeError
from diarize.inference.postprocess import (
    PostProcessingParams,
    binarize,
    load_postprocessing,
    mask_to_segments,
    merge_segments,
    postprocess,
    save_postprocessing,
    select_speakers,
    speaker_segments,
    with_provenance,
)

REPO = Path(__file__).resolve().parents[2]
F = 0.08  # seconds per frame


def _binarize_scan(probs, onset, offset):
    """NeMo's frame-by-frame scan, the reference for the vectorised path."""
    state, out = False, []
    for p in probs:
        state = (not p < offset) if state else bool(p > onset)
        out.append(state)
    return np.array(out, dtype=bool)


def test_hysteresis_keeps_state_between_thresholds():
    probs = np.array([0.1, 0.7, 0.5, 0.45, 0.35, 0.5, 0.65, 0.1])
    active = binarize(probs, onset=0.6, offset=0.4)
    assert active.tolist() == [False, True, True, True, False, False, True, False]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=0, max_size=40),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_binarize_matches_frame_scan(probs, onset, offset):
    probs = np.array(probs)
    assert binarize(probs, onset, offset).tolist() == _binarize_scan(probs, onset, offset).tolist()


def test_mask_to_segments_and_merge():
    assert mask_to_segments(np.array([0, 1, 1, 0, 1], bool)) == [(F, 3 * F), (4 * F, 5 * F)]
    assert mask_to_segments(np.zeros(3, bool)) == []
    assert merge_segments([(3, 4), (0, 1), (1.05, 2)], max_gap=0.1) == [(0, 2), (3, 4)]


def test_pads_are_clipped_and_merge_segments():
    probs = np.zeros(50)
    probs[0:5] = probs[8:12] = 0.9  # two runs 0.24 s apart
    params = PostProcessingParams(pad_onset=0.1, pad_offset=0.2)
    segs = speaker_segments(probs, params, duration=4.0)
    assert segs == [(0.0, pytest.approx(12 * F + 0.2))]


def test_min_duration_on_then_off():
    probs = np.zeros(100)
    probs[10:20] = 0.9  # 0.8 s
    probs[22:23] = 0.9  # 0.08 s blip after a 0.16 s gap
    probs[30:40] = 0.9  # 0.8 s after a 0.56 s gap
    on_only = PostProcessingParams(min_duration_on=0.1)
    assert speaker_segments(probs, on_only) == [
        pytest.approx((10 * F, 20 * F)),
        pytest.approx((30 * F, 40 * F)),
    ]
    # the blip is dropped first, so the 0.8 s gap is too long for min_duration_off=0.7
    both = PostProcessingParams(min_duration_on=0.1, min_duration_off=0.7)
    assert len(speaker_segments(probs, both)) == 2
    fill = PostProcessingParams(min_duration_on=0.1, min_duration_off=0.9)
    assert speaker_segments(probs, fill) == [pytest.approx((10 * F, 40 * F))]


def test_speakers_named_by_first_appearance_and_empty_dropped():
    probs = np.zeros((30, 4), dtype=np.float32)
    probs[20:25, 0] = 0.9  # column 0 speaks last
    probs[5:10, 2] = 0.8  # column 2 speaks first
    speakers = postprocess(probs)
    assert list(speakers) == ["speaker_0", "speaker_1"]
    assert speakers["speaker_0"] == [pytest.approx((5 * F, 10 * F))]
    assert [k for k, _ in select_speakers(probs)] == [2, 0]


def test_postprocess_does_not_mutate_input():
    probs = np.random.default_rng(0).random((40, 3)).astype(np.float32)
    copy = probs.copy()
    postprocess(probs, PostProcessingParams(onset=0.3, pad_onset=0.2), num_speakers=1)
    np.testing.assert_array_equal(probs, copy)


def _three_speakers():
    probs = np.zeros((100, 4), dtype=np.float32)
    probs[0:40, 0] = 0.9  # 3.2 s
    probs[40:50, 1] = 0.9  # 0.8 s
    probs[50:80, 2] = 0.9  # 2.4 s
    probs[:, 3] = 0.3  # never above 0.5
    return probs


def test_max_speakers_keeps_the_most_active():
    speakers = select_speakers(_three_speakers(), max_speakers=2)
    assert [k for k, _ in speakers] == [0, 2]


def test_num_speakers_adds_the_strongest_inactive_column():
    speakers = select_speakers(_three_speakers(), num_speakers=4)
    assert sorted(k for k, _ in speakers) == [0, 1, 2, 3]
    # relaxed threshold = half the peak (0.15) < 0.3: the whole file
    assert dict(speakers)[3] == [(0.0, pytest.approx(8.0))]


def test_min_speakers_does_not_invent_silent_speakers():
    probs = _three_speakers()
    probs[:, 3] = 0.01
    assert len(select_speakers(probs, min_speakers=4)) == 3


def test_speaker_hints_are_checked():
    probs = _three_speakers()
    with pytest.raises(DiarizeError, match="max_speakers=4"):
        postprocess(probs, num_speakers=5)
    with pytest.raises(DiarizeError, match="not both"):
        postprocess(probs, num_speakers=2, max_speakers=3)
    with pytest.raises(DiarizeError, match="larger than"):
        postprocess(probs, min_speakers=3, max_speakers=2)


def test_segments_are_clipped_to_duration():
    probs = np.full((10, 1), 0.9, dtype=np.float32)
    segs = postprocess(probs, PostProcessingParams(pad_offset=0.5), duration=0.75)
    assert segs["speaker_0"] == [(0.0, 0.75)]


def test_yaml_round_trip_with_provenance(tmp_path):
    params = with_provenance(
        PostProcessingParams(onset=0.62, offset=0.41, min_duration_on=0.1),
        model="m.pt",
        der=np.float64(12.5),
        collar=0.25,
    )
    path = tmp_path / "pp.yaml"
    save_postprocessing(path, params)
    loaded = load_postprocessing(path)
    assert loaded == params
    assert loaded.provenance["model"] == "m.pt"
    assert loaded.provenance["der"] == 12.5
    assert "date" in loaded.provenance
    assert path.read_text().startswith("parameters:")


def test_shipped_default_yaml_is_neutral():
    assert load_postprocessing(REPO / "conf/postprocess/default.yaml") == PostProcessingParams()


def test_bad_yaml_is_one_line_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("parameters:\n  onset: 0.5\n  threshold: 0.3\n")
    with pytest.raises(DiarizeError, match="bad.yaml: unknown .*threshold"):
        load_postprocessing(path)
    path.write_text("parameters: [1, 2\n")
    with pytest.raises(DiarizeError, match="bad.yaml:"):
        load_postprocessing(path)
    path.write_text("parameters:\n  onset: 1.5\n")
    with pytest.raises(DiarizeError, match=r"bad.yaml: .*\[0, 1\]"):
        load_postprocessing(path)
