"""Hostile input to ``diarize simulate``: one line, a non-zero exit, and nothing half-written."""

from __future__ import annotations

import json

import pytest

from diarize.cli.main import main


def _run(source_manifest, out_dir, *overrides) -> int:
    return main(
        [
            "simulate",
            "--no-progress",
            f"source_manifest={source_manifest}",
            f"out_dir={out_dir}",
            "num_sessions=2",
            "session_length=6",
            "num_speakers=2",
            "num_workers=0",
            *overrides,
        ]
    )


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("length", ["0.5", "1e9", "-3"])
def test_session_length_out_of_bounds_writes_nothing(source_manifest, tmp_path, capsys, length):
    out = tmp_path / "out"
    assert _run(source_manifest, out, f"session_length={length}") == 1
    assert "session_length: must be in [2, 3600] seconds" in _one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("where", ["file", "below_file"])
def test_out_dir_that_cannot_be_written(source_manifest, tmp_path, capsys, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = blocker if where == "file" else blocker / "sim"
    assert _run(source_manifest, out) == 1
    assert f"out_dir {out}" in _one_line(capsys)


def test_offset_past_the_end_of_the_file_is_named(source_manifest, tmp_path, capsys):
    lines = [json.loads(line) for line in source_manifest.read_text().splitlines()]
    lines[3]["offset"] = 100.0  # its duration stays: nothing at all is left to read
    broken = source_manifest.parent / "past_end.json"
    broken.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    assert _run(broken, out) == 1
    error = _one_line(capsys)
    assert "past_end.json:4:" in error and "003.wav" in error and "offset 100" in error
    assert not (out / "plan.json").exists()


def test_a_short_but_valid_session_renders(source_manifest, tmp_path):
    assert _run(source_manifest, tmp_path / "out", "session_length=2", "num_speakers=[1,2,3]") == 0
    assert (tmp_path / "out" / "manifest.json").is_file()
