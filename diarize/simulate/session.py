"""One session laid out turn by turn: the turn-taking model and the overlap/silence controller.

Turn-taking follows NeMo's simulator: a dominance weight per speaker (with a minimum share), a
``turn_prob`` chance that the next turn changes speaker, and a feedback controller that chooses
overlap or silence before each turn by comparing the running ratios with the session's targets and
draws the amount so that the running ratio moves to its target. Ratios are measured on the speech
regions that the RTTM will contain (VAD of each source, pauses > ``vad.min_pause`` splitting).
Turns are cut from longer source utterances or concatenated from several; short backchannels by
another speaker overlap long turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from diarize.simulate.config import SimulateConfig
from diarize.simulate.schema import RatioTargets, SessionPlan, SourcePiece, TurnPlan, UtterancePiece
from diarize.simulate.sources import SourceUtterance
from diarize.simulate.stats import activity, session_stats

SELF_GAP = 0.1  # seconds a speaker leaves between own utterances when others interrupt
MAX_PIECES = 20  # source pieces per turn


class _Piece(NamedTuple):
    source: int
    regions: tuple[tuple[float, float], ...]  # source-relative speech regions kept
    rel_start: float  # where the piece starts inside its turn

    @property
    def span(self) -> float:
        return self.regions[-1][1] - self.regions[0][0]


class SessionBuilder:
    """Lays out one session turn by turn; every draw comes from ``rng``."""

    def __init__(
        self,
        index: int,
        speakers: Sequence[str],
        sources: Sequence[SourceUtterance],
        by_speaker: dict[str, list[int]],
        targets: RatioTargets,
        config: SimulateConfig,
        rng: np.random.Generator,
    ):
        self.index, self.speakers, self.sources, self.rng = index, speakers, sources, rng
        self.utterances = [by_speaker[s] for s in speakers]
        # whole milliseconds: a whole number of samples, and RTTM times (3 decimals) stay inside
        self.length = round(float(config.session_length), 3)
        self.turns = config.turns
        self.min_pause = config.vad.min_pause
        self.uri = f"{config.uri_prefix}_{index:06d}"
        self.targets = targets
        self.dominance = dominance(
            rng, len(speakers), self.turns.dominance_var, self.turns.min_dominance
        )
        self.speech: list[list[list[float]]] = [[] for _ in speakers]  # merged, per speaker
        self.segments: list[UtterancePiece] = []
        self.cursor = 0.0  # end of the latest speech placed
        self.last_source = [-1] * len(speakers)

    def build(self) -> SessionPlan:
        """The session's layout and planned statistics (``augment`` not drawn yet)."""
        turns = self.turns
        self.cursor = float(self.rng.uniform(*turns.leading_silence))
        current = None
        while self.cursor < self.length:
            speaker, forced = self._next_speaker(current)
            overlap = current is not None and speaker != current and self._prefer_overlap()
            length = self._turn_length()
            if overlap:  # a turn overlaps at most 0.8 of itself: long enough for what is owed
                length = max(length, min(self._overlap_owed(length) / 0.8, turns.turn_length_max))
            pieces = self._turn_pieces(speaker, length)
            span = pieces[-1].rel_start + pieces[-1].span
            speech = sum(e - s for p in pieces for s, e in p.regions)
            if current is None:
                start = self.cursor
            elif overlap:
                start = self.cursor - self._overlap(speaker, span, speech)
            else:
                start = self.cursor + self._gap(span, speech)
            if forced:  # a speaker not heard yet must still fit in the session
                start = max(0.0, min(start, self.length - min(1.0, span)))
            if start > self.length - 0.2:
                break
            self._place(speaker, pieces, start, "turn")
            self._maybe_backchannel(speaker, start, start + span)
            current = speaker
        self._ensure_everyone_speaks()
        return self._result()

    # -- who and what -------------------------------------------------------------------------

    def _next_speaker(self, current: int | None) -> tuple[int, bool]:
        """(speaker, forced): unheard speakers are boosted late in the session and forced at the end."""
        count = len(self.speakers)
        unheard = [i for i in range(count) if not self.speech[i]]
        remaining = self.length - self.cursor
        if unheard and remaining < 5.0 * len(unheard) + 2.0:
            weights = self.dominance[unheard]
            return unheard[int(self.rng.choice(len(unheard), p=weights / weights.sum()))], True
        if current is not None and (count == 1 or self.rng.random() >= self.turns.turn_prob):
            return current, False
        weights = self.dominance.copy()
        progress = self.cursor / self.length
        weights[unheard] *= 1.0 + 10.0 * max(0.0, progress - 0.25)
        if current is not None:
            weights[current] = 0.0
        return int(self.rng.choice(count, p=weights / weights.sum())), False

    def _turn_length(self) -> float:
        turns = self.turns
        shape = turns.turn_length_shape
        value = self.rng.gamma(shape, turns.turn_length_mean / shape)
        return float(np.clip(value, turns.turn_length_min, turns.turn_length_max))

    def _pick_source(self, speaker: int) -> int:
        """One of the speaker's utterances, not the one just used when there is a choice."""
        options = self.utterances[speaker]
        choice = int(self.rng.choice(options))
        if choice == self.last_source[speaker] and len(options) > 1:
            choice = int(self.rng.choice([o for o in options if o != choice]))
        self.last_source[speaker] = choice
        return choice

    def _turn_pieces(self, speaker: int, target: float) -> list[_Piece]:
        """Source pieces that make a turn of about ``target`` seconds (cut or concatenated)."""
        pieces: list[_Piece] = []
        rel = 0.0
        while len(pieces) < MAX_PIECES:
            source = self._pick_source(speaker)
            regions = cut_regions(self.rng, self.sources[source].speech, max(target - rel, 0.3))
            pieces.append(_Piece(source, regions, rel))
            rel += pieces[-1].span
            if rel >= target - 0.3:
                break
            rel += float(self.rng.uniform(*self.turns.intra_turn_pause))
        return pieces

    # -- where: the ratio controller ------------------------------------------------------------

    def _running(self) -> tuple[float, float]:
        """(speech, overlap) seconds so far, over [0, cursor]."""
        return activity((tuple(iv) for spans in self.speech for iv in spans), self.cursor)

    def _prefer_overlap(self) -> bool:
        target_overlap, target_silence = self.targets.overlap_ratio, self.targets.silence_ratio
        if target_overlap <= 0:
            return False
        speech, overlap = self._running()
        overlap_ratio = overlap / speech if speech > 0 else 0.0
        silence_ratio = (self.cursor - speech) / self.cursor if self.cursor > 0 else 0.0
        return overlap_ratio - target_overlap < silence_ratio - target_silence

    def _overlap_owed(self, turn_speech: float) -> float:
        """Overlap (s) that brings the running ratio to the target once a turn of this much speech
        is placed."""
        target = self.targets.overlap_ratio
        speech, overlap = self._running()
        return (target * (speech + turn_speech) - overlap) / (1.0 + target)

    def _overlap(self, speaker: int, span: float, turn_speech: float) -> float:
        """Seconds the new turn starts before the end of the current speech."""
        value = self._gamma(self._overlap_owed(turn_speech))
        own_end = self.speech[speaker][-1][1] if self.speech[speaker] else 0.0
        cap = min(self.turns.max_overlap, 0.8 * span, self.cursor - own_end - SELF_GAP, self.cursor)
        return float(np.clip(value, 0.0, max(cap, 0.0)))

    def _gap(self, span: float, turn_speech: float) -> float:
        """Seconds of silence before the new turn."""
        target = self.targets.silence_ratio
        speech, _ = self._running()
        silence = self.cursor - speech
        pauses = span - turn_speech  # the turn's own pauses count as silence too
        mean = (target * (self.cursor + span) - silence - pauses) / (1.0 - target)
        return float(np.clip(self._gamma(mean), 0.0, self.turns.max_gap))

    def _gamma(self, mean: float) -> float:
        if mean <= 0.0:
            return 0.0
        shape = self.turns.gap_shape
        return float(self.rng.gamma(shape, mean / shape))

    def _maybe_backchannel(self, speaker: int, turn_start: float, turn_end: float) -> None:
        """A short interjection ("uh-huh") by another speaker during a long enough turn."""
        count = len(self.speakers)
        if count < 2 or turn_end - turn_start < 1.5:
            return
        if self.rng.random() >= self.turns.backchannel_prob:
            return
        speech, overlap = self._running()
        if speech <= 0 or overlap / speech >= self.targets.overlap_ratio:
            return  # interjections add overlap; only when the session is short of it
        weights = self.dominance.copy()
        weights[speaker] = 0.0
        other = int(self.rng.choice(count, p=weights / weights.sum()))
        length = float(self.rng.uniform(*self.turns.backchannel_length))
        source = self._pick_source(other)
        regions = self.sources[source].speech
        start, end = regions[int(self.rng.integers(len(regions)))]
        snippet = (start, round(min(end, start + length), 4))
        own_end = self.speech[other][-1][1] if self.speech[other] else 0.0
        earliest = max(turn_start + 0.3, own_end + SELF_GAP)
        latest = min(turn_end, self.length) - (snippet[1] - snippet[0]) - 0.1
        if snippet[1] - snippet[0] < 0.15 or latest <= earliest:
            return
        at = float(self.rng.uniform(earliest, latest))
        self._place(other, [_Piece(source, (snippet,), 0.0)], at, "backchannel")

    def _ensure_everyone_speaks(self) -> None:
        """Last resort for very short sessions: a short piece for any speaker not placed yet."""
        for speaker in range(len(self.speakers)):
            if self.speech[speaker]:
                continue
            pieces = self._turn_pieces(speaker, min(1.5, self.length / 2))[:1]
            span = min(pieces[0].span, self.length / 2)
            pieces = [_Piece(pieces[0].source, cut_regions(self.rng, pieces[0].regions, span), 0.0)]
            at = float(self.rng.uniform(0.0, max(0.0, self.length - pieces[0].span - 0.05)))
            self._place(speaker, pieces, at, "turn")

    # -- bookkeeping ----------------------------------------------------------------------------

    def _place(self, speaker: int, pieces: Sequence[_Piece], start: float, kind: str) -> None:
        spans = self.speech[speaker]
        for piece in pieces:
            utterance = self.sources[piece.source]
            origin = piece.regions[0][0]
            at = round4(start + piece.rel_start)
            if at >= self.length:  # the rest of the turn falls after the session's end
                break
            where = source_piece(utterance, origin, piece.span, at)
            segment = UtterancePiece(
                where.audio_filepath,
                where.offset,
                where.duration,
                where.start,
                speaker=self.speakers[speaker],
                kind=kind,
                speech=tuple(
                    (round4(at + s - origin), round4(at + e - origin)) for s, e in piece.regions
                ),
            )
            self.segments.append(segment)
            for s, e in segment.speech:
                if spans and s - spans[-1][1] < self.min_pause:
                    spans[-1][1] = max(spans[-1][1], e)
                else:
                    spans.append([s, e])
            self.cursor = max(self.cursor, spans[-1][1])

    def _result(self) -> SessionPlan:
        turns = []
        for speaker, spans in zip(self.speakers, self.speech, strict=True):
            for s, e in spans:
                s, e = max(0.0, round4(s)), min(self.length, round4(e))
                if e - s > 1e-3:
                    turns.append([s, e, speaker])
        turns.sort(key=lambda t: (t[0], t[1], t[2]))
        self.segments.sort(key=lambda seg: (seg.start, seg.speaker))
        return SessionPlan(
            uri=self.uri,
            index=self.index,
            duration=self.length,
            num_speakers=len(self.speakers),
            speakers=tuple(self.speakers),
            targets=self.targets,
            dominance={s: round4(w) for s, w in zip(self.speakers, self.dominance, strict=True)},
            segments=tuple(self.segments),
            turns=tuple(TurnPlan(s, e, speaker) for s, e, speaker in turns),
            stats=session_stats([tuple(t) for t in turns], self.length),
        )


