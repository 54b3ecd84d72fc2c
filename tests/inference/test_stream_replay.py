"""scripts/dev/stream_replay.py: a replay of recorded network outputs is the live stream."""

import json
import runpy
import sys
from pathlib import Path

import soundfile as sf

SCRIPT = Path(__file__).parents[2] / "scripts" / "dev" / "stream_replay.py"
EXAMPLE = Path(__file__).parents[2] / "diarize" / "examples" / "conversation_3speakers.flac"


def run(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *map(str, args)])
    runpy.run_path(str(SCRIPT), run_name="__main__")


def test_replay_reproduces_the_recorded_stream_and_follows_changed_settings(tmp_path, monkeypatch):
    audio, rate = sf.read(EXAMPLE, dtype="float32")
    sf.write(tmp_path / "talk.wav", audio[: 25 * rate], rate)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"audio_filepath": "talk.wav", "duration": 25.0}) + "\n")
    tapes, live, replayed, changed = (tmp_path / name for name in ("t", "a", "b", "c"))
    # recorded with the SortFormer network at every step, so that any schedule replays
    run(monkeypatch, "record", manifest, 1, tapes, live)
    run(monkeypatch, "replay", manifest, 1, tapes, replayed, "--network-seconds", 0)
    assert (live / "talk.rttm").read_text()  # somebody spoke
    assert (replayed / "talk.rttm").read_text() == (live / "talk.rttm").read_text()
    # a setting the linking reads changes the replayed output (the tape holds no decisions)
    run(
        monkeypatch, "replay", manifest, 1, tapes, changed, "--network-seconds", 0,
        "--longform", "stream_link_threshold=0.6",
    )  # fmt: skip
    assert (changed / "talk.rttm").read_text() != (live / "talk.rttm").read_text()
