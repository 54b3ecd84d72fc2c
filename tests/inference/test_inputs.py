import json

import numpy as np
import pytest
import soundfile as sf

from diarize.errors import DiarizeError
from diarize.inference.inputs import expand_inputs, reference_turns, safe_uri, scoring_uem


def _wav(path, seconds=0.5, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * sr), np.float32), sr)
    return path


def test_folder_is_recursive_case_insensitive_and_sorted(tmp_path):
    _wav(tmp_path / "b" / "deep" / "Z.WAV")
    _wav(tmp_path / "a.Flac")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".partial.wav").write_text("x")
    items = expand_inputs([tmp_path])
    assert [i.uri for i in items] == ["a", "Z"]
    assert items[1].audio_filepath == tmp_path / "b" / "deep" / "Z.WAV"


def test_a_folder_lists_phone_and_video_recordings_so_that_they_fail_loudly(tmp_path):
    _wav(tmp_path / "a.wav")
    (tmp_path / "call.M4A").write_bytes(b"not decodable here")
    (tmp_path / "notes.txt").write_text("x")
    assert [i.uri for i in expand_inputs([tmp_path])] == ["a", "call"]


def test_unicode_and_spaces_give_rttm_safe_uris(tmp_path):
    path = _wav(tmp_path / "réunion du lundi 1.wav")
    (item,) = expand_inputs([path])
    assert item.uri == "réunion_du_lundi_1"
    assert item.audio_filepath == path
    assert safe_uri("  a \t b ") == "a_b"


def test_manifest_items_resolve_paths_and_keep_rttm(tmp_path):
    _wav(tmp_path / "audio" / "x.wav")
    (tmp_path / "x.rttm").write_text("SPEAKER other 1 0.5 1.0 <NA> <NA> A <NA> <NA>\n")
    manifest = tmp_path / "dev.json"
    lines = [
        {"audio_filepath": "audio/x.wav", "rttm_filepath": "x.rttm", "offset": 0.1},
        {"audio_filepath": "audio/x.wav", "uniq_id": "second", "duration": 0.2},
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    first, second = expand_inputs([manifest])
    assert first.uri == "x" and first.offset == 0.1 and first.rttm_filepath == tmp_path / "x.rttm"
    assert second.uri == "second" and second.duration == 0.2 and second.rttm_filepath is None
    # a single-uri RTTM is this recording's reference, renamed to its uri
    (turn,) = reference_turns(first)
    assert (turn.uri, turn.start, turn.end, turn.speaker) == ("x", 0.5, 1.5, "A")
    assert reference_turns(second) is None
    assert scoring_uem(second) == [(0.0, 0.2)]
    assert scoring_uem(first) == [(0.1, pytest.approx(0.5))]


def test_duplicate_uris_name_both_files(tmp_path):
    a = _wav(tmp_path / "one" / "same.wav")
    b = _wav(tmp_path / "two" / "same.flac")
    with pytest.raises(DiarizeError) as error:
        expand_inputs([tmp_path])
    assert str(a) in str(error.value) or str(b) in str(error.value)
    assert "same" in str(error.value)
    with pytest.raises(DiarizeError, match="given twice"):
        expand_inputs([a, a])


def test_missing_input_and_empty_folder(tmp_path):
    with pytest.raises(DiarizeError, match="no such file or folder"):
        expand_inputs([tmp_path / "nope.wav"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiarizeError, match="no audio files"):
        expand_inputs([tmp_path / "empty"])


def test_bad_manifest_line_is_located(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text('{"audio_filepath": "a.wav"}\nnot json\n')
    with pytest.raises(DiarizeError, match="m.json:2"):
        expand_inputs([manifest])
