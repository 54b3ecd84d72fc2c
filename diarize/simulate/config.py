"""The simulator's configuration: typed OmegaConf dataclasses, the one place config becomes values.

``conf/simulate.yaml`` documents every key; its values equal the defaults below (a test checks
this), so ``diarize simulate`` without ``--config`` behaves as with it. Unknown keys, wrong types
and impossible values fail fast with one line naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

from diarize.config import load_config as load_structured
from diarize.config import missing_keys
from diarize.errors import DiarizeError

NOISE_TYPES = ("white", "pink", "brown", "babble")
# a session is rendered in memory (one track per speaker), so its length is bounded; the lower
# bound leaves room for a turn after the leading silence
MIN_SESSION_LENGTH, MAX_SESSION_LENGTH = 2.0, 3600.0


@dataclass
class TurnConfig:
    """Turn-taking: who speaks next, for how long, and how speakers interrupt each other."""

    turn_prob: float = 0.8
    dominance_var: float = 0.11
    min_dominance: float = 0.05
    turn_length_mean: float = 4.0
    turn_length_shape: float = 1.5
    turn_length_min: float = 0.6
    turn_length_max: float = 15.0
    intra_turn_pause: list[float] = field(default_factory=lambda: [0.05, 0.35])
    leading_silence: list[float] = field(default_factory=lambda: [0.0, 1.0])
    max_overlap: float = 3.0
    max_gap: float = 4.0
    gap_shape: float = 2.0
    backchannel_prob: float = 0.15
    backchannel_length: list[float] = field(default_factory=lambda: [0.2, 1.0])


@dataclass
class VadConfig:
    """Energy VAD that finds where each source utterance actually has speech (10 ms frames)."""

    threshold_db: float = 40.0
    floor_margin: float = 0.4
    min_pause: float = 0.3
    min_speech: float = 0.08
    pad: float = 0.03


@dataclass
class ReverbConfig:
    prob: float = 0.3
    rt60: list[float] = field(default_factory=lambda: [0.1, 0.8])
    drr_db: list[float] = field(default_factory=lambda: [-2.0, 12.0])


@dataclass
class NoiseConfig:
    prob: float = 0.7
    snr_db: list[float] = field(default_factory=lambda: [5.0, 35.0])
    types: dict[str, float] = field(
        default_factory=lambda: {"white": 1.0, "pink": 2.0, "brown": 1.0, "babble": 1.5}
    )
    babble_talkers: list[int] = field(default_factory=lambda: [3, 6])
    babble_min_snr_db: float = 12.0
    floor_snr_db: list[float] = field(default_factory=lambda: [45.0, 70.0])


@dataclass
class TelephoneConfig:
    prob: float = 0.1
    band: list[float] = field(default_factory=lambda: [300.0, 3400.0])
    mu_law: bool = True


@dataclass
class AugmentConfig:
    """Acoustic conditions; each augmentation is drawn per session with its probability."""

    gain_spread_db: float = 8.0
    utterance_gain_db: float = 1.5
    level_db: list[float] = field(default_factory=lambda: [-32.0, -16.0])
    reverb: ReverbConfig = field(default_factory=ReverbConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    telephone: TelephoneConfig = field(default_factory=TelephoneConfig)


@dataclass
class SimulateConfig:
    """Top level of ``conf/simulate.yaml``."""

    source_manifest: str = MISSING
    out_dir: str = MISSING
    num_sessions: int = 100
    session_length: float = 90.0
    num_speakers: Any = field(default_factory=lambda: [2, 3, 4])
    overlap_ratio: float = 0.12
    silence_ratio: float = 0.15
    ratio_spread: float = 0.04
    same_source_prob: float = 0.5
    seed: int = 0
    num_workers: int = 2
    uri_prefix: str = "sim"
    turns: TurnConfig = field(default_factory=TurnConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def default_config() -> DictConfig:
    """The structured defaults (mandatory keys still ``???``)."""
    return OmegaConf.structured(SimulateConfig)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Defaults, merged with a YAML file, then with ``key=value`` overrides; validated.

    Raises:
        DiarizeError: malformed YAML (with file:line), an unknown key, a wrong type, a missing
            mandatory key (``source_manifest``, ``out_dir``) or an out-of-range value.
    """
    config = load_structured(SimulateConfig, [path] if path is not None else [], overrides or [])
    missing = missing_keys(config)
    if missing:
        raise DiarizeError(f"missing mandatory config key(s): {', '.join(missing)}")
    validate(config)
    return config


