import json

import numpy as np
import pytest

from diarize.audio.io import write_audio
from diarize.cli.main import main
from diarize.data.manifest import read_manifest


def test_builds_manifest_and_reports_unmatched(tmp_path, capsys):
    audio, rttm = tmp_path / "data" / "wav", tmp_path / "data" / "rttm"
    audio.mkdir(parents=True)
    rttm.mkdir()
    write_audio(audio / "s1.wav", np.zeros(16000, dtype=np.float32))
    write_audio(audio / "s2.wav", np.zeros(8000, dtype=np.float32))
    (rttm / "s1.rttm").write_text(
        "SPEAKER s1 1 0 0.5 <NA> <NA> A <NA> <NA>\nSPEAKER s1 1 0.5 0.5 <NA> <NA> B <NA> <NA>\n"
    )
    (rttm / "lost.rttm").write_text("SPEAKER lost 1 0 1 <NA> <NA> A <NA> <NA>\n")
    out = tmp_path / "data" / "train.json"
    status = main(["manifest", str(audio), "--rttm-dir", str(rttm), "--out", str(out)])
    assert status == 0
    captured = capsys.readouterr()
    assert "1 audio without RTTM" in captured.err and "s2.wav" in captured.err
    assert "1 RTTM without audio" in captured.err and "lost.rttm" in captured.err
    assert "2 files" in captured.out
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0] == {
        "audio_filepath": "wav/s1.wav",
        "offset": 0.0,
        "duration": 1.0,
        "rttm_filepath": "rttm/s1.rttm",
        "uem_filepath": None,
        "num_speakers": 2,
        "uniq_id": "s1",
    }
    assert records[1]["uniq_id"] == "s2" and records[1]["rttm_filepath"] is None
    entries = read_manifest(out)
    assert entries[1].duration == pytest.approx(0.5)


def test_missing_audio_dir_is_a_one_line_error(tmp_path, capsys):
    status = main(["manifest", str(tmp_path / "none"), "--out", str(tmp_path / "m.json")])
    assert status == 1
    assert capsys.readouterr().err.startswith("diarize manifest: error: ")
    assert not (tmp_path / "m.json").exists()


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["manifest", "--help"])
    assert "diarize manifest data/wav --rttm-dir" in capsys.readouterr().out


def test_header_only_audio_is_left_out_and_bad_out_is_one_line(tmp_path, capsys):
    audio = tmp_path / "wav"
    audio.mkdir()
    write_audio(audio / "ok.wav", np.zeros(16000, dtype=np.float32))
    write_audio(audio / "empty.wav", np.zeros(0, dtype=np.float32))
    out = tmp_path / "m.json"
    assert main(["manifest", str(audio), "--out", str(out)]) == 0
    assert "empty.wav" in capsys.readouterr().err
    assert [entry.uniq_id for entry in read_manifest(out)] == ["ok"]
    for bad in (tmp_path, tmp_path / "ok.wav" / "m.json"):
        (tmp_path / "ok.wav").write_text("x")
        assert main(["manifest", str(audio), "--out", str(bad)]) == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith("diarize manifest: error:")
