import json

import numpy as np
import pytest

from diarize.data.rttm import read_rttm
from diarize.inference.diarizer import Diarization
from diarize.inference.outputs import (
    diarization_json,
    exclusive_segments,
    is_done,
    write_combined_rttm,
    write_outputs,
)


def _result(uri="rec", offset=0.0):
    probs = np.zeros((100, 4), dtype=np.float32)
    probs[0:50, 0] = 0.9
    probs[40:50, 0] = 0.6  # weaker while speaker_1 talks over
    probs[40:70, 1] = 0.8
    speakers = (
        ("speaker_0", 0, ((0.0, 4.0),)),
        ("speaker_1", 1, ((3.2, 5.6),)),
        ("speaker_2", 3, ((6.0, 7.0),)),
    )
    return Diarization(uri, 8.0, offset, probs, speakers)


def test_exclusive_segments_give_overlap_to_highest_posterior():
    pieces = exclusive_segments(_result())
    assert pieces == [
        ("speaker_0", (0.0, 3.2)),
        ("speaker_1", (3.2, 5.6)),
        ("speaker_2", (6.0, 7.0)),
    ]
    # no two exclusive segments overlap
    ends = [e for _, (_, e) in pieces]
    starts = [s for _, (s, _) in pieces]
    assert all(s >= e - 1e-9 for s, e in zip(starts[1:], ends[:-1], strict=True))


def test_exclusive_tie_goes_to_the_later_starter():
    probs = np.full((50, 2), 0.7, dtype=np.float32)
    speakers = (("speaker_0", 0, ((0.0, 3.0),)), ("speaker_1", 1, ((1.0, 2.0),)))
    pieces = exclusive_segments(Diarization("t", 4.0, 0.0, probs, speakers))
    assert pieces == [
        ("speaker_0", (0.0, 1.0)),
        ("speaker_1", (1.0, 2.0)),
        ("speaker_0", (2.0, 3.0)),
    ]


def test_json_document_in_file_time():
    document = diarization_json(_result(offset=10.0), extra={"model": "m.pt"})
    assert document["num_speakers"] == 3
    assert document["segments"][0] == {"speaker": "speaker_0", "start": 10.0, "end": 14.0}
    assert document["exclusive_segments"][1]["start"] == pytest.approx(13.2)
    assert document["model"] == "m.pt"
    json.dumps(document)


def test_write_outputs_and_combined_rttm(tmp_path):
    written = write_outputs(tmp_path, _result("b"), with_json=True, with_plot=True)
    write_outputs(tmp_path, Diarization("a", 0.4, 0.0, np.zeros((5, 4), np.float32), ()))
    assert [p.name for p in written] == ["b.json", "b.png", "b.rttm"]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "b.json").read_text())["uri"] == "b"
    assert (tmp_path / "a.rttm").read_text() == ""  # nobody speaks: empty file
    assert is_done(tmp_path, "b", True, True) and not is_done(tmp_path, "a", True, False)
    combined = write_combined_rttm(tmp_path, ["a", "b"])
    assert [t.uri for t in read_rttm(combined)] == ["b", "b", "b"]
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_plot_with_reference(tmp_path):
    from diarize.data.rttm import Turn
    from diarize.inference.plot import plot_timeline

    reference = [Turn("rec", 0.0, 4.0, "A"), Turn("rec", 3.0, 6.0, "B")]
    path = tmp_path / "p.png"
    plot_timeline(path, _result().turns(), reference, duration=8.0)
    assert path.read_bytes()[:4] == b"\x89PNG"
