import json

import numpy as np
import pytest
import soundfile as sf

from diarize.cli.main import main
from diarize.data.rttm import read_rttm


def _speechy(seconds, sr=16000, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    voice = np.sin(2 * np.pi * (140 + 40 * np.sin(3 * t)) * t) * (np.sin(0.7 * t) > -0.3)
    signal = (0.3 * voice + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    return np.stack([signal] * channels, axis=1) if channels > 1 else signal


def _infer(*args):
    return main(["infer", *map(str, args), "--quiet", "--device", "cpu"])


def test_broken_files_are_reported_and_the_run_goes_on(tmp_path, model_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "good.wav", _speechy(4.0), 16000)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.wav").write_text("this is not audio\n")
    nan = _speechy(2.0)
    nan[500] = np.nan
    sf.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    header = (folder / "good.wav").read_bytes()[:30]
    (folder / "truncated.wav").write_bytes(header)

    status = _infer(folder, "--out", tmp_path / "out", "--model", model_path)
    captured = capsys.readouterr()
    assert status == 1
    assert (tmp_path / "out" / "good.rttm").is_file()
    assert (tmp_path / "out" / "diarization.rttm").is_file()
    errors = [
        line for line in captured.err.splitlines() if line.startswith("diarize infer: error:")
    ]
    for name in ("empty.wav", "text.wav", "nan.wav", "truncated.wav"):
        assert any(name in line for line in errors), (name, captured.err)
        assert not (tmp_path / "out" / name.replace(".wav", ".rttm")).exists()
    assert "Traceback" not in captured.err
    assert "4 failed" in captured.out


def test_rerun_skips_and_gives_identical_files(tmp_path, model_path, capsys):
    sf.write(tmp_path / "a.wav", _speechy(5.0), 16000)
    sf.write(tmp_path / "b.flac", _speechy(3.0, seed=1), 16000)
    out = tmp_path / "out"
    assert _infer(tmp_path / "a.wav", tmp_path / "b.flac", "--out", out, "--model", model_path) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(first) == {"a.rttm", "b.rttm", "diarization.rttm"}
    capsys.readouterr()

    assert _infer(tmp_path / "a.wav", tmp_path / "b.flac", "--out", out, "--model", model_path) == 0
    assert "2 skipped" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first

    (out / "a.rttm").write_text("")
    assert _infer(tmp_path / "a.wav", "--out", out, "--model", model_path, "--overwrite") == 0
    assert (out / "a.rttm").read_bytes() == first["a.rttm"]
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_skip_message_counts(tmp_path, model_path, capsys):
    sf.write(tmp_path / "a.wav", _speechy(2.0), 16000)
    _infer(tmp_path / "a.wav", "--out", tmp_path / "o", "--model", model_path)
    capsys.readouterr()
    _infer(tmp_path / "a.wav", "--out", tmp_path / "o", "--model", model_path)
    out = capsys.readouterr().out
    assert "0 diarized" in out and "1 skipped" in out
    assert "Wrote 1 RTTM files to" in out


def test_silence_and_sub_second_files_give_empty_rttm(tmp_path, model_path):
    sf.write(tmp_path / "silence.wav", np.zeros(16000 * 5, np.float32), 16000)
    sf.write(tmp_path / "short.wav", _speechy(0.4), 16000)
    sf.write(tmp_path / "tiny.wav", _speechy(0.01), 16000)
    status = _infer(tmp_path, "--out", tmp_path / "out", "--model", model_path)
    assert status == 0
    for uri in ("silence", "short", "tiny"):
        assert (tmp_path / "out" / f"{uri}.rttm").read_text() == ""


def test_any_format_rate_and_channels_with_unicode_names(tmp_path, model_path):
    folder = tmp_path / "in put"
    folder.mkdir()
    sf.write(folder / "réunion stéréo.FLAC", _speechy(3.0, sr=44100, channels=2), 44100)
    sf.write(folder / "call.mp3", _speechy(3.0, sr=8000), 8000)
    sf.write(folder / "note.ogg", _speechy(2.0, sr=22050), 22050)
    out = tmp_path / "out"
    assert _infer(folder, "--out", out, "--model", model_path) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["call.rttm", "diarization.rttm", "note.rttm", "réunion_stéréo.rttm"]
    for turn in read_rttm(out / "diarization.rttm"):
        assert turn.uri in {"call", "note", "réunion_stéréo"}
        assert 0 <= turn.start < turn.end <= 3.0 + 1e-6


def test_json_and_plot_outputs(tmp_path, model_path):
    sf.write(tmp_path / "talk.wav", _speechy(6.0), 16000)
    out = tmp_path / "out"
    status = _infer(tmp_path / "talk.wav", "--out", out, "--model", model_path, "--json", "--plot")
    assert status == 0
    document = json.loads((out / "talk.json").read_text())
    assert document["uri"] == "talk"
    assert document["num_speakers"] == len(document["speakers"])
    assert {"segments", "exclusive_segments"} <= set(document)
    assert len({(s["speaker"], s["start"]) for s in document["segments"]}) == len(
        document["segments"]
    )
    assert (out / "talk.png").read_bytes()[:4] == b"\x89PNG"


def test_manifest_with_rttm_prints_der_and_honours_hints(tmp_path, model_path, capsys):
    sf.write(tmp_path / "x.wav", _speechy(6.0), 16000)
    (tmp_path / "x.rttm").write_text(
        "SPEAKER x 1 0.0 3.0 <NA> <NA> A <NA> <NA>\nSPEAKER x 1 3.0 3.0 <NA> <NA> B <NA> <NA>\n"
    )
    manifest = tmp_path / "dev.json"
    manifest.write_text(json.dumps({"audio_filepath": "x.wav", "rttm_filepath": "x.rttm"}) + "\n")
    out = tmp_path / "out"
    status = _infer(manifest, "--out", out, "--model", model_path, "--max-speakers", "1", "--plot")
    assert status == 0
    text = capsys.readouterr().out
    assert "DER" in text and "collar 0.25" in text and "collar 0" in text
    assert len({t.speaker for t in read_rttm(out / "x.rttm")}) <= 1


def test_oracle_num_speakers_reads_the_manifest_lines(tmp_path, model_path, capsys):
    sf.write(tmp_path / "x.wav", _speechy(3.0), 16000)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"audio_filepath": "x.wav", "num_speakers": 1000}) + "\n")
    assert _infer(manifest, "--out", tmp_path / "a", "--model", model_path) == 0
    flagged = [manifest, "--out", tmp_path / "b", "--model", model_path, "--oracle-num-speakers"]
    assert _infer(*flagged) == 1  # 1000 speakers: more than any file may hold
    assert "x.wav: manifest num_speakers" in capsys.readouterr().err


