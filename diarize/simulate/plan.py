"""Seeded session plans: which speakers talk, which utterance pieces go where, and the acoustics.

A plan is a tree of frozen dataclasses (:mod:`diarize.simulate.schema`) saved as plain JSON
(cheap to inspect, test and diff); :mod:`diarize.simulate.render` turns it into audio + RTTM.
Everything random in session ``i`` comes from generators seeded with ``(seed, i, stream)``, so
sessions are independent and reproducible; only the speaker choice looks at earlier sessions
(least-used speakers first, so the pool is covered).

The layout of one session (turn-taking, overlap/silence controller) is in
:mod:`diarize.simulate.session`; the acoustic draws are in :mod:`diarize.simulate.augment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diarize.errors import DiarizeError
from diarize.simulate.augment import plan_augment
from diarize.simulate.config import SimulateConfig, num_speakers_choices
from diarize.simulate.schema import RatioTargets, SessionPlan, SimulationPlan
from diarize.simulate.session import SessionBuilder, round4
from diarize.simulate.sources import SourceUtterance, group_by_speaker

SPEECH_STREAM, AUGMENT_STREAM, RENDER_STREAM = 0, 1, 2
# Kronecker-sequence steps: a different irrational per ratio so the two targets do not move in step
_QUANTILE_STEPS = {1: (5**0.5 - 1) / 2, 2: 2**0.5 - 1}


def session_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """The generator of one session's stream (speech plan, augmentation plan, render noise)."""
    return np.random.default_rng([seed, index, stream])


def plan_sessions(sources: Sequence[SourceUtterance], config: SimulateConfig) -> list[SessionPlan]:
    """Plans of ``config.num_sessions`` sessions (pure: same inputs, same plans).

    Raises:
        DiarizeError: the pool has fewer speakers than a session asks for.
    """
    by_speaker = group_by_speaker(sources)
    choices = num_speakers_choices(config.num_speakers)
    if max(choices) > len(by_speaker):
        raise DiarizeError(
            f"num_speakers asks for up to {max(choices)} speakers but the source pool has "
            f"{len(by_speaker)}"
        )
    usage = dict.fromkeys(by_speaker, 0)
    # one-speaker sessions cannot overlap: the others aim higher so the mean over all sessions
    # lands on overlap_ratio (capped: a session is at most 60 % overlap)
    multi = sum(c >= 2 for c in choices) / len(choices)
    overlap_mean = min(config.overlap_ratio / multi, 0.6) if multi > 0 else 0.0
    sessions = []
    for index in range(config.num_sessions):
        rng = session_rng(config.seed, index, SPEECH_STREAM)
        num_speakers = int(rng.choice(choices))
        speakers = choose_speakers(
            rng, num_speakers, sources, by_speaker, usage, config.same_source_prob
        )
        for speaker in speakers:
            usage[speaker] += 1
        targets = RatioTargets(
            overlap_ratio=_draw_target(config.seed, index, 1, overlap_mean, config.ratio_spread)
            if num_speakers >= 2
            else 0.0,
            silence_ratio=_draw_target(
                config.seed, index, 2, config.silence_ratio, config.ratio_spread
            ),
        )
        builder = SessionBuilder(index, speakers, sources, by_speaker, targets, config, rng)
        layout = builder.build()
        augment_rng = session_rng(config.seed, index, AUGMENT_STREAM)
        sessions.append(plan_augment(augment_rng, layout, sources, by_speaker, config))
    return sessions


def choose_speakers(
    rng: np.random.Generator,
    num_speakers: int,
    sources: Sequence[SourceUtterance],
    by_speaker: dict[str, list[int]],
    usage: dict[str, int],
    same_source_prob: float,
) -> list[str]:
    """``num_speakers`` distinct speakers, least used first (random tie-break).

    With probability ``same_source_prob`` all come from the first speaker's ``source`` (when it has
    enough speakers), so that the model must tell voices apart, not synthesisers.
    """
    speakers = list(by_speaker)
    tie_break = rng.random(len(speakers))
    order = sorted(range(len(speakers)), key=lambda i: (usage[speakers[i]], tie_break[i]))
    first, rest = speakers[order[0]], [speakers[i] for i in order[1:]]
    if rng.random() < same_source_prob:
        source = sources[by_speaker[first][0]].source
        same = [s for s in rest if sources[by_speaker[s][0]].source == source]
        if len(same) >= num_speakers - 1:
            rest = same
    return [first, *rest[: num_speakers - 1]]


def make_plan(sources: Sequence[SourceUtterance], config: Any) -> SimulationPlan:
    """The plan of a run (plan.json): seed, the resolved config and every session's plan.

    Args:
        sources: the pool (with speech regions).
        config: a validated :class:`SimulateConfig` (OmegaConf node or dataclass object).
    """
    from omegaconf import OmegaConf

    node = OmegaConf.structured(config) if not OmegaConf.is_config(config) else config
    settings = OmegaConf.to_object(node)
    return SimulationPlan(
        seed=settings.seed,
        config=OmegaConf.to_container(node, resolve=True),
        sessions=tuple(plan_sessions(sources, settings)),
    )


def _draw_target(seed: int, index: int, stream: int, mean: float, spread: float) -> float:
    """A session's target ratio: a Beta quantile with the configured mean and std.

    The quantile walks a low-discrepancy (Kronecker) sequence from a seeded start instead of
    being drawn at random: each session still depends only on (seed, index), but any run of
    consecutive sessions spreads over the distribution evenly, so the mean over a few dozen
    sessions lands on the configured mean rather than wandering by sampling noise.
    """
    if mean <= 0.0 or spread <= 0.0:
        return float(mean)
    from scipy.special import betaincinv

    variance = min(spread**2, 0.9 * mean * (1.0 - mean))
    concentration = mean * (1.0 - mean) / variance - 1.0
    start = np.random.default_rng([seed, stream, 7919]).random()
    quantile = (start + index * _QUANTILE_STEPS[stream]) % 1.0
    value = betaincinv(mean * concentration, (1.0 - mean) * concentration, quantile)
    return round4(value)
