import numpy as np
import pytest

from diarize.data.rttm import Turn
from diarize.metrics.scoring import score
from diarize.review.timeline import error_regions, overlap_regions, speaker_stats, speech_time


def _turns(rows, uri="f"):
    return [Turn(uri, start, end, speaker) for start, end, speaker in rows]


def _time(rows: np.ndarray) -> float:
    return float(((rows[:, 1] - rows[:, 0]) * rows[:, 2]).sum()) if len(rows) else 0.0


def test_error_regions_by_hand():
    ref = _turns([(0, 4, "A"), (4, 8, "B"), (6, 8, "C")])
    hyp = _turns([(0, 4, "x"), (4, 6, "y"), (6, 8, "x"), (9, 10, "z")])
    errors = error_regions(ref, hyp, collar=0.0)
    assert errors.mapping == {"A": "x", "B": "y"}
    # 6-8: B and C speak, x alone: one missed, one confused; 9-10: z is a false alarm
    assert errors.missed.tolist() == [[6, 8, 1]]
    assert errors.confusion.tolist() == [[6, 8, 1]]
    assert errors.false_alarm.tolist() == [[9, 10, 1]]
    assert errors.der == pytest.approx(100 * (2 + 2 + 1) / 10)


@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_error_regions_add_up_to_the_scores(example_ref, example_hyp, collar):
    errors = error_regions(example_ref, example_hyp, collar=collar)
    expected = score({"f": example_ref}, {"f": example_hyp}, collar=collar).files["f"]
    assert errors.der == pytest.approx(expected["der"])
    for key in ("missed", "false_alarm", "confusion"):
        assert _time(getattr(errors, key)) == pytest.approx(expected[key], abs=1e-6), key
        assert errors.components[key] == pytest.approx(expected[key])
    assert errors.der > 0


def test_overlap_and_stats():
    turns = _turns([(0, 3, "A"), (2, 5, "B"), (4, 6, "A"), (4.5, 5, "A")])
    assert overlap_regions(turns).tolist() == [[2, 3], [4, 5]]
    assert overlap_regions(_turns([(0, 2, "A"), (1, 3, "A")])).shape == (0, 2)
    stats = {s.speaker: s for s in speaker_stats(turns)}
    assert stats["A"].talk_time == pytest.approx(5) and stats["A"].num_turns == 3
    assert stats["B"].talk_time == pytest.approx(3) and stats["B"].num_turns == 1
    assert speech_time(turns) == pytest.approx(6)