def num_speakers_choices(value: Any) -> list[int]:
    """The counts a session's number of speakers is drawn from (uniformly; repeats weight).

    Accepts an int (``3``), a list (``[2, 3, 3, 4]``) or a range string (``"2-4"``).

    Raises:
        DiarizeError: anything else, or a count below 1.
    """
    if isinstance(value, ListConfig):
        value = list(value)
    if isinstance(value, bool):
        choices = None
    elif isinstance(value, int):
        choices = [value]
    elif isinstance(value, str) and "-" in value:
        low, _, high = value.partition("-")
        try:
            choices = list(range(int(low), int(high) + 1))
        except ValueError:
            choices = None
    elif isinstance(value, str) and value.strip().isdigit():
        choices = [int(value)]
    elif isinstance(value, list) and value and all(_is_int(v) for v in value):
        choices = [int(v) for v in value]
    else:
        choices = None
    if not choices or min(choices) < 1:
        raise DiarizeError(
            f"num_speakers must be an int >= 1, a list of them or a range 'A-B', got {value!r}"
        )
    return choices


def validate(config: DictConfig) -> None:
    """Check ranges and relations OmegaConf's types cannot express.

    Raises:
        DiarizeError: naming the first offending key.
    """
    num_speakers_choices(config.num_speakers)
    _check(config.num_sessions >= 1, "num_sessions", "must be >= 1")
    _check(
        MIN_SESSION_LENGTH <= config.session_length <= MAX_SESSION_LENGTH,
        "session_length",
        f"must be in [{MIN_SESSION_LENGTH:g}, {MAX_SESSION_LENGTH:g}] seconds, "
        f"got {config.session_length:g}",
    )
    _check(0 <= config.overlap_ratio < 1, "overlap_ratio", "must be in [0, 1)")
    _check(0 <= config.silence_ratio < 1, "silence_ratio", "must be in [0, 1)")
    _check(config.ratio_spread >= 0, "ratio_spread", "must be >= 0")
    _check(config.num_workers >= 0, "num_workers", "must be >= 0 (0: in this process)")
    _check(bool(config.uri_prefix.strip()), "uri_prefix", "must not be empty")
    _check(not any(c.isspace() for c in config.uri_prefix), "uri_prefix", "has whitespace")
    for key in ("same_source_prob", "turns.turn_prob", "turns.backchannel_prob"):
        _probability(config, key)
    for key in ("augment.reverb.prob", "augment.noise.prob", "augment.telephone.prob"):
        _probability(config, key)
    turns = config.turns
    _check(turns.turn_length_mean > 0, "turns.turn_length_mean", "must be > 0")
    _check(turns.turn_length_shape > 0, "turns.turn_length_shape", "must be > 0")
    _check(turns.gap_shape > 0, "turns.gap_shape", "must be > 0")
    _check(
        0 < turns.turn_length_min <= turns.turn_length_max,
        "turns.turn_length_min",
        "must be in (0, turn_length_max]",
    )
    _check(turns.max_overlap >= 0 and turns.max_gap >= 0, "turns.max_overlap", "must be >= 0")
    _check(0 <= turns.min_dominance, "turns.min_dominance", "must be >= 0")
    _check(turns.dominance_var >= 0, "turns.dominance_var", "must be >= 0")
    for key in ("turns.intra_turn_pause", "turns.leading_silence", "turns.backchannel_length"):
        _range(config, key, low=0.0)
    _range(config, "augment.level_db", high=0.0)
    _range(config, "augment.reverb.rt60", low=0.01)
    _range(config, "augment.reverb.drr_db")
    _range(config, "augment.noise.snr_db")
    _range(config, "augment.noise.floor_snr_db")
    _range(config, "augment.noise.babble_talkers", low=1)
    _range(config, "augment.telephone.band", low=1.0, high=3999.0)
    _check(config.augment.gain_spread_db >= 0, "augment.gain_spread_db", "must be >= 0")
    _check(config.augment.utterance_gain_db >= 0, "augment.utterance_gain_db", "must be >= 0")
    types = dict(config.augment.noise.types)
    unknown = sorted(set(types) - set(NOISE_TYPES))
    _check(not unknown, "augment.noise.types", f"unknown type(s) {unknown}; use {NOISE_TYPES}")
    _check(
        all(w >= 0 for w in types.values()) and sum(types.values()) > 0,
        "augment.noise.types",
        "weights must be >= 0 with a positive sum",
    )
    vad = config.vad
    _check(vad.threshold_db > 0, "vad.threshold_db", "must be > 0 (dB below the peak)")
    _check(0 <= vad.floor_margin < 1, "vad.floor_margin", "must be in [0, 1)")
    _check(vad.min_pause >= 0 and vad.min_speech >= 0 and vad.pad >= 0, "vad", "must be >= 0")


def _check(ok: bool, key: str, reason: str) -> None:
    if not ok:
        raise DiarizeError(f"config key {key}: {reason}")


def _probability(config: DictConfig, key: str) -> None:
    value = OmegaConf.select(config, key)
    _check(0.0 <= value <= 1.0, key, f"must be a probability in [0, 1], got {value}")


def _range(
    config: DictConfig, key: str, low: float | None = None, high: float | None = None
) -> None:
    value = list(OmegaConf.select(config, key))
    _check(len(value) == 2 and value[0] <= value[1], key, f"must be [min, max], got {value}")
    _check(low is None or value[0] >= low, key, f"must be >= {low}, got {value}")
    _check(high is None or value[1] <= high, key, f"must be <= {high}, got {value}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