def cut_regions(
    rng: np.random.Generator, regions: Sequence[tuple[float, float]], budget: float
) -> tuple[tuple[float, float], ...]:
    """Consecutive speech regions spanning at most ``budget`` seconds (+0.5 s slack).

    Starts at a random region; one region longer than the budget is cut inside (the RTTM
    follows the cut).
    """
    if regions[-1][1] - regions[0][0] <= budget + 0.5:
        return tuple(regions)
    first = int(rng.integers(len(regions)))
    chosen = [regions[first]]
    for region in regions[first + 1 :]:
        if region[1] - regions[first][0] > budget:
            break
        chosen.append(region)
    if chosen[-1][1] - chosen[0][0] > budget + 0.5:
        start = chosen[0][0]
        chosen = [(start, round(start + budget, 4))]
    return tuple(chosen)


def source_piece(
    utterance: SourceUtterance, origin: float, duration: float, at: float
) -> SourcePiece:
    """``duration`` seconds of ``utterance`` from ``origin`` (relative to it), placed at ``at``."""
    return SourcePiece(
        utterance.audio_filepath,
        round4(utterance.offset + origin),
        round4(duration),
        round4(at),
    )


def dominance(rng: np.random.Generator, count: int, variance: float, minimum: float) -> np.ndarray:
    """Speaking shares: N(1/n, variance) clipped at 0, rescaled so each is at least ``minimum``."""
    weights = np.clip(rng.normal(1.0 / count, np.sqrt(variance), count), 0.0, None)
    if weights.sum() <= 0 or count * minimum >= 1.0:
        return np.full(count, 1.0 / count)
    return weights / weights.sum() * (1.0 - count * minimum) + minimum


def round4(value: float) -> float:
    """Plans keep 0.1 ms resolution: readable JSON, exact round trips."""
    return round(float(value), 4)
