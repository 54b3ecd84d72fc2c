import shutil

from diarize.cli.main import main
from diarize.review import read_review_summary


def test_review_command_with_reference(example_dir, capsys):
    out = example_dir / "review"
    audio = example_dir / "conversation_3speakers.flac"
    status = main(
        ["review", str(audio), "--hyp", str(example_dir / "hyp"), "--ref",
         str(example_dir / "ref"), "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert status == 0
    summary = read_review_summary(out / "conversation_3speakers.html")
    assert summary.der is not None and summary.num_speakers == 3
    index = (out / "index.html").read_text()
    assert 'href="conversation_3speakers.html"' in index and f"{summary.der:.2f}%" in index
    assert "wrote 1 review page(s)" in capsys.readouterr().out


def test_review_command_carries_on_past_bad_files(example_dir, capsys):
    audio = example_dir / "conversation_3speakers.flac"
    broken = example_dir / "broken.wav"
    broken.write_bytes(b"not audio at all")
    unknown = example_dir / "unknown.flac"  # valid audio, but the hypothesis has no such uri
    shutil.copy(audio, unknown)
    shutil.copy(example_dir / "hyp" / "conversation_3speakers.rttm", example_dir / "hyp2.rttm")
    (example_dir / "hyp2.rttm").write_text(
        (example_dir / "hyp2.rttm").read_text()
        + "SPEAKER broken 1 0.000 1.000 <NA> <NA> a <NA> <NA>\n"
    )
    out = example_dir / "review"
    status = main(
        ["review", str(broken), str(audio), str(unknown), "--hyp",
         str(example_dir / "hyp2.rttm"), "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"diarize review: error: {broken}: not a readable") for line in err)
    assert any(f"{unknown}: no turns for uri 'unknown'" in line for line in err)
    assert err[-1] == "diarize review: 2 of 3 recording(s) failed: broken, unknown"
    assert (out / "conversation_3speakers.html").is_file()
    assert "conversation_3speakers.html" in (out / "index.html").read_text()
    assert not list(out.glob(".*.tmp"))


def test_review_command_bad_hypothesis_is_one_line(example_dir, capsys):
    status = main(
        ["review", str(example_dir), "--hyp", str(example_dir / "missing"),
         "--out", str(example_dir / "o")]
    )  # fmt: skip
    assert status == 1
    assert capsys.readouterr().err.strip().endswith("missing: no such RTTM file or folder")
