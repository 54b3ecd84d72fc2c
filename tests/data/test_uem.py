import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diarize.data.uem import read_uem, write_uem
from diarize.errors import DiarizeError


def test_reads_several_regions_comments_and_whitespace(tmp_path):
    path = tmp_path / "all.uem"
    path.write_text("; regions\n\nb 1 5 9\n  a\t1\t0.0\t10.5\na 1 20 30\nb 1 0 5\n")
    assert read_uem(path) == {"a": [(0.0, 10.5), (20.0, 30.0)], "b": [(0.0, 5.0), (5.0, 9.0)]}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("a 1 0", "expected 4 fields"),
        ("a 1 0 1 2", "got 5"),
        ("a 1 x 1", "start 'x' is not a number"),
        ("a 1 -1 1", "start -1 must be"),
        ("a 1 3 3", "end 3 must be greater than start 3"),
        ("a 1 1 4", "overlaps"),
    ],
)
def test_malformed_line_names_file_line_and_reason(tmp_path, line, reason):
    path = tmp_path / "bad.uem"
    path.write_text("a 1 0 2\n" + line + "\n")
    with pytest.raises(DiarizeError) as error:
        read_uem(path)
    assert str(error.value).startswith(f"{path}:2: ")
    assert reason in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(DiarizeError, match="no such UEM file"):
        read_uem(tmp_path / "none.uem")


def test_write_is_sorted_and_atomic(tmp_path):
    path = tmp_path / "sub" / "out.uem"
    write_uem(path, {"b": [(3.0, 4.0)], "a": [(5.0, 6.0), (0.0, 1.25)]})
    assert path.read_text() == "a 1 0.000 1.250\na 1 5.000 6.000\nb 1 3.000 4.000\n"
    assert [p.name for p in path.parent.iterdir()] == ["out.uem"]
    with pytest.raises(ValueError, match="end <= start"):
        write_uem(tmp_path / "x.uem", {"a": [(2.0, 1.0)]})


@settings(max_examples=60, deadline=None)
@given(
    uem=st.dictionaries(
        st.text(alphabet="abc012_-", min_size=1, max_size=5),
        st.lists(st.integers(1, 10**6), min_size=2, max_size=8, unique=True),
        max_size=4,
    )
)
def test_round_trip(tmp_path_factory, uem):
    # disjoint regions from sorted cut points, every other gap kept, in ms
    regions = {
        uri: [(a / 1000, b / 1000) for a, b in zip(cuts[::2], cuts[1::2], strict=False)]
        for uri, cuts in ((u, sorted(c)) for u, c in uem.items())
    }
    path = tmp_path_factory.mktemp("uem") / "x.uem"
    write_uem(path, regions)
    assert read_uem(path) == {uri: sorted(r) for uri, r in regions.items() if r}


def test_uem_bom_and_huge_times(tmp_path):
    from diarize.data.uem import read_uem
    from diarize.errors import DiarizeError

    path = tmp_path / "bom.uem"
    path.write_bytes(b"\xef\xbb\xbfu1 1 0.0 5.0\n")
    assert read_uem(path) == {"u1": [(0.0, 5.0)]}
    path.write_text("u1 1 0 1e300\n")
    with pytest.raises(DiarizeError, match=r"bom.uem:1: .*typo"):
        read_uem(path)
