"""Live diarization: feed blocks of samples, get final labels and turns at a fixed latency.

    >>> from diarize.inference.streaming import StreamingDiarizer
    >>> stream = StreamingDiarizer.from_pretrained(latency=1.04)
    >>> for block in microphone_blocks():            # float32 at 16 kHz, any block size
    ...     for turn in stream.feed(block).turns:    # turns that became final
    ...         print(turn)
    >>> stream.finish()                              # the rest, at the end of the stream

Every step finalizes ``block`` new 80 ms frames once ``lookahead`` more frames have arrived,
and releases them ``hold`` frames later, so a frame is labelled ``(block + lookahead + hold) *
0.08`` s after it was heard (presets: 0.32 s = 3 + 1 frames, 1.04 s = 11 + 2, 10 s = 11 + 2 +
111 held: :mod:`~diarize.inference.stream_hold` labels them again by voice). The network sees
the last ``context_seconds`` of final frames plus the new ones, through the same
:class:`WindowModel` as offline long files. With CAM++, the windows of solo speech its columns
show (as offline) make the stream's speakers and move their centroids, one window at a time
(:class:`~diarize.inference.window_linker.WindowLinker`; the network runs every 3.52 s, and
between for a new voice); every frame is labelled by the voice of its own 0.4 s, as offline
(:func:`~diarize.inference.frame_labels.resegment`; the path also runs through the step's
look-ahead), where segmentation-3.0 hears speech in the last 10 s; where it hears two
people, the frame also gets the nearest other speaker among the final frames of the last 2 s
and the step's own, as offline. A step's fbank frames are normalised by the mean of the last
``norm_seconds`` (6 s) of the stream, as an offline CAM++ window is by its 7 s. Labels never
change once given. Steps fall on fixed frame boundaries, so a file and the same samples piped
through stdin give the same result.

Turns come from the same post-processing as offline (:func:`speaker_segments`), recomputed
per speaker from the end of its last final turn (:mod:`~diarize.inference.turn_tracker`); a
turn is final once no later frame can change it (``pad_onset + min_duration_off`` after its
end).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, num_model_frames
from diarize.audio.io import SAMPLE_RATE
from diarize.data.rttm import Turn
from diarize.inference.clustering import unit_rows
from diarize.inference.frame_labels import viterbi
from diarize.inference.latency import LATENCY_PRESETS, latency_frames
from diarize.inference.linking import OnlineLinker, agreement
from diarize.inference.longform import SAMPLES_PER_FRAME, LongformConfig, WindowModel
from diarize.inference.overlap import SECOND_SPEAKER_REACH, stream_second_speakers
from diarize.inference.postprocess import PostProcessingParams
from diarize.inference.stream_audio import StreamAudio
from diarize.inference.stream_hold import StreamUpdate, relabel_held
from diarize.inference.stream_speech import BackgroundSpeech, one_thread
from diarize.inference.turn_tracker import TurnTracker
from diarize.inference.voices import solo_windows
from diarize.inference.window_linker import WindowLinker
from diarize.inference.window_model import clusters_by_voice
from diarize.models.segmentation import WINDOW_SECONDS

__all__ = ["LATENCY_PRESETS", "StreamingDiarizer", "StreamUpdate", "TurnTracker", "latency_frames"]

# frames linked at a time, also those labelled at steps without the network (chosen when 10-s
# steps ran it once per block: real-voice mixes 41.4% -> 38.9%, long-form 38.5 -> 32.2)
LINK_FRAMES = 11
# the network runs at least every 3.52 s (1.76 s before: as accurate, twice the runs; README), and
# between when NEW_VOICE_FRAMES speech frames are under NEW_VOICE_SIMILARITY to every speaker so far
NETWORK_SECONDS = 3.52
NEW_VOICE_SIMILARITY = 0.35
NEW_VOICE_FRAMES = 3
NEW_VOICE_RUN_FRAMES = 8  # least frames between two runs for a new voice (the windows' hop)
SEGMENTATION_FRAMES = round(WINDOW_SECONDS / FRAME_SHIFT)  # segmentation-3.0's, ending a step


class StreamingDiarizer:
    """Diarize audio as it arrives; one engine with offline long files.

    Args:
        network: a SortFormer network in eval mode.
        latency: seconds from hearing a frame to its final label (see :func:`latency_frames`).
        longform: level, silence gate and linking settings (shared with offline).
        postprocessing: turn post-processing (default neutral).
        uri: the stream's name in the turns.
        context_seconds: final frames the network sees before the new ones.
        embed_context_seconds: audio before a block used to compute its frame embeddings.
        norm_seconds: with CAM++, a step's fbank frames are normalised by the mean of the
            last ``norm_seconds`` of audio, as offline windows are by their 7 s (0: by the
            step's own audio).
        num_speakers, max_speakers: cap on the speakers of the stream.
        network_seconds: with segmentation-3.0's speech, the network runs at least once per
            this many seconds once there is a speaker, and between for a new voice (0: always).
        device, bf16: where and how the network runs.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        latency: float = 1.04,
        longform: LongformConfig | None = None,
        postprocessing: PostProcessingParams | None = None,
        uri: str = "stream",
        context_seconds: float = 30.0,
        embed_context_seconds: float = 1.0,
        norm_seconds: float = 6.0,
        num_speakers: int | None = None,
        max_speakers: int | None = None,
        network_seconds: float = NETWORK_SECONDS,
        device: str | torch.device = "cpu",
        bf16: bool = False,
    ) -> None:
        self.config = longform or LongformConfig()
        self.block, self.lookahead, self.hold = latency_frames(latency)
        self.uri = uri
        self.context = int(round(context_seconds / FRAME_SHIFT))
        self.embed_context = int(round(embed_context_seconds / FRAME_SHIFT))
        self.norm_frames = int(round(norm_seconds / FRAME_SHIFT))
        self.network_frames = int(round(network_seconds / FRAME_SHIFT))
        # the level is set once per stream by self.audio, so a block is not scaled by itself
        self.model = WindowModel(network, replace(self.config, level_rms=None), device, bf16)
        # with CAM++ and identity: clustering, windows of solo speech make the speakers (see
        # _step); otherwise the network's columns are linked, by continuity, then by embedding
        self.by_voice = clusters_by_voice(network, self.config)
        cap = num_speakers if num_speakers is not None else max_speakers
        linker = WindowLinker if self.by_voice else OnlineLinker
        self.linker = linker.for_stream(self.config, cap)
        self._speech = None  # segmentation-3.0's speech on a second core (see _step)
        if self.by_voice and self.config.speech_source == "segmentation":
            self._speech = BackgroundSpeech(self.model.segmentation, device, bf16)
        self.turn_tracker = TurnTracker(postprocessing or PostProcessingParams())
        self.audio = StreamAudio(
            self.model, self.config.level_rms, self.embed_context, self.norm_frames,
            self.block + self.lookahead,
        )  # fmt: skip
        self._ring: torch.Tensor | None = None  # final frame embeddings, the last `context`
        self._final_speech = np.zeros(0, dtype=np.float32)  # and their speech (by voice)
        self._history = np.zeros((0, 0), dtype=np.float32)  # final posteriors (T, speakers)
        self._final = 0
        self._released, self._released_label = 0, None  # see _release
        self._unlinked = 0  # final frames labelled since the network last ran
        self._path = np.zeros(0, dtype=np.int64)  # the last final frames' speakers (2 s)
        self._voices: tuple[tuple, np.ndarray | None] = ((), None)  # see _voice_scores

    @classmethod
    def from_pretrained(
        cls, model: str | Path | None = None, latency: float = 1.04, **options
    ) -> StreamingDiarizer:
        """A streaming diarizer on a model file or the bundled default (with its tuned
        post-processing, as ``Diarizer.from_pretrained``)."""
        from diarize.inference.diarizer import Diarizer

        diarizer = Diarizer.from_pretrained(
            model, device=options.pop("device", "cpu"), bf16=options.pop("bf16", None)
        )
        options.setdefault("postprocessing", diarizer.postprocessing)
        options.setdefault("longform", diarizer.longform)
        return cls(diarizer.network, latency, device=diarizer.device, bf16=diarizer.bf16, **options)

    @property
    def latency(self) -> float:
        """Seconds from hearing a frame to its final label."""
        return (self.block + self.lookahead + self.hold) * FRAME_SHIFT

    @property
    def probs(self) -> np.ndarray:
        """Final posteriors so far. Shape: (frames, speakers)"""
        return self._history[: self._released]

    @property
    def turns(self) -> list[Turn]:
        """Every final turn so far."""
        return list(self.turn_tracker.turns)

    def feed(self, samples: np.ndarray) -> StreamUpdate:
        """Add samples (float32 at 16 kHz, any number; ``(N, channels)`` is averaged, as
        offline) and run every step they complete."""
        self.audio.add(samples)
        start = self._released
        ahead = (self.block + self.lookahead) * SAMPLES_PER_FRAME
        while self._final * SAMPLES_PER_FRAME + ahead <= self.audio.received:
            self._step(self.block, self.lookahead)
        turns = self.turn_tracker.update(self._history, self._released, self.uri)
        return StreamUpdate(start, self._history[start : self._released].copy(), turns)

    def finish(self) -> StreamUpdate:
        """End of stream: label the frames still waiting and close every turn."""
        start = self._released
        total = num_model_frames(self.audio.received)
        while self._final < total:
            self._step(min(self.block, total - self._final), 0)
        self._release(everything=True)
        duration = self.audio.received / SAMPLE_RATE
        turns = self.turn_tracker.update(self._history, self._released, self.uri, duration)
        return StreamUpdate(start, self._history[start : self._released].copy(), turns)

    def _step(self, block: int, lookahead: int) -> None:
        first = self._final
        stop = min(first + block + lookahead, num_model_frames(self.audio.received))
        self.audio.count_level(stop)
        # segmentation-3.0 hears the step's speech on the other core while CAM++ embeds it
        pending = self._start_speech(first, stop)
        with one_thread(pending is not None):
            new = self.audio.embed(first, stop)  # (stop - first, D)
            tracks = None if pending is None else pending.result()  # speech, overlap
        past = self._ring if self._ring is not None else new[:0]
        window, known = torch.cat([past, new]), len(past)
        # the silence gate hears the audio at the level the network does (see RunningLevel)
        audio = self.audio.samples(first * SAMPLES_PER_FRAME, stop * SAMPLES_PER_FRAME)
        audio = audio * self.audio.gain
        if tracks is not None:  # segmentation-3.0's speech, silence-gated, and its overlap
            tracks = np.stack([self.model.gate(tracks[0][:, None], audio)[:, 0], tracks[1]])
        if not self._network_due(window, known, block, tracks):
            # by voice between the network's steps: frames labelled with the speakers so far
            for start in range(known, known + block, LINK_FRAMES):
                self._label(window, known, start, min(start + LINK_FRAMES, known + block), tracks)
            self._unlinked += block
        else:
            probs = self.model.probs(window)
            # frames labelled at steps without the network are linked now (their labels stay)
            back = min(self._unlinked, known)
            lead = self.audio.samples((first - back) * SAMPLES_PER_FRAME, first * SAMPLES_PER_FRAME)
            gated = np.concatenate([lead * self.audio.gain, audio])
            probs[known - back :] = self.model.gate(probs[known - back :], gated)
            if self.by_voice:  # the windows since the network last ran, then every frame by voice
                if tracks is None:  # the network's own speech, one speaker per frame
                    tracks = np.stack([probs[known:].max(axis=1), np.zeros(len(probs) - known)])
                self._add_windows(window, probs, tracks[0], (known - back, known + block))
                for start in range(known, known + block, LINK_FRAMES):
                    self._label(
                        window, known, start, min(start + LINK_FRAMES, known + block), tracks
                    )
            else:  # columns linked every LINK_FRAMES: one changes voice more often than every 10 s
                for begin, end in ((known - back, known), (known, known + block)):
                    for start in range(begin, end, LINK_FRAMES):
                        self._link(window, probs, known, start, min(start + LINK_FRAMES, end))
            self._unlinked = 0
        self._final = first + block
        ring = torch.cat([past, new[:block]])
        self._ring = ring[-self.context :] if self.context else ring[:0]
        heard = np.concatenate(
            [self._final_speech, np.zeros(block) if tracks is None else tracks[0][:block]]
        )
        self._final_speech = heard[len(heard) - len(self._ring) :]
        self._forget()
        self._release()

    def _release(self, everything: bool = False) -> None:
        """Label the held frames again by voice with the centroids as they are now
        (:func:`~diarize.inference.stream_hold.relabel_held`), then release those ``hold``
        frames old (``everything``: all, at the end of the stream)."""
        if self.hold and self.by_voice and self.linker.num_speakers > 1:
            rows, centroids = slice(self._released, self._final), self.linker.centroids
            self._history[rows] = relabel_held(
                self._history[rows], self._ring, self.model.campplus, centroids, self.config,
                self._released_label,
            )  # fmt: skip
        self._released = self._final if everything else max(self._released, self._final - self.hold)
        if self._released and self._history[self._released - 1].any():
            self._released_label = int(self._history[self._released - 1].argmax())

    def _link(
        self, window: torch.Tensor, probs: np.ndarray, known: int, start: int, stop: int
    ) -> None:
        """Give the window's frames ``[start, stop)`` (after ``known`` final ones) speakers by
        linking the network's columns (networks without CAM++)."""
        offset = self._final - known  # stream frame of the window's first frame
        rows = slice(start, stop)
        embeddings, masses = self.model.speakers(window, probs, weights_rows=rows)
        continuity = None
        if start and self._history.shape[1]:
            continuity = agreement(probs[:start], self._history[offset : offset + start])
        mapping = self.linker.link(continuity, embeddings, (probs[start:] > 0.5).any(axis=0))
        self.linker.update(mapping, embeddings, masses)
        self._grow(offset + stop, self.linker.num_speakers)
        if start < known:  # frames labelled before, linked late (see _step): labels stay
            return
        for column, speaker in enumerate(mapping):
            if speaker >= 0:
                self._history[offset + start : offset + stop, speaker] = probs[rows, column]

    def _add_windows(
        self, window: torch.Tensor, probs: np.ndarray, level: np.ndarray, own: tuple[int, int]
    ) -> None:
        """Give the linker, in time order, the windows of solo speech centred in window frames
        ``own = (start, stop)`` (:func:`~diarize.inference.voices.solo_windows`, as offline; their
        speech: the final frames' as heard, then ``level`` for the frames after them)."""
        heard = np.concatenate([self._final_speech, level])
        spans = sorted(solo_windows(probs, heard, np.zeros_like(heard), None, self.config, own))
        if spans:
            with torch.inference_mode():
                vectors = self.model.campplus.embed_spans(window, spans).double().cpu().numpy()
            self.linker.add(vectors, np.array([(b - a) * FRAME_SHIFT for a, b in spans]))

    def _network_due(
        self, window: torch.Tensor, known: int, block: int, tracks: np.ndarray | None
    ) -> bool:
        """Whether the network runs at this step: always without segmentation-3.0's speech
        (its columns are the speech) and until the stream has a speaker; else once
        ``network_seconds`` have passed since it last ran, or for a voice unlike every speaker
        so far (``NEW_VOICE_FRAMES`` frames less than ``NEW_VOICE_SIMILARITY`` alike) once
        ``NEW_VOICE_RUN_FRAMES`` have passed (at 0.32 s such a voice called the network at
        nearly every step, and a run that owns a step's 3 frames gets only the windows cut
        short by the end of what is heard: first 10 `real_dev` files 34.11% -> 28.95%)."""
        if tracks is None or not self.by_voice or self.linker.num_speakers == 0:
            return True
        if self._unlinked + block >= self.network_frames:
            return True
        if self._unlinked + block < NEW_VOICE_RUN_FRAMES:
            return False
        scores = self._voice_scores(window, known, len(window))[:block]  # as _label's call
        speech = tracks[0, :block] > self.config.speech_threshold
        return int((scores.max(axis=1)[speech] < NEW_VOICE_SIMILARITY).sum()) >= NEW_VOICE_FRAMES

    def _label(
        self, window: torch.Tensor, known: int, start: int, stop: int, tracks: np.ndarray
    ) -> None:
        """Label window frames ``[start, stop)`` by voice with the speakers so far (no network);
        the frames heard after them (the step's look-ahead) are evidence for their path."""
        heard = tracks[:, start - known :]
        first = self._final - known + start
        self._grow(first + stop - start, self.linker.num_speakers)
        self._label_frames(window, heard[0], heard[1], first, start, stop)

    def _label_frames(
        self, window: torch.Tensor, level: np.ndarray, both: np.ndarray | None, first: int,
        start: int, stop: int,
    ) -> None:  # fmt: skip
        """Streaming by voice, as offline: one speaker per frame, at the level of speech, from
        each frame's 0.4-s embedding against every speaker's running centroid, along a Viterbi
        path from the last final frame's speaker (:func:`~diarize.inference.frame_labels.resegment`);
        a frame whose ``both`` (overlap) is high also gets a second speaker
        (:func:`~diarize.inference.overlap.stream_second_speakers`). The columns only decide when
        a new speaker appears and move the centroids.

        The path runs on through the frames heard after ``stop`` (``level`` and ``both`` reach
        them: the step's look-ahead, 2 frames at 1.04 s), which are not labelled yet: a voice
        that starts at the end of a step shows there first. Replayed at 1.04 s, fourteenth
        session: DER `real_dev` 17.30% -> 17.11%, dev 17.37% -> 17.22%, long-form dev 12.55% ->
        12.28%; real-voice test mixes 22.06% -> 21.91%; no set loses.

        Shape:
            window (T, D), level (H,) and both (H,), H >= stop - start: window frames
            ``[start, stop)`` are stream frames ``[first, first + stop - start)``
        """
        speakers = self.linker.num_speakers
        if speakers == 0:
            return
        scores = self._voice_scores(window, start, start + len(level))
        scores[level <= self.config.speech_threshold] = 0.0
        last = int(self._path[-1]) if len(self._path) else None
        path = viterbi(scores, self.config.change_penalty, previous=last)[: stop - start]
        level = level[: len(path)]
        both = None if both is None else both[: len(path)]
        self._history[first + np.arange(len(path)), path] = level
        if both is not None:  # overlapped frames: also the nearest other speaker, as offline
            second = stream_second_speakers(self._path, path, level, both, self.config, speakers)
            has = np.flatnonzero(second >= 0)
            self._history[first + has, second[has]] = level[has]
        self._path = np.concatenate([self._path, path])[-SECOND_SPEAKER_REACH:]

    def _voice_scores(self, window: torch.Tensor, start: int, stop: int) -> np.ndarray:
        """Cosine of each frame's 0.4-s CAM++ embedding in ``[start, stop)`` with every centroid,
        the embeddings kept for the step's next call on the same frames. Shape: (stop - start, S)"""
        if self._voices[0] != (self._final, start, stop):
            width = max(1, round(self.config.resegment_seconds / FRAME_SHIFT))
            begin, end = max(0, start - width), min(len(window), stop + width)
            with torch.inference_mode():
                sliding = self.model.campplus.embed_sliding(window[begin:end], width)
            frames = unit_rows(sliding[start - begin : stop - begin].double().cpu().numpy())
            self._voices = ((self._final, start, stop), frames)
        return self._voices[1] @ unit_rows(np.stack(self.linker.centroids)).T

    def _start_speech(self, first: int, stop: int) -> Future[np.ndarray] | None:
        """Start segmentation-3.0 on the 10 s ending with frames ``[first, stop)`` (None without
        it): their speech, not the network's (false alarm: 54% of the real conversations' speech)."""
        if self._speech is None:
            return None
        begin = max(0, stop - SEGMENTATION_FRAMES) * SAMPLES_PER_FRAME
        span = self.audio.samples(begin, stop * SAMPLES_PER_FRAME) * self.audio.gain
        return self._speech.submit(span, stop - first)

    def _forget(self) -> None:
        """Drop audio no later step needs (memory stays flat on endless streams)."""
        back = max(self.embed_context, self.norm_frames)
        back = back if self._speech is None else max(back, SEGMENTATION_FRAMES)
        self.audio.forget(self._final - back)

    def _grow(self, frames: int, speakers: int) -> None:
        rows, cols = self._history.shape
        if frames <= rows and speakers <= cols:
            return
        # rows double when the frames outgrow them; a new speaker only adds a column
        height = rows if frames <= rows else max(frames, 2 * rows, 256)
        grown = np.zeros((height, max(speakers, cols)), dtype=np.float32)
        grown[:rows, :cols] = self._history
        self._history = grown
