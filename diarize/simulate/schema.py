"""The plan.json schema: frozen dataclasses for a simulation plan and its sessions.

:mod:`diarize.simulate.plan` makes a :class:`SimulationPlan`, :mod:`diarize.simulate.render`
turns it into audio + RTTM. ``to_json`` gives the plain JSON document (keys in the order plan.json
has always had them, optional keys left out as before), ``from_json`` reads one back; a round trip
is exact. Times are seconds, levels dB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diarize.errors import DiarizeError

PLAN_VERSION = 1


@dataclass(frozen=True)
class SourcePiece:
    """A stretch of a source file (``offset``, ``duration``) placed at ``start`` in a session.

    Babble beds are made of these; speakers' pieces are :class:`UtterancePiece`.
    """

    audio_filepath: str
    offset: float
    duration: float
    start: float

    def to_json(self) -> dict[str, Any]:
        return {
            "audio_filepath": self.audio_filepath,
            "offset": self.offset,
            "duration": self.duration,
            "start": self.start,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourcePiece:
        return cls(data["audio_filepath"], data["offset"], data["duration"], data["start"])


@dataclass(frozen=True)
class UtterancePiece(SourcePiece):
    """A piece of one speaker's utterance in the session.

    ``speech`` holds the session times of the speech regions inside the piece (what the RTTM
    says); ``kind`` is ``"turn"`` or ``"backchannel"``. ``gain_db`` (speaker gain + per-piece
    jitter) is drawn with the acoustics, after the layout.
    """

    speaker: str
    kind: str
    speech: tuple[tuple[float, float], ...]
    gain_db: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "speaker": self.speaker,
            "kind": self.kind,
            "speech": [list(region) for region in self.speech],
            "gain_db": self.gain_db,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UtterancePiece:
        return cls(
            data["audio_filepath"],
            data["offset"],
            data["duration"],
            data["start"],
            speaker=data["speaker"],
            kind=data["kind"],
            speech=tuple((start, end) for start, end in data["speech"]),
            gain_db=data["gain_db"],
        )


@dataclass(frozen=True)
class TurnPlan:
    """One RTTM turn: a speaker's merged speech, ``[start, end, speaker]`` in JSON."""

    start: float
    end: float
    speaker: str

    def to_json(self) -> list:
        return [self.start, self.end, self.speaker]

    @classmethod
    def from_json(cls, data: list) -> TurnPlan:
        start, end, speaker = data
        return cls(start, end, speaker)


@dataclass(frozen=True)
class RatioTargets:
    """The overlap and silence ratios one session aims at (drawn around the configured means)."""

    overlap_ratio: float
    silence_ratio: float

    def to_json(self) -> dict[str, float]:
        return {"overlap_ratio": self.overlap_ratio, "silence_ratio": self.silence_ratio}

    @classmethod
    def from_json(cls, data: dict[str, float]) -> RatioTargets:
        return cls(data["overlap_ratio"], data["silence_ratio"])


@dataclass(frozen=True)
class ReverbPlan:
    """One speaker's room: reverberation time and direct-to-reverberant ratio."""

    rt60: float
    drr_db: float

    def to_json(self) -> dict[str, float]:
        return {"rt60": self.rt60, "drr_db": self.drr_db}

    @classmethod
    def from_json(cls, data: dict[str, float]) -> ReverbPlan:
        return cls(data["rt60"], data["drr_db"])


