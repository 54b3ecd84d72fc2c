import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diarize.errors import DiarizeError
from diarize.simulate.config import load_config
from diarize.simulate.plan import make_plan
from diarize.simulate.sources import VadParams, load_sources
from diarize.simulate.stats import activity


@pytest.fixture(scope="module")
def sources(source_manifest):
    return load_sources(source_manifest, VadParams())


def _config(*overrides):
    return load_config(None, ["source_manifest=unused.json", "out_dir=unused", *overrides])


@pytest.fixture(scope="module")
def plan40(sources):
    return make_plan(sources, _config("num_sessions=40", "session_length=60"))


def test_every_session_has_exactly_its_speakers_and_each_speaks(plan40):
    counts = set()
    for session in plan40.sessions:
        assert len(set(session.speakers)) == session.num_speakers
        assert {t.speaker for t in session.turns} == set(session.speakers)
        assert session.stats["num_speakers"] == session.num_speakers
        counts.add(session.num_speakers)
    assert counts == {2, 3, 4}


def test_mean_ratios_land_on_the_targets(plan40):
    # measured from the planned speech intervals, exactly as stats.json measures the RTTM
    overlap = np.mean([s.stats["overlap_ratio"] for s in plan40.sessions])
    silence = np.mean([s.stats["silence_ratio"] for s in plan40.sessions])
    assert abs(overlap - 0.12) < 0.03
    assert abs(silence - 0.15) < 0.03
    for session in plan40.sessions:
        speech, both = activity(((t.start, t.end) for t in session.turns), session.duration)
        assert session.stats["overlap_ratio"] == pytest.approx(both / speech)
        assert session.stats["silence_ratio"] == pytest.approx(1 - speech / 60.0)


@pytest.mark.parametrize(
    "overlap, silence, speakers",
    [
        (0.25, 0.1, "2"),
        (0.0, 0.3, "[2,3]"),
        (0.05, 0.2, "3-5"),
        (0.12, 0.15, "[1,2,2,3,3,4]"),  # one-speaker sessions cannot overlap; the others make up
    ],
)
def test_other_targets_are_reached(sources, overlap, silence, speakers):
    plan = make_plan(
        sources,
        _config(
            "num_sessions=40",
            "session_length=60",
            f"overlap_ratio={overlap}",
            f"silence_ratio={silence}",
            f"num_speakers={speakers}",
        ),
    )
    stats = [s.stats for s in plan.sessions]
    assert abs(np.mean([s["overlap_ratio"] for s in stats]) - overlap) < 0.03
    assert abs(np.mean([s["silence_ratio"] for s in stats]) - silence) < 0.03
    assert all(
        s["num_speakers"] == p.num_speakers for s, p in zip(stats, plan.sessions, strict=True)
    )


def test_plans_are_deterministic_and_sessions_independent(sources, plan40):
    again = make_plan(sources, _config("num_sessions=40", "session_length=60"))
    assert again == plan40
    assert json.dumps(again.to_json()) == json.dumps(plan40.to_json())
    fewer = make_plan(sources, _config("num_sessions=5", "session_length=60"))
    assert fewer.sessions == plan40.sessions[:5]
    other = make_plan(sources, _config("num_sessions=5", "session_length=60", "seed=1"))
    assert other.sessions != fewer.sessions


def test_speakers_cover_the_pool(plan40):
    used = {}
    for session in plan40.sessions:
        for speaker in session.speakers:
            used[speaker] = used.get(speaker, 0) + 1
    assert len(used) == 6
    assert max(used.values()) - min(used.values()) <= 2


def test_same_source_prob(sources):
    source_of = {s.speaker_id: s.source for s in sources}

    def sessions(prob):
        config = _config("num_sessions=30", "session_length=20", f"same_source_prob={prob}")
        return make_plan(sources, config).sessions

    # three speakers per source: sessions of up to 3 speakers can always be single-source
    for session in sessions(1.0):
        kinds = {source_of[x] for x in session.speakers}
        assert len(kinds) == (1 if session.num_speakers <= 3 else 2)
    mixed = [len({source_of[x] for x in s.speakers}) > 1 for s in sessions(0.0)]
    assert np.mean(mixed) > 0.5


def test_too_many_speakers_for_the_pool(sources):
    with pytest.raises(DiarizeError, match="pool has 6"):
        make_plan(sources, _config("num_speakers=7"))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    num_speakers=st.integers(1, 6),
    length=st.floats(4.0, 40.0),
    backchannel=st.floats(0.0, 1.0),
)
def test_plan_invariants(sources, seed, num_speakers, length, backchannel):
    plan = make_plan(
        sources,
        _config(
            "num_sessions=2",
            f"seed={seed}",
            f"num_speakers={num_speakers}",
            f"session_length={length}",
            f"turns.backchannel_prob={backchannel}",
        ),
    )
    by_path = {(s.audio_filepath, s.offset): s for s in sources}
    for session in plan.sessions:
        assert session.duration == round(length, 3)  # whole milliseconds
        length = session.duration
        assert {t.speaker for t in session.turns} == set(session.speakers)
        for turn in session.turns:
            assert 0.0 <= turn.start < turn.end <= length
        per_speaker = {}
        for turn in session.turns:
            per_speaker.setdefault(turn.speaker, []).append(turn)
        for turns in per_speaker.values():  # a speaker never overlaps itself
            assert all(a.end <= b.start for a, b in zip(turns, turns[1:], strict=False))
        for segment in session.segments:
            assert segment.start < length
            source = next(s for (path, _), s in by_path.items() if path == segment.audio_filepath)
            # the piece lies inside its source file and its speech inside the piece
            assert segment.offset >= source.offset - 1e-9
            assert segment.offset + segment.duration <= source.offset + source.duration + 1e-3
            for s, e in segment.speech:
                assert segment.start - 1e-3 <= s < e <= segment.start + segment.duration + 1e-3
