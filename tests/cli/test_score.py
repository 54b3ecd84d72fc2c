import json
from pathlib import Path

import pytest

from diarize.cli.main import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "scoring"


def test_scores_fixtures_and_writes_json(tmp_path, capsys):
    out = tmp_path / "scores.json"
    status = main(
        [
            "score",
            "--ref",
            str(FIXTURES / "ref.rttm"),
            "--hyp",
            str(FIXTURES / "hyp.rttm"),
            "--uem",
            str(FIXTURES / "all.uem"),
            "--collar",
            "0.25",
            "--json",
            str(out),
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("map_before_collar "))
    assert row.split()[1] == "80.00"  # hand-computed in tests/metrics/test_scoring.py
    assert any(line.startswith("OVERALL") for line in lines)
    assert "speaker-count accuracy" in text
    assert "no UEM for derived_uem, hyp_only, ref_only" in text
    assert "missing from the hypothesis (all missed): ref_only" in text
    assert "missing from the reference (all false alarm" in text
    report = json.loads(out.read_text())
    assert set(report) == {"overall", "files"}
    assert report["files"]["collar_each_side"]["der"] == pytest.approx(100 * 0.75 / 9.5)
    assert report["files"]["collar_each_side"]["total"] == pytest.approx(9.5)
    assert {"der", "jer", "missed", "false_alarm", "confusion", "total"} <= set(report["overall"])


def test_skip_overlap_and_folder_inputs(tmp_path, capsys):
    ref_dir, hyp_dir = tmp_path / "ref", tmp_path / "hyp"
    ref_dir.mkdir()
    hyp_dir.mkdir()
    (ref_dir / "a.rttm").write_text(
        "SPEAKER a 1 0 6 <NA> <NA> A <NA> <NA>\nSPEAKER a 1 4 5 <NA> <NA> B <NA> <NA>\n"
    )
    (hyp_dir / "a.rttm").write_text("SPEAKER a 1 0 10 <NA> <NA> s1 <NA> <NA>\n")
    assert (
        main(
            [
                "score",
                "--ref",
                str(ref_dir),
                "--hyp",
                str(hyp_dir),
                "--collar",
                "0",
                "--skip-overlap",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    # region 0-10 (hypothesis ends last), 4-6 skipped: confusion 3 + FA 1 over 7 s
    assert next(line for line in text.splitlines() if line.startswith("a ")).split()[1] == "57.14"
    assert "no UEM for all files" in text
    assert "overlap skipped" in text


def test_bad_rttm_line_is_a_one_line_error(tmp_path, capsys):
    ref = tmp_path / "ref.rttm"
    ref.write_text("SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER a 1 0 1 <NA> <NA> A\n")
    status = main(["score", "--ref", str(ref), "--hyp", str(FIXTURES / "hyp.rttm")])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith(f"diarize score: error: {ref}:2: expected 10")
    assert len(err.strip().splitlines()) == 1


def test_negative_collar_is_rejected(capsys):
    status = main(
        [
            "score",
            "--ref",
            str(FIXTURES / "ref.rttm"),
            "--hyp",
            str(FIXTURES / "hyp.rttm"),
            "--collar",
            "-1",
        ]
    )
    assert status == 1
    assert "--collar must be >= 0" in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "diarize score --ref" in text and "md-eval" in text


def test_cli_default_collar_matches_the_library():
    from diarize.cli import score as score_cli
    from diarize.metrics import scoring

    assert score_cli.DEFAULT_COLLAR == scoring.DEFAULT_COLLAR


def test_closed_stdout_pipe_ends_quietly():
    """`diarize score ... | head -1`: the reader leaves early; no traceback, exit 141."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "diarize.cli.main", "score", "--ref",
               str(FIXTURES / "ref.rttm"), "--hyp", str(FIXTURES / "hyp.rttm")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # nobody reads the report
    stderr = process.stderr.read().decode()
    assert process.wait() == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def _rttm(path, text):
    path.write_text(text)
    return path


def test_json_where_it_cannot_be_written_fails_before_the_report(tmp_path, capsys):
    ref = _rttm(tmp_path / "ref.rttm", "SPEAKER u 1 0 1 <NA> <NA> A <NA> <NA>\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "folder").mkdir()
    for target in (tmp_path / "folder", blocker / "scores.json"):
        args = ["score", "--ref", str(ref), "--hyp", str(ref), "--json", str(target)]
        assert main(args) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        (line,) = captured.err.splitlines()
        assert line.startswith("diarize score: error:")


def test_hostile_times_and_bom_are_handled(tmp_path, capsys):
    ref = _rttm(tmp_path / "ref.rttm", "SPEAKER u 1 0 1e300 <NA> <NA> A <NA> <NA>\n")
    assert main(["score", "--ref", str(ref), "--hyp", str(ref)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "ref.rttm:1:" in line
    good = _rttm(tmp_path / "good.rttm", "SPEAKER u1 1 0 2 <NA> <NA> A <NA> <NA>\n")
    uem = tmp_path / "bom.uem"
    uem.write_bytes(b"\xef\xbb\xbfu1 1 0.0 4.0\n")
    bom = tmp_path / "bom.rttm"
    bom.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    assert main(["score", "--ref", str(bom), "--hyp", str(good), "--uem", str(uem)]) == 0
    assert "no UEM" not in capsys.readouterr().out  # the UEM's uri is u1, not '\ufeffu1'


def test_several_channels_of_one_uri_are_said_to_be_merged(tmp_path, capsys):
    ref = _rttm(
        tmp_path / "ref.rttm",
        "SPEAKER u 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER u 2 2 1 <NA> <NA> B <NA> <NA>\n",
    )
    assert main(["score", "--ref", str(ref), "--hyp", str(ref)]) == 0
    assert "reference 'u' has turns on channels 1, 2" in capsys.readouterr().out
