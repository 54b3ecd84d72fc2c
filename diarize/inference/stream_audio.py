"""What a stream keeps of its audio: the recent samples, their running level, and the frame
embeddings of each step.

:class:`~diarize.inference.streaming.StreamingDiarizer` decides what a step does;
:class:`StreamAudio` holds the samples it needs (never more than the longest look back, so an
endless stream stays flat in memory) and runs the front end on a step's frames.
"""

from __future__ import annotations

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT
from diarize.inference.window_model import SAMPLES_PER_FRAME, RunningLevel, WindowModel, autocast
from diarize.models.campplus_frontend import CampplusFrontEnd

__all__ = ["StreamAudio"]


class StreamAudio:
    """The stream's samples from the oldest one a later step may read, and its level.

    Args:
        model: the window model (its network's front end embeds the steps).
        level_rms: the level the networks hear (None: as recorded); set once per stream from
            what was heard so far (see :class:`RunningLevel`), so a block is not scaled by itself.
        embed_context: frames of audio before a step used to compute its frame embeddings.
        norm_frames: with CAM++, a step's fbank frames are normalised by the mean of the last
            ``norm_frames`` of audio (0: by the step's own audio).
        step_frames: the frames of one step with its look-ahead (the window of a front end
            without that history).
    """

    def __init__(
        self,
        model: WindowModel,
        level_rms: float | None,
        embed_context: int,
        norm_frames: int,
        step_frames: int,
    ) -> None:
        self.model = model
        self.embed_context, self.norm_frames = embed_context, norm_frames
        front_end = getattr(model.network, "campplus", None)
        with_history = norm_frames > 0 and isinstance(front_end, CampplusFrontEnd)
        self._tail_embedder = front_end if with_history else None
        self._embedder = None
        if not with_history:  # with CAM++, one step's input is one window
            self._embedder = model.network.embed_audio
            if isinstance(front_end, CampplusFrontEnd):
                self._embedder = front_end.with_window((embed_context + step_frames) * FRAME_SHIFT)
        self._audio = np.zeros(0, dtype=np.float32)  # samples from _audio_start on
        self._audio_start = 0
        self.received = 0  # samples so far
        self._level = RunningLevel(level_rms)
        self._level_until = 0  # samples counted in _level

    @property
    def gain(self) -> np.float32:
        """The running level's gain: what the networks hear is the samples times this."""
        return np.float32(self._level.gain)

    def add(self, samples: np.ndarray) -> None:
        """Append samples at 16 kHz: mono ``(N,)``, or ``(N, channels)`` averaged as offline."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:  # (frames, channels), as soundfile and sounddevice give them
            samples = samples.mean(axis=1, dtype=np.float32)
        samples = samples.reshape(-1)
        self._audio = np.concatenate([self._audio, samples])
        self.received += len(samples)

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of the stream (zeros past the end)."""
        piece = self._audio[start - self._audio_start : stop - self._audio_start]
        return np.pad(piece, (0, max(0, stop - start - len(piece))))

    def count_level(self, stop: int) -> None:
        """Count the samples before frame ``stop`` not counted yet in the running level."""
        end = min(stop * SAMPLES_PER_FRAME, self.received)
        if end > self._level_until:
            self._level.add(self.samples(self._level_until, end))
            self._level_until = end

    def embed(self, first: int, stop: int) -> torch.Tensor:
        """Frame embeddings of frames ``[first, stop)`` with ``embed_context`` frames of audio
        before them (the running level counted up to ``stop``). Shape: (stop - first, D)"""
        begin = max(0, first - self.embed_context)
        history = begin  # audio read: the embedding context, or the normalisation's history
        if self._tail_embedder is not None:
            history = max(0, min(begin, stop - self.norm_frames))
        audio = self.samples(history * SAMPLES_PER_FRAME, stop * SAMPLES_PER_FRAME) * self.gain
        device = self.model.device
        signal = torch.from_numpy(np.ascontiguousarray(audio)).to(device)
        if self._tail_embedder is not None:
            # not in bfloat16 on a CPU: on a step's 2 s casting CAM++'s weights costs more
            # than it saves (RTF +7%)
            bf16 = self.model.bf16 and device.type != "cpu"
            with torch.inference_mode(), autocast(device, bf16):
                emb = self._tail_embedder.embed_tail(signal, stop - history, stop - begin)
            return emb[first - begin :].float()
        lengths = torch.tensor([len(signal)], device=device)
        with torch.inference_mode():
            emb, emb_lengths = self._embedder(signal[None], lengths)
        return emb[0, first - begin : int(emb_lengths[0])].float()

    def forget(self, first: int) -> None:
        """Drop the samples before frame ``first`` (no later step reads them)."""
        keep_from = max(0, first) * SAMPLES_PER_FRAME
        if keep_from > self._audio_start:
            self._audio = self._audio[keep_from - self._audio_start :]
            self._audio_start = keep_from
