import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diarize.audio.io import write_audio
from diarize.data.manifest import ManifestEntry, match_by_stem, read_manifest, write_manifest
from diarize.errors import DiarizeError


def _wav(path: Path, seconds: float, sr: int = 8000) -> Path:
    write_audio(path, np.zeros(int(seconds * sr), dtype=np.float32), sr)
    return path


def _lines(path: Path, *records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_relative_paths_resolve_against_manifest_folder_and_duration_is_filled(tmp_path):
    (tmp_path / "data" / "wav").mkdir(parents=True)
    _wav(tmp_path / "data" / "wav" / "s1.wav", 2.5)
    manifest = _lines(
        tmp_path / "data" / "m.json",
        {
            "audio_filepath": "wav/s1.wav",
            "rttm_filepath": "rttm/s1.rttm",
            "offset": 0.5,
            "label": "infer",
            "text": "-",
        },
        "",
        {
            "audio_filepath": "wav/s1.wav",
            "duration": 1.0,
            "num_speakers": 2,
            "uniq_id": "x",
            "uem_filepath": None,
        },
    )
    first, second = read_manifest(manifest)
    assert first.audio_filepath == tmp_path / "data" / "wav" / "s1.wav"
    assert first.rttm_filepath == tmp_path / "data" / "rttm" / "s1.rttm"
    assert first.duration == pytest.approx(2.0)  # 2.5 s file from offset 0.5
    assert first.uniq_id == "s1"
    assert first.extra == {"label": "infer", "text": "-"}
    assert (second.duration, second.num_speakers, second.uniq_id) == (1.0, 2, "x")
    assert second.uem_filepath is None


def test_duration_is_left_empty_when_not_filling(tmp_path):
    manifest = _lines(tmp_path / "m.json", {"audio_filepath": "/nowhere/a.wav"})
    (entry,) = read_manifest(manifest, fill_duration=False)
    assert entry.duration is None and entry.audio_filepath == Path("/nowhere/a.wav")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"audio_filepath": "a.wav", ', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"duration": 3}', "'audio_filepath' is missing"),
        ('{"audio_filepath": "a.wav", "duration": "long"}', "'duration' must be a number"),
        ('{"audio_filepath": "a.wav", "duration": -1}', "'duration' must be > 0"),
        ('{"audio_filepath": "a.wav", "offset": -1, "duration": 1}', "'offset' must be >= 0"),
        ('{"audio_filepath": "a.wav", "duration": 1, "num_speakers": 1.5}', "'num_speakers'"),
        ('{"audio_filepath": "a.wav", "duration": 1, "rttm_filepath": 3}', "'rttm_filepath'"),
        ('{"audio_filepath": "missing.wav"}', "no such audio file"),
    ],
)
def test_bad_line_names_manifest_line_and_reason(tmp_path, line, reason):
    _wav(tmp_path / "ok.wav", 1.0)
    manifest = _lines(tmp_path / "m.json", {"audio_filepath": "ok.wav"}, line)
    with pytest.raises(DiarizeError) as error:
        read_manifest(manifest)
    assert str(error.value).startswith(f"{manifest}:2: ")
    assert reason in str(error.value)


def test_offset_past_the_end(tmp_path):
    _wav(tmp_path / "a.wav", 1.0)
    manifest = _lines(tmp_path / "m.json", {"audio_filepath": "a.wav", "offset": 2})
    with pytest.raises(DiarizeError, match=r"m.json:1: 'offset' 2.0 is past the end"):
        read_manifest(manifest)


def test_write_makes_paths_under_the_folder_relative(tmp_path):
    entries = [
        ManifestEntry(tmp_path / "wav" / "a.wav", duration=1.0, rttm_filepath=tmp_path / "a.rttm"),
        ManifestEntry(
            "/elsewhere/b.flac", offset=1.0, duration=2.0, num_speakers=3, extra={"label": "infer"}
        ),
    ]
    path = tmp_path / "m.json"
    write_manifest(path, entries)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["audio_filepath"] == "wav/a.wav"
    assert records[0]["rttm_filepath"] == "a.rttm"
    assert records[0]["uniq_id"] == "a"
    assert records[1]["audio_filepath"] == "/elsewhere/b.flac"
    assert records[1]["label"] == "infer"
    assert read_manifest(path, fill_duration=False) == entries
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


_segment = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.lists(_segment, min_size=1, max_size=3),
            st.booleans(),
            st.floats(0, 1e4, allow_nan=False),
            st.one_of(st.none(), st.floats(0.01, 1e5, allow_nan=False)),
            st.one_of(st.none(), st.integers(1, 20)),
            st.dictionaries(st.sampled_from(["label", "text", "lang"]), st.text(max_size=5)),
        ),
        max_size=6,
    )
)
def test_round_trip(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("manifest")
    entries = []
    for parts, inside, offset, duration, num_speakers, extra in rows:
        base = folder if inside else Path("/data/elsewhere")
        entries.append(
            ManifestEntry(
                audio_filepath=base.joinpath(*parts).with_suffix(".wav"),
                offset=offset,
                duration=duration,
                rttm_filepath=base.joinpath(*parts).with_suffix(".rttm") if inside else None,
                num_speakers=num_speakers,
                extra=extra,
            )
        )
    write_manifest(folder / "m.json", entries)
    assert read_manifest(folder / "m.json", fill_duration=False) == entries


def test_match_by_stem(tmp_path):
    audio = tmp_path / "audio"
    (audio / "nested").mkdir(parents=True)
    _wav(audio / "s1.wav", 1.0)
    _wav(audio / "nested" / "s2.flac", 0.5)
    _wav(audio / "s3.wav", 0.25)
    rttm = tmp_path / "rttm"
    rttm.mkdir()
    (rttm / "s1.rttm").write_text(
        "SPEAKER s1 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER s1 1 1 1 <NA> <NA> B <NA> <NA>\n"
        "SPEAKER s1 1 2 1 <NA> <NA> A <NA> <NA>\n"
    )
    (rttm / "s2.rttm").write_text("SPEAKER other 1 0 1 <NA> <NA> C <NA> <NA>\n")
    (rttm / "orphan.rttm").write_text("")
    uem = tmp_path / "uem"
    uem.mkdir()
    (uem / "s1.uem").write_text("s1 1 0 1\n")
    matched = match_by_stem(audio, rttm, uem)
    by_id = {entry.uniq_id: entry for entry in matched.entries}
    assert list(by_id) == ["s1", "s2", "s3"]
    assert by_id["s1"].num_speakers == 2
    assert by_id["s1"].duration == pytest.approx(1.0)
    assert by_id["s1"].uem_filepath == uem / "s1.uem"
    assert by_id["s2"].num_speakers == 1 and "no turn has uri 's2'" in matched.warnings[0]
    assert by_id["s3"].rttm_filepath is None
    assert matched.audio_without_rttm == [audio / "s3.wav"]
    assert matched.rttm_without_audio == [rttm / "orphan.rttm"]


def test_match_by_stem_errors(tmp_path):
    with pytest.raises(DiarizeError, match="no such folder"):
        match_by_stem(tmp_path / "none")
    (tmp_path / "a").mkdir()
    with pytest.raises(DiarizeError, match="no audio file"):
        match_by_stem(tmp_path / "a")
    _wav(tmp_path / "a" / "x.wav", 0.1)
    (tmp_path / "a" / "sub").mkdir()
    _wav(tmp_path / "a" / "sub" / "x.flac", 0.1)
    with pytest.raises(DiarizeError, match="stem 'x' also used"):
        match_by_stem(tmp_path / "a")
