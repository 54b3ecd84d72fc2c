import numpy as np

from diarize.data.labels import rttm_to_frame_targets
from diarize.data.rttm import Turn


def _turn(start, end, speaker):
    return Turn("rec", start, end, speaker)


def test_turns_become_80ms_frames_with_half_threshold():
    turns = [_turn(0.0, 0.16, "A"), _turn(0.20, 0.40, "B")]
    labels = rttm_to_frame_targets(turns, offset=0.0, duration=0.8, max_speakers=3)
    assert labels.targets.shape == (10, 3)
    assert labels.speakers == ("A", "B")
    assert labels.targets[:, 0].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    # B covers 10 ms frames 20..39: frame 2 (16..23) has 4/8 -> on, frames 3, 4 on
    assert labels.targets[:, 1].tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert np.all(labels.targets[:, 2] == 0)


def test_window_offset_and_clipping():
    turns = [_turn(9.0, 11.0, "A"), _turn(20.0, 30.0, "B")]
    labels = rttm_to_frame_targets(turns, offset=10.0, duration=1.6, max_speakers=2)
    assert labels.speakers == ("A",)
    assert labels.targets[:, 0].tolist() == [1] * 13 + [0] * 7  # frame 12 is half active


def test_columns_in_order_of_first_appearance_and_overlap():
    turns = [_turn(1.0, 2.0, "late"), _turn(0.0, 1.5, "early")]
    labels = rttm_to_frame_targets(turns, 0.0, 2.0, 4)
    assert labels.speakers == ("early", "late")
    overlap = labels.targets[:, 0] * labels.targets[:, 1]
    assert overlap.sum() > 0


def test_too_many_speakers_keeps_who_speaks_most():
    turns = [
        _turn(0.0, 0.5, "A"),
        _turn(0.5, 3.0, "B"),
        _turn(3.0, 3.3, "C"),
        _turn(3.3, 5.0, "D"),
    ]
    labels = rttm_to_frame_targets(turns, 0.0, 5.0, 2)
    assert labels.speakers == ("B", "D")
    assert labels.dropped == ("A", "C")
    assert labels.targets.shape == (63, 2)


def test_partial_last_frame_and_no_turns():
    labels = rttm_to_frame_targets([_turn(0.0, 1.0, "A")], 0.0, 0.85, 2)
    assert labels.targets.shape == (11, 2)  # 85 mel frames -> ceil(85 / 8)
    assert labels.targets[-1, 0] == 1  # the 5 available 10 ms frames are all active
    empty = rttm_to_frame_targets([], 0.0, 1.0, 4)
    assert empty.speakers == () and not empty.targets.any()
