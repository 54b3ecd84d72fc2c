"""Streaming a call recorded per leg: the louder channel says who speaks, as offline.

:class:`LegStream` is a :class:`~diarize.inference.streaming.StreamingDiarizer` that is also
fed the two channels (blocks of ``(N, 2)`` samples at 16 kHz). It decides once whether the
channels hold a talker each: the louder leads the other by at least ``channel_gap_db`` on the
median frame of the speech of one voice heard so far, and each channel has led some of it
(:meth:`LegStream._decide`; offline files decide on the whole file,
:mod:`~diarize.inference.channels`); until then it is the usual stream. If so, every later
frame is labelled by its louder channel along a Viterbi path, a channel becoming a speaker when
it first leads a speech frame (or staying the voice speaker it already was:
:meth:`LegStream._legs_as_voices`), and the stream runs neither CAM++ nor the SortFormer
network: only segmentation-3.0, for speech. Once both legs have spoken enough, the
legs' statistics of the last ``STATS_FRAMES`` give the overlap and gate the speech, as offline
(``channel_overlap_db``, :func:`~diarize.inference.channels.add_other_leg`); before that the
overlap is segmentation-3.0's. Otherwise (alike channels, one channel, or a model without
segmentation-3.0) it is the usual stream on the channels' average. Labels are final once
given, in both.

    >>> stream = LegStream.from_pretrained(latency=1.04)
    >>> for block in call_blocks():            # float32 (N, 2) at 16 kHz
    ...     print(stream.feed(block).turns)
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from diarize.audio.features import num_model_frames
from diarize.audio.io import SAMPLE_RATE
from diarize.errors import DiarizeError
from diarize.inference.channels import (
    DB_PER_SCORE,
    LEGS,
    LOUD_DB,
    SILENT_DB,
    channel_levels_of,
    leg_statistics,
    legs_heard,
    other_leg_talks,
)
from diarize.inference.frame_labels import viterbi
from diarize.inference.overlap import SECOND_SPEAKER_REACH, stream_second_speakers
from diarize.inference.stream_hold import StreamUpdate
from diarize.inference.streaming import StreamingDiarizer
from diarize.inference.window_model import SAMPLES_PER_FRAME

__all__ = ["LegLevels", "LegStream"]

DECIDING_FRAMES = 3  # speech frames of one voice that may decide that the channels are legs
REJECTING_FRAMES = 50  # and that decide they are not (4 s)
STATS_FRAMES = 7500  # the legs' levels, leads and speech kept for their statistics (10 min)


class LegLevels:
    """Both channels' levels (dBFS) per 80-ms frame of a 16-kHz stream, as blocks arrive.

    Shape:
        add: (N, 2); levels(start, stop) -> (stop - start, 2)
    """

    def __init__(self) -> None:
        self._levels = np.zeros((0, LEGS), dtype=np.float32)  # from frame _start on
        self._start = 0
        self._pending = np.zeros((0, LEGS), dtype=np.float32)  # samples of an unfinished frame

    def add(self, samples: np.ndarray) -> None:
        samples = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        whole = len(samples) // SAMPLES_PER_FRAME
        done = channel_levels_of(samples[: whole * SAMPLES_PER_FRAME], SAMPLE_RATE, whole)
        self._levels = np.concatenate([self._levels, done])
        self._pending = samples[whole * SAMPLES_PER_FRAME :]

    def finish(self) -> None:
        """The last, unfinished frame counts as it is (the end of the stream)."""
        if len(self._pending):
            last = channel_levels_of(self._pending, SAMPLE_RATE, 1)
            self._levels = np.concatenate([self._levels, last])
            self._pending = self._pending[:0]

    def levels(self, start: int, stop: int) -> np.ndarray:
        """Frames ``[start, stop)``; frames not heard yet are silent."""
        out = np.full((stop - start, LEGS), SILENT_DB, dtype=np.float32)
        have = self._levels[start - self._start : stop - self._start]
        out[: len(have)] = have
        return out

    def forget(self, before: int) -> None:
        """Drop the frames before ``before`` (memory stays flat on endless streams)."""
        drop = max(0, min(before - self._start, len(self._levels)))
        self._levels, self._start = self._levels[drop:], self._start + drop


class LegStream(StreamingDiarizer):
    """A stream that is diarized by its two channels when they hold a talker each (module
    docstring); fed ``(N, 2)`` blocks, or mono ones (then it is the usual stream)."""

    def __init__(self, *args, **options) -> None:
        super().__init__(*args, **options)
        self.legs = LegLevels()
        self.per_leg: bool | None = None  # decided once one voice was heard enough (_decide)
        self._leg_speaker: dict[int, int] = {}  # channel -> stream speaker
        self._last_leg: int | None = None
        self._next_speaker = 0  # the speaker number a new leg takes
        self._judged = np.zeros(0, dtype=np.float32)  # channel 0's lead on judged frames
        self._heard: tuple[tuple[int, int], Future] | None = None  # see _start_speech
        # the last STATS_FRAMES frames' levels (T, 2), leading channels and speech
        self._seen = (np.zeros((0, LEGS), np.float32), np.zeros(0, np.int64), np.zeros(0, bool))

    def feed(self, samples: np.ndarray) -> StreamUpdate:
        """As :meth:`StreamingDiarizer.feed`; ``(N, 2)`` blocks keep the legs apart.

        Raises:
            DiarizeError: a stream labelled by its legs was fed anything but two channels.
        """
        samples = np.asarray(samples, dtype=np.float32)
        legs = samples.ndim == 2 and samples.shape[1] == LEGS
        if self.per_leg and not legs:
            raise DiarizeError(f"{self.uri}: a stream labelled by its legs takes (N, 2) blocks")
        if not legs:
            self.per_leg = False  # a mono stream: the usual one
        elif self.per_leg is not False:
            self.legs.add(samples)
        return super().feed(samples)

    def finish(self) -> StreamUpdate:
        self.legs.finish()
        return super().finish()

    def _step(self, block: int, lookahead: int) -> None:
        gap = self.config.channel_gap_db
        if self.per_leg is False or self._speech is None or gap is None:
            return super()._step(block, lookahead)
        first = self._final
        stop = min(first + block + lookahead, num_model_frames(self.audio.received))
        self.audio.count_level(stop)
        audio = self.audio.samples(first * SAMPLES_PER_FRAME, stop * SAMPLES_PER_FRAME)
        self._heard = ((first, stop), self._start_speech(first, stop))
        tracks = self._heard[1].result()
        level = self.model.gate(tracks[0][:, None], audio * self.audio.gain)[:block, 0]
        levels = self.legs.levels(first, first + block)
        speech = level > self.config.speech_threshold
        if self.per_leg is None:
            self.per_leg = self._decide(levels, speech, tracks[1][:block], gap)
            if not self.per_leg:  # alike channels, or nothing to judge them by yet
                super()._step(block, lookahead)
                self.legs.forget(self._final - STATS_FRAMES)  # what _legs_as_voices reads
                return
            self._leg_speaker = self._legs_as_voices(first)
            self._next_speaker = self.linker.num_speakers
        self._label_legs(first, level, tracks[1][:block], levels, speech)
        self._final = first + block
        self.legs.forget(self._final)
        self._forget()
        self._release()

    def _decide(
        self, levels: np.ndarray, speech: np.ndarray, overlap: np.ndarray, gap: float
    ) -> bool | None:
        """Whether the channels hold a talker each, judged on the speech frames so far (the
        last ``STATS_FRAMES``) that segmentation-3.0 hears as one person and where a channel
        carries a voice (within ``LOUD_DB`` of its step's loudest frame): yes once the louder
        leads by ``gap`` dB or more on their median and each channel has led
        ``DECIDING_FRAMES`` of them by half that, as offline files need each leg to lead some
        of the speech; no once there are ``REJECTING_FRAMES`` and their median lead is less;
        None (the usual stream) until then, and for as long as one channel alone leads (a
        recording with an empty channel is no call). Judged on the first step's speech frames
        alone, 2 of 24 simulated calls went as the usual stream and found a third speaker: one
        opened with both parties talking at once, one with noise that segmentation-3.0 took
        for speech, the same in both legs; and a recording with an empty second channel was
        one speaker.
        Shape: levels (T, 2), speech (T,), overlap (T,)"""
        if speech.any():
            louder = levels.max(axis=1)
            loud = louder >= louder[speech].max() - LOUD_DB
            judged = speech & loud & (overlap <= self.config.overlap_threshold)
            leads = levels[judged, 0] - levels[judged, 1]
            self._judged = np.concatenate([self._judged, leads])[-STATS_FRAMES:]
        if len(self._judged) < DECIDING_FRAMES:
            return None
        if float(np.median(np.abs(self._judged))) < gap:
            return False if len(self._judged) >= REJECTING_FRAMES else None
        each = min((self._judged >= gap / 2).sum(), (self._judged <= -gap / 2).sum())
        return True if each >= DECIDING_FRAMES else None

    def _legs_as_voices(self, stop: int) -> dict[int, int]:
        """The legs that were already voice speakers (the last ``STATS_FRAMES`` before
        ``stop``, labelled by voice before the stream decided): each becomes the speaker that
        most of the frames it led were given, one leg per speaker, so that nobody is a speaker
        twice."""
        start = max(0, stop - STATS_FRAMES)
        labelled = self._history[start:stop]
        heard = labelled.max(axis=1, initial=0.0) > 0
        if not heard.any():
            return {}
        voices = labelled[heard].argmax(axis=1)
        leads = self.legs.levels(start, start + len(labelled))[heard].argmax(axis=1)
        counts = np.zeros((LEGS, labelled.shape[1]), dtype=np.int64)
        np.add.at(counts, (leads, voices), 1)
        legs: dict[int, int] = {}
        for flat in np.argsort(counts, axis=None, kind="stable")[::-1]:
            leg, voice = (int(i) for i in np.unravel_index(flat, counts.shape))
            if counts[leg, voice] and leg not in legs and voice not in legs.values():
                legs[leg] = voice
        return legs

    def _start_speech(self, first: int, stop: int) -> Future | None:
        """segmentation-3.0 on the step, once: a step that heard it here to decide and then
        runs as the usual stream gets the same result back."""
        if self._heard is not None and self._heard[0] == (first, stop):
            return self._heard[1]
        return super()._start_speech(first, stop)

    def _label_legs(self, first: int, level, both, levels: np.ndarray, speech) -> None:
        """Frames ``[first, first + len(level))`` by their louder channel, as offline
        (:func:`~diarize.inference.channels.channel_speakers`), with the other leg's speaker
        where it talks too and no speech where neither leg is near its own level
        (:func:`~diarize.inference.channels.add_other_leg`); until the legs' levels are known,
        the second speaker of overlapped frames as any stream gives it."""
        scores = (levels - levels.max(axis=1, keepdims=True)) / DB_PER_SCORE
        scores[~speech] = 0.0
        legs = viterbi(scores.astype(np.float64), self.config.change_penalty, self._last_leg)
        self._last_leg = int(legs[-1])
        for leg in legs[speech]:
            if int(leg) not in self._leg_speaker:
                self._leg_speaker[int(leg)] = self._next_speaker
                self._next_speaker += 1
        path = np.array([self._leg_speaker.get(int(leg), -1) for leg in legs], dtype=np.int64)
        statistics = self._statistics(levels, legs, speech)
        if statistics is not None:
            level = np.where(legs_heard(levels, statistics), level, 0.0)
            talks = other_leg_talks(
                levels, legs, speech, statistics, self.config.channel_overlap_db
            )
            other = np.array([self._leg_speaker.get(1 - int(leg), -1) for leg in legs])
            second = np.where(talks, other, -1)
        else:
            second = stream_second_speakers(self._path, path, level, both, self.config)
        known = path >= 0
        self._grow(first + len(level), self._next_speaker)
        self._history[first + np.flatnonzero(known), path[known]] = level[known]
        has = np.flatnonzero(second >= 0)
        self._history[first + has, second[has]] = level[has]
        self._path = np.concatenate([self._path, path])[-SECOND_SPEAKER_REACH:]

    def _statistics(self, levels: np.ndarray, legs: np.ndarray, speech: np.ndarray):
        """The legs' statistics (:func:`~diarize.inference.channels.leg_statistics`) of the
        last ``STATS_FRAMES`` frames, this step's included; None while either leg spoke too
        little, or with ``channel_overlap_db`` None. Shape: (T, 2), (T,), (T,)"""
        if self.config.channel_overlap_db is None:
            return None
        kept = [
            np.concatenate([old, new])
            for old, new in zip(self._seen, (levels, legs, speech), strict=True)
        ]
        self._seen = tuple(part[-STATS_FRAMES:] for part in kept)
        return leg_statistics(*self._seen)

    def _release(self, everything: bool = False) -> None:
        if not self.per_leg:
            return super()._release(everything)
        # held frames (long latencies) are released as they are: the legs do not change their
        # minds as voice centroids do
        self._released = self._final if everything else max(self._released, self._final - self.hold)
