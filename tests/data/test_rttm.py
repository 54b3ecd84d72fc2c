import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyannote.core import Annotation, Segment

from diarize.data.rttm import (
    Turn,
    annotation_to_turns,
    load_rttms,
    read_rttm,
    turns_to_annotation,
    write_rttm,
)
from diarize.errors import DiarizeError


def _write(tmp_path, text, name="ref.rttm"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_comments_blank_lines_and_any_whitespace(tmp_path):
    path = _write(
        tmp_path,
        ";; a comment\n"
        "# another\n"
        "\n"
        "SPEAKER  a 1 0.50 1.25 <NA> <NA> spk1 <NA> <NA>\n"
        "\tSPEAKER\ta\t1\t2\t1\t<NA>\t<NA>\tspk2\t<NA>\t<NA>  \n"
        "SPKR-INFO a 1 <NA> <NA> <NA> unknown spk1 <NA> <NA>\n"
        "speaker b 0 3 0 <NA> <NA> x <NA>\n",  # 9 fields, lower case, zero length
    )
    assert read_rttm(path) == [
        Turn("a", 0.5, 1.75, "spk1"),
        Turn("a", 2.0, 3.0, "spk2"),
        Turn("b", 3.0, 3.0, "x"),
    ]
    assert Turn("a", 0.5, 1.75, "spk1").duration == pytest.approx(1.25)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("SPEAKER a 1 0.0 1.0 <NA> <NA> A", "got 8"),
        ("SPEAKER a 1 0.0 1.0 <NA> <NA> A <NA> <NA> extra", "got 11"),
        ("SPEAKER a 1 zero 1.0 <NA> <NA> A <NA> <NA>", "onset 'zero' is not a number"),
        ("SPEAKER a 1 -1.0 1.0 <NA> <NA> A <NA> <NA>", "onset -1.0 must be"),
        ("SPEAKER a 1 1.0 -0.5 <NA> <NA> A <NA> <NA>", "duration -0.5 must be"),
        ("SPEAKER a 1 1.0 nan <NA> <NA> A <NA> <NA>", "duration nan must be"),
        ("SPEAKR a 1 0.0 1.0 <NA> <NA> A <NA> <NA>", "unknown RTTM record type 'SPEAKR'"),
    ],
)
def test_malformed_line_names_file_line_and_reason(tmp_path, line, reason):
    path = _write(tmp_path, "SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\n\n" + line + "\n")
    with pytest.raises(DiarizeError) as error:
        read_rttm(path)
    message = str(error.value)
    assert message.startswith(f"{path}:3: ")
    assert reason in message


def test_missing_file(tmp_path):
    with pytest.raises(DiarizeError, match="no such"):
        read_rttm(tmp_path / "nope.rttm")
    with pytest.raises(DiarizeError, match="no such"):
        load_rttms(tmp_path / "nope")


def test_write_is_sorted_canonical_and_drops_zero_length(tmp_path):
    path = tmp_path / "out" / "hyp.rttm"
    write_rttm(
        path,
        [
            Turn("b", 1.0, 2.0, "x"),
            Turn("a", 5.0, 6.5, "y"),
            Turn("a", 0.1234, 1.0, "x"),
            Turn("a", 7.0, 7.0004, "x"),  # rounds to zero length
        ],
    )
    assert path.read_text().splitlines() == [
        "SPEAKER a 1 0.123 0.877 <NA> <NA> x <NA> <NA>",
        "SPEAKER a 1 5.000 1.500 <NA> <NA> y <NA> <NA>",
        "SPEAKER b 1 1.000 1.000 <NA> <NA> x <NA> <NA>",
    ]
    assert [p.name for p in path.parent.iterdir()] == ["hyp.rttm"]  # no temp file left


def test_write_rejects_whitespace_in_labels(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        write_rttm(tmp_path / "x.rttm", [Turn("a", 0, 1, "two words")])
    assert not (tmp_path / "x.rttm").exists()


_name = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_name, st.integers(0, 10**7), st.integers(1, 10**5), _name), max_size=20
    )
)
def test_round_trip(tmp_path_factory, rows):
    turns = [Turn(uri, s / 1000, (s + d) / 1000, spk) for uri, s, d, spk in rows]
    path = tmp_path_factory.mktemp("rttm") / "x.rttm"
    write_rttm(path, turns)
    back = read_rttm(path)
    key = lambda t: (t.uri, t.start, t.end, t.speaker)  # noqa: E731
    assert len(back) == len(turns)
    for got, want in zip(sorted(back, key=key), sorted(turns, key=key), strict=True):
        assert (got.uri, got.speaker) == (want.uri, want.speaker)
        assert got.start == pytest.approx(want.start, abs=5e-4)
        assert got.end == pytest.approx(want.end, abs=5e-4)
    assert [t.uri for t in back] == sorted(t.uri for t in back)


