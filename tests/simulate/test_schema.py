"""The typed plan: frozen dataclasses whose JSON is plan.json, with exact round trips."""

import dataclasses
import json

import numpy as np
import pytest

from diarize.errors import DiarizeError
from diarize.simulate.config import load_config
from diarize.simulate.plan import make_plan
from diarize.simulate.render import render_audio, simulate
from diarize.simulate.schema import (
    SessionPlan,
    SimulationPlan,
    SourcePiece,
    TurnPlan,
    UtterancePiece,
    read_plan,
)
from diarize.simulate.sources import VadParams, load_sources

# every kind of acoustics: rooms or not, babble beds, coloured noise, the noise floor, telephone
MIXED = [
    "num_sessions=12",
    "session_length=8",
    "num_speakers=[1,2,3]",
    "augment.reverb.prob=0.5",
    "augment.noise.prob=0.7",
    "augment.telephone.prob=0.5",
    "augment.noise.babble_talkers=[2,3]",
    "augment.noise.types={white: 1, pink: 1, brown: 1, babble: 3}",
]


def _config(source_manifest, out_dir, *overrides):
    return load_config(
        None, [f"source_manifest={source_manifest}", f"out_dir={out_dir}", *MIXED, *overrides]
    )


@pytest.fixture(scope="module")
def plan(source_manifest, tmp_path_factory):
    sources = load_sources(source_manifest, VadParams())
    return make_plan(sources, _config(source_manifest, tmp_path_factory.mktemp("unused")))


def test_the_draws_cover_every_optional_part(plan):
    noises = [s.augment.noise for s in plan.sessions]
    assert {"babble", "floor"} <= {"floor" if n.floor else n.kind for n in noises}
    assert {bool(s.augment.reverb) for s in plan.sessions} == {True, False}
    assert {s.augment.telephone for s in plan.sessions} == {True, False}
    assert all(isinstance(p, SourcePiece) for n in noises if n.babble for p in n.babble)


def test_json_round_trip_is_exact(plan):
    document = plan.to_json()
    text = json.dumps(document)
    again = SimulationPlan.from_json(json.loads(text))
    assert again == plan
    assert json.dumps(again.to_json()) == text
    session = document["sessions"][0]
    assert list(session) == [
        "uri",
        "index",
        "duration",
        "num_speakers",
        "speakers",
        "targets",
        "dominance",
        "segments",
        "turns",
        "stats",
        "augment",
    ]
    assert list(session["segments"][0]) == [
        "audio_filepath",
        "offset",
        "duration",
        "start",
        "speaker",
        "kind",
        "speech",
        "gain_db",
    ]
    assert all(isinstance(turn, list) and len(turn) == 3 for turn in session["turns"])


def test_plans_are_frozen(plan):
    session = plan.sessions[0]
    assert isinstance(session, SessionPlan)
    assert isinstance(session.segments[0], UtterancePiece)
    assert isinstance(session.turns[0], TurnPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.duration = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.segments[0].gain_db = 0.0


def test_a_written_plan_reads_back_and_renders_the_same(source_manifest, tmp_path, plan):
    out = tmp_path / "sim"
    simulate(_config(source_manifest, out, "num_workers=0"), progress=False, plan_only=True)
    loaded = read_plan(out / "plan.json")
    assert loaded.sessions == plan.sessions
    assert loaded.to_json() == json.loads((out / "plan.json").read_text())
    session = next(s for s in loaded.sessions if s.augment.noise.kind == "babble")
    original = plan.sessions[session.index]
    assert np.array_equal(render_audio(session, loaded.seed), render_audio(original, plan.seed))


def test_another_plan_version_is_refused(plan):
    document = plan.to_json()
    document["version"] = 99
    with pytest.raises(DiarizeError, match="plan version 99"):
        SimulationPlan.from_json(document)
