import json

import numpy as np
import pytest
import soundfile as sf

from diarize.audio.io import SAMPLE_RATE, load_audio
from diarize.data.manifest import read_manifest
from diarize.data.rttm import read_rttm
from diarize.simulate.config import load_config
from diarize.simulate.render import simulate

DRY = [
    "augment.reverb.prob=0",
    "augment.noise.prob=0",
    "augment.telephone.prob=0",
    "augment.gain_spread_db=0",
    "augment.utterance_gain_db=0",
]
WET = [
    "augment.reverb.prob=1",
    "augment.noise.prob=1",
    "augment.telephone.prob=0.5",
    "augment.noise.babble_talkers=[2,3]",
    "augment.noise.types={white: 1, pink: 1, brown: 1, babble: 3}",
]


def _simulate(source_manifest, out_dir, *overrides):
    config = load_config(
        None,
        [
            f"source_manifest={source_manifest}",
            f"out_dir={out_dir}",
            "num_sessions=4",
            "session_length=8",
            "num_speakers=[2,3]",
            "num_workers=0",
            *overrides,
        ],
    )
    return simulate(config, progress=False)


@pytest.fixture(scope="module")
def wet_run(source_manifest, tmp_path_factory):
    out = tmp_path_factory.mktemp("wet")
    return out, _simulate(source_manifest, out, *WET)


def test_layout_manifest_audio_and_rttm(wet_run):
    out, summary = wet_run
    assert summary["sessions"] == 4
    assert summary["hours"] == pytest.approx(4 * 8 / 3600, abs=1e-4)
    entries = read_manifest(out / "manifest.json")
    assert [e.uniq_id for e in entries] == [f"sim_{i:06d}" for i in range(4)]
    plan = json.loads((out / "plan.json").read_text())
    for entry, session in zip(entries, plan["sessions"], strict=True):
        assert entry.audio_filepath == out / "audio" / f"{entry.uniq_id}.wav"
        assert entry.rttm_filepath == out / "rttm" / f"{entry.uniq_id}.rttm"
        assert entry.duration == 8.0
        info = sf.info(str(entry.audio_filepath))
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        assert info.frames == 8 * SAMPLE_RATE
        turns = read_rttm(entry.rttm_filepath)
        assert {t.uri for t in turns} == {entry.uniq_id}
        assert len({t.speaker for t in turns}) == entry.num_speakers == session["num_speakers"]
        assert all(0 <= t.start < t.end <= entry.duration for t in turns)
        assert [t.start for t in turns] == sorted(t.start for t in turns)
        for speaker in {t.speaker for t in turns}:
            own = [t for t in turns if t.speaker == speaker]
            assert all(a.end <= b.start for a, b in zip(own, own[1:], strict=False))
        audio = load_audio(entry.audio_filepath)
        assert np.max(np.abs(audio)) < 1.0 and np.std(audio) > 1e-3
    augments = [session["augment"] for session in plan["sessions"]]
    assert "babble" in {a["noise"]["type"] for a in augments}  # the seeded draws cover the paths
    assert any(a["telephone"] for a in augments) and all(a["reverb"] for a in augments)
    stats = json.loads((out / "stats.json").read_text())
    assert [s["uri"] for s in stats["sessions"]] == [e.uniq_id for e in entries]
    assert stats["summary"]["speakers_histogram"] == summary["speakers_histogram"]


def test_same_seed_gives_byte_identical_output_whatever_the_workers(
    wet_run, source_manifest, tmp_path
):
    first, _ = wet_run
    again = tmp_path / "again"
    _simulate(source_manifest, again, *WET, "num_workers=2")
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in names:
        if name.name == "plan.json":  # echoes out_dir and num_workers; sessions must match
            a, b = (json.loads((d / name).read_text()) for d in (first, again))
            assert a["sessions"] == b["sessions"]
        else:
            assert (first / name).read_bytes() == (again / name).read_bytes(), name


def test_a_smaller_rerun_removes_the_earlier_sessions(source_manifest, tmp_path, capsys):
    out = tmp_path / "sim"
    _simulate(source_manifest, out, *DRY)
    keep = out / "audio" / "notes.txt"  # not a session file: left alone
    keep.write_text("mine")
    _simulate(source_manifest, out, *DRY, "num_sessions=2")
    assert "removed 4 files of earlier sessions" in capsys.readouterr().out
    expected = ["sim_000000", "sim_000001"]
    assert sorted(p.stem for p in (out / "audio").glob("*.wav")) == expected
    assert sorted(p.stem for p in (out / "rttm").glob("*.rttm")) == expected
    assert [e.uniq_id for e in read_manifest(out / "manifest.json")] == expected
    assert keep.read_text() == "mine"


def test_rttm_says_where_the_speech_is(source_manifest, tmp_path):
    """Dry render: energy is high inside RTTM turns and near zero outside them."""
    _simulate(source_manifest, tmp_path, *DRY)
    for entry in read_manifest(tmp_path / "manifest.json"):
        audio = load_audio(entry.audio_filepath)
        frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
        energy = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        inside = np.zeros(len(frames), dtype=bool)
        for turn in read_rttm(entry.rttm_filepath):
            inside[int(turn.start * 100) : int(np.ceil(turn.end * 100))] = True
        active = energy > energy.max() - 40
        assert active[~inside].mean() < 0.02  # no unlabelled speech
        assert active[inside].mean() > 0.75  # labelled regions are speech (short pauses bridged)