def test_load_rttms_from_file_and_folder(tmp_path):
    _write(
        tmp_path,
        "SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER b 1 0 1 <NA> <NA> B <NA> <NA>\n",
        "all.rttm",
    )
    assert sorted(load_rttms(tmp_path / "all.rttm")) == ["a", "b"]
    folder = tmp_path / "per_file"
    folder.mkdir()
    _write(folder, "SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\n", "a.rttm")
    _write(folder, "SPEAKER b 1 0 2 <NA> <NA> B <NA> <NA>\n", "b.rttm")
    # diarize infer writes per-file RTTMs plus the same turns in diarization.rttm
    _write(folder, "SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\n", "diarization.rttm")
    loaded = load_rttms(folder)
    assert loaded == {"a": [Turn("a", 0, 1, "A")], "b": [Turn("b", 0, 2, "B")]}


def test_load_rttms_rejects_conflicting_duplicates_and_empty_folder(tmp_path):
    _write(tmp_path, "SPEAKER a 1 0 1 <NA> <NA> A <NA> <NA>\n", "one.rttm")
    _write(tmp_path, "SPEAKER a 1 0 2 <NA> <NA> A <NA> <NA>\n", "two.rttm")
    with pytest.raises(DiarizeError, match="different turns"):
        load_rttms(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DiarizeError, match="no .rttm"):
        load_rttms(empty)


def test_annotation_round_trip_keeps_same_speaker_overlap():
    turns = [Turn("u", 0, 2, "A"), Turn("u", 1, 3, "A"), Turn("u", 1, 3, "B"), Turn("u", 4, 4, "C")]
    annotation = turns_to_annotation(turns)
    assert isinstance(annotation, Annotation)
    assert annotation.uri == "u"
    assert len(list(annotation.itertracks())) == 3  # the zero-length turn is left out
    back = annotation_to_turns(annotation, "u")
    assert sorted(back, key=lambda t: (t.start, t.speaker)) == turns[:3]
    assert Segment(1, 3) in annotation.get_timeline()


def test_turns_to_annotation_needs_uri_for_mixed_turns():
    with pytest.raises(ValueError, match="several uris"):
        turns_to_annotation([Turn("a", 0, 1, "A"), Turn("b", 0, 1, "A")])
    assert turns_to_annotation([Turn("a", 0, 1, "A")], uri="z").uri == "z"


def test_hostile_times_are_one_line_errors(tmp_path):
    from diarize.data.rttm import read_rttm
    from diarize.errors import DiarizeError

    for onset, duration in (("0", "1e300"), ("1e12", "1"), ("3.6e8", "1"), ("9999999", "2")):
        path = tmp_path / "big.rttm"
        path.write_text(f"SPEAKER u 1 {onset} {duration} <NA> <NA> A <NA> <NA>\n")
        with pytest.raises(DiarizeError, match=r"big.rttm:1: .*typo"):
            read_rttm(path)


def test_byte_order_mark_is_ignored(tmp_path):
    from diarize.data.rttm import read_rttm

    path = tmp_path / "bom.rttm"
    path.write_bytes(b"\xef\xbb\xbfSPEAKER u1 1 0.5 1.0 <NA> <NA> A <NA> <NA>\n")
    (turn,) = read_rttm(path)
    assert turn.uri == "u1"


def test_folders_match_any_case_and_follow_symlinks(tmp_path):
    import os

    from diarize.data.rttm import load_rttms

    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "X.RTTM").write_text("SPEAKER x 1 0 1 <NA> <NA> A <NA> <NA>\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "y.rttm").write_text("SPEAKER y 1 0 1 <NA> <NA> A <NA> <NA>\n")
    os.symlink(tmp_path / "other", tmp_path / "refs" / "linked")
    os.symlink(tmp_path / "refs", tmp_path / "other" / "back")  # a loop
    assert sorted(load_rttms(tmp_path / "refs")) == ["x", "y"]


def test_channel_is_read_but_not_compared(tmp_path):
    from diarize.data.rttm import read_rttm

    path = tmp_path / "two.rttm"
    path.write_text(
        "SPEAKER u 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER u 2 0 1 <NA> <NA> A <NA> <NA>\n"
    )
    first, second = read_rttm(path)
    assert (first.channel, second.channel) == ("1", "2") and first == second