def test_bad_arguments_are_one_line_errors(tmp_path, model_path, capsys):
    sf.write(tmp_path / "a.wav", _speechy(2.0), 16000)
    args = (tmp_path / "a.wav", "--out", tmp_path / "o", "--model", model_path)
    assert _infer(*args, "--num-speakers", "2", "--max-speakers", "3") == 1
    assert _infer(*args, "--num-speakers", "99") == 1
    assert _infer(tmp_path / "missing.wav", "--out", tmp_path / "o", "--model", model_path) == 1
    assert _infer(*args[:3], "--model", tmp_path / "nope.pt") == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 4 and all(line.startswith("diarize infer: error:") for line in lines)
    assert "max_speakers" in lines[1] and "missing.wav" in lines[2] and "nope.pt" in lines[3]


def test_longform_settings_change_the_chunking(tmp_path, model_path, capsys):
    sf.write(tmp_path / "long.wav", _speechy(12.0), 16000)
    short_chunks = tmp_path / "chunks.yaml"
    short_chunks.write_text("longform:\n  chunk_seconds: 4\n  cache_frames: 20\n")
    assert _infer(tmp_path / "long.wav", "--out", tmp_path / "a", "--model", model_path) == 0
    args = ("--model", model_path, "--longform", short_chunks)
    assert _infer(tmp_path / "long.wav", "--out", tmp_path / "b", *args) == 0
    # a debug model's posteriors hover near 0.5: any change of context shows in the segments
    assert (tmp_path / "a" / "long.rttm").read_text() != (tmp_path / "b" / "long.rttm").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("chunk_size: 4\n")
    assert (
        _infer(
            tmp_path / "long.wav", "--out", tmp_path / "c", "--model", model_path, "--longform", bad
        )
        == 1
    )
    assert "chunk_size" in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out
