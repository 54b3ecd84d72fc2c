"""Tune post-processing on a dev set: posteriors once, then an Optuna TPE search on DER.

The model runs once over the dev manifest; its posteriors (a few hundred kB per hour) are kept
in memory, and every trial only re-runs the post-processing and the scoring. The search space is
NeMo's (``e2e_diarize_speech.py``), except that ``pad_onset`` starts at 0 rather than 0.1 so the
neutral parameters lie inside it. The parameters in effect before tuning are the first trial,
so the result is never worse on the dev set than where it started.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from diarize.data.rttm import Turn, speaker_name
from diarize.errors import DiarizeError
from diarize.inference.postprocess import PostProcessingParams, select_speakers

SEARCH_SPACE = {
    "onset": (0.4, 0.8),
    "offset": (0.4, 0.9),
    "pad_onset": (0.0, 0.5),
    "pad_offset": (0.0, 0.2),
    "min_duration_on": (0.0, 0.75),
    "min_duration_off": (0.0, 0.75),
}
STEP = 0.01


@dataclass(frozen=True)
class DevRecording:
    """What a trial needs of one dev recording: its posteriors, window and reference."""

    uri: str
    probs: np.ndarray
    offset: float
    duration: float
    reference: list[Turn]
    uem: list[tuple[float, float]]


@dataclass(frozen=True)
class TuneResult:
    params: PostProcessingParams
    der_before: float
    der_after: float
    n_trials: int


def hypothesis_turns(recording: DevRecording, params: PostProcessingParams) -> list[Turn]:
    """Post-processed turns of one dev recording, in file time."""
    chosen = select_speakers(recording.probs, params, recording.duration)
    return [
        Turn(recording.uri, recording.offset + s, recording.offset + e, speaker_name(i))
        for i, (_, segments) in enumerate(chosen)
        for s, e in segments
    ]


def dev_der(
    recordings: list[DevRecording], params: PostProcessingParams, collar: float = 0.25
) -> float:
    """Overall DER (percent) of ``params`` on the dev recordings."""
    from diarize.metrics.scoring import score

    reference = {r.uri: r.reference for r in recordings}
    hypothesis = {r.uri: hypothesis_turns(r, params) for r in recordings}
    uem = {r.uri: r.uem for r in recordings}
    return float(score(reference, hypothesis, uem=uem, collar=collar).overall["der"])


def tune(
    recordings: list[DevRecording],
    start: PostProcessingParams | None = None,
    n_trials: int = 100,
    collar: float = 0.25,
    seed: int = 0,
    progress: bool = False,
) -> TuneResult:
    """Search the six post-processing parameters that minimise DER on ``recordings``.

    Args:
        recordings: dev posteriors with references.
        start: parameters to beat (first trial); default neutral.
        n_trials: Optuna trials (TPE, seeded: the same inputs give the same result).
        collar: md-eval collar (seconds each side) of the DER being minimised.
        seed: sampler seed.
        progress: show Optuna's progress bar.
    """
    import optuna

    if not recordings:
        raise DiarizeError("no dev recordings to tune on")
    if n_trials < 1:
        raise DiarizeError(f"n_trials must be >= 1, got {n_trials}")
    start = start or PostProcessingParams()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(_clipped(start.parameters()))

    def objective(trial: optuna.Trial) -> float:
        values = {
            name: trial.suggest_float(name, low, high, step=STEP)
            for name, (low, high) in SEARCH_SPACE.items()
        }
        return dev_der(recordings, replace(start, **values), collar)

    study.optimize(objective, n_trials=n_trials, show_progress_bar=progress)
    best = replace(start, **{k: round(v, 4) for k, v in study.best_params.items()})
    return TuneResult(
        params=best,
        der_before=dev_der(recordings, start, collar),
        der_after=float(study.best_value),
        n_trials=n_trials,
    )


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (read in 1 MB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _clipped(values: dict[str, float]) -> dict[str, float]:
    """Start values moved onto the search grid (Optuna rejects values outside the space)."""
    clipped = {}
    for name, (low, high) in SEARCH_SPACE.items():
        value = min(max(values[name], low), high)
        clipped[name] = round(low + math.floor((value - low) / STEP + 0.5) * STEP, 4)
    return clipped
