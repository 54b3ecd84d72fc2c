"""scripts/dev/cluster_replay.py: a replay of recorded evidence is the live `diarize infer`."""

import json
import runpy
import sys
from pathlib import Path

import pytest
import soundfile as sf

import diarize.inference.voices as voices

SCRIPT = Path(__file__).parents[2] / "scripts" / "dev" / "cluster_replay.py"
EXAMPLE = Path(__file__).parents[2] / "diarize" / "examples" / "conversation_3speakers.flac"


def run(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    return exit_.value.code


def test_replay_reproduces_the_recorded_run_and_follows_changed_settings(tmp_path, monkeypatch):
    audio, rate = sf.read(EXAMPLE, dtype="float32")
    sf.write(tmp_path / "talk.wav", audio[: 40 * rate], rate)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"audio_filepath": "talk.wav", "duration": 40.0}) + "\n")
    evidence, live, replayed, changed = (tmp_path / name for name in ("e.pkl", "a", "b", "c"))
    assert run(monkeypatch, "record", manifest, evidence, live) == 0
    assert run(monkeypatch, "replay", manifest, evidence, replayed) == 0
    speakers = {line.split()[7] for line in (live / "talk.rttm").read_text().splitlines()}
    assert len(speakers) >= 2
    assert (replayed / "talk.rttm").read_text() == (live / "talk.rttm").read_text()
    # a decision setting changes the replayed output (the evidence holds no decisions):
    # every window joins one cluster
    args = ("replay", manifest, evidence, changed, "--longform", "centered_threshold=-1.0")
    assert run(monkeypatch, *args) == 0
    merged = {line.split()[7] for line in (changed / "talk.rttm").read_text().splitlines()}
    assert len(merged) == 1
    # the networks' pass is diarize's own again (the script patched it while it ran)
    assert voices.gather_evidence.__module__ == "diarize.inference.voices"
    # a setting of the networks' pass needs a new recording
    assert (
        run(monkeypatch, "replay", manifest, evidence, changed, "--longform", "hop_seconds=1") == 2
    )