@dataclass(frozen=True)
class NoisePlan:
    """Background noise: ``kind`` (white, pink, brown or babble; ``"type"`` in JSON) at ``snr_db``.

    ``babble`` holds the bed's pieces (babble only); ``floor`` marks the faint noise floor that
    every session without drawn noise gets.
    """

    kind: str
    snr_db: float
    babble: tuple[SourcePiece, ...] | None = None
    floor: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "snr_db": self.snr_db}
        if self.babble is not None:
            data["babble"] = [piece.to_json() for piece in self.babble]
        if self.floor:
            data["floor"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoisePlan:
        babble = data.get("babble")
        return cls(
            data["type"],
            data["snr_db"],
            babble=None if babble is None else tuple(SourcePiece.from_json(p) for p in babble),
            floor=bool(data.get("floor", False)),
        )


@dataclass(frozen=True)
class AugmentPlan:
    """The acoustics of one session: gains, rooms, noise, telephone band, output level."""

    speaker_gain_db: dict[str, float]
    reverb: dict[str, ReverbPlan] | None  # per speaker; None: dry
    noise: NoisePlan
    telephone: bool
    level_db: float

    def to_json(self) -> dict[str, Any]:
        reverb = self.reverb
        return {
            "speaker_gain_db": dict(self.speaker_gain_db),
            "reverb": None if reverb is None else {s: r.to_json() for s, r in reverb.items()},
            "noise": self.noise.to_json(),
            "telephone": self.telephone,
            "level_db": self.level_db,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AugmentPlan:
        reverb = data["reverb"]
        return cls(
            speaker_gain_db=dict(data["speaker_gain_db"]),
            reverb=None
            if reverb is None
            else {s: ReverbPlan.from_json(r) for s, r in reverb.items()},
            noise=NoisePlan.from_json(data["noise"]),
            telephone=data["telephone"],
            level_db=data["level_db"],
        )


@dataclass(frozen=True)
class SessionPlan:
    """Everything needed to render one session, and its planned statistics.

    ``segments`` are sorted by (start, speaker), ``turns`` by (start, end, speaker); ``stats`` are
    :func:`diarize.simulate.stats.session_stats` of the turns. ``augment`` is None only between
    the layout and the acoustic draws.
    """

    uri: str
    index: int
    duration: float
    num_speakers: int
    speakers: tuple[str, ...]
    targets: RatioTargets
    dominance: dict[str, float]
    segments: tuple[UtterancePiece, ...]
    turns: tuple[TurnPlan, ...]
    stats: dict[str, float]
    augment: AugmentPlan | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "uri": self.uri,
            "index": self.index,
            "duration": self.duration,
            "num_speakers": self.num_speakers,
            "speakers": list(self.speakers),
            "targets": self.targets.to_json(),
            "dominance": dict(self.dominance),
            "segments": [segment.to_json() for segment in self.segments],
            "turns": [turn.to_json() for turn in self.turns],
            "stats": dict(self.stats),
        }
        if self.augment is not None:
            data["augment"] = self.augment.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionPlan:
        augment = data.get("augment")
        return cls(
            uri=data["uri"],
            index=data["index"],
            duration=data["duration"],
            num_speakers=data["num_speakers"],
            speakers=tuple(data["speakers"]),
            targets=RatioTargets.from_json(data["targets"]),
            dominance=dict(data["dominance"]),
            segments=tuple(UtterancePiece.from_json(s) for s in data["segments"]),
            turns=tuple(TurnPlan.from_json(t) for t in data["turns"]),
            stats=dict(data["stats"]),
            augment=None if augment is None else AugmentPlan.from_json(augment),
        )


@dataclass(frozen=True)
class SimulationPlan:
    """The plan.json document: format version, seed, the resolved config and every session."""

    seed: int
    config: dict[str, Any]  # the resolved SimulateConfig as plain containers
    sessions: tuple[SessionPlan, ...]
    version: int = PLAN_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seed": self.seed,
            "config": self.config,
            "sessions": [session.to_json() for session in self.sessions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulationPlan:
        """Raises: DiarizeError: a plan of another format version."""
        if data.get("version") != PLAN_VERSION:
            raise DiarizeError(
                f"plan version {data.get('version')!r} is not {PLAN_VERSION}: re-run "
                "diarize simulate with this version of diarize"
            )
        return cls(
            seed=data["seed"],
            config=data["config"],
            sessions=tuple(SessionPlan.from_json(s) for s in data["sessions"]),
            version=data["version"],
        )


def read_plan(path: str | Path) -> SimulationPlan:
    """Read a plan.json written by ``diarize simulate``.

    Raises:
        DiarizeError: a plan of another format version.
    """
    import json

    return SimulationPlan.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
