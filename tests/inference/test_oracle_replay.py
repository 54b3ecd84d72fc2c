"""scripts/dev/oracle_replay.py: the reference stands in for the windows or the clustering."""

import json
import pickle
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import diarize.inference.longform as longform
import diarize.inference.voices as voices
from diarize.data.rttm import load_rttms

DEV = Path(__file__).parents[2] / "scripts" / "dev"
EXAMPLES = Path(__file__).parents[2] / "diarize" / "examples"


def run(monkeypatch, script: str, *args) -> int:
    path = DEV / script
    monkeypatch.setattr(sys, "argv", [str(path), *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(path), run_name="__main__")
    return exit_.value.code


def test_oracles_take_the_reference_windows_and_speakers(tmp_path, monkeypatch):
    audio, rate = sf.read(EXAMPLES / "conversation_3speakers.flac", dtype="float32")
    sf.write(tmp_path / "talk.wav", audio[: 40 * rate], rate)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"audio_filepath": "talk.wav", "duration": 40.0}) + "\n")
    turns = load_rttms(EXAMPLES / "conversation_3speakers.rttm")["conversation_3speakers"]
    reference = tmp_path / "talk.rttm"
    reference.write_text(
        "".join(
            f"SPEAKER talk 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            for t in turns
            if t.start < 40.0
        )
    )
    originals = (voices.clustered_posteriors, voices.solo_windows, voices._by_voice)

    # windows: every clustered window lies where exactly one reference speaker talks
    evidence = tmp_path / "oracle.pkl"
    args = ("windows", manifest, reference, evidence, tmp_path / "w")
    assert run(monkeypatch, "oracle_replay.py", *args) == 0
    (recorded,) = pickle.loads(evidence.read_bytes()).values()
    talking = np.zeros(len(recorded.speech), dtype=int)
    for t in load_rttms(reference)["talk"]:
        talking[round(t.start / 0.08) : round(t.end / 0.08)] += 1
    assert recorded.spans and all((talking[a:b] == 1).all() for a, b in recorded.spans)

    # clusters: the network's windows, labelled by the reference: its three speakers
    shipped = tmp_path / "shipped.pkl"
    assert run(monkeypatch, "cluster_replay.py", "record", manifest, shipped, tmp_path / "s") == 0
    args = ("clusters", manifest, reference, shipped, tmp_path / "c")
    assert run(monkeypatch, "oracle_replay.py", *args) == 0
    found = {line.split()[7] for line in (tmp_path / "c" / "talk.rttm").read_text().splitlines()}
    assert len(found) == 3
    # diarize's own functions again
    assert (voices.clustered_posteriors, voices.solo_windows, voices._by_voice) == originals
    assert longform.clustered_posteriors is voices.clustered_posteriors
