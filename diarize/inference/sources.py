"""Where long-form inference reads audio from: random access to 16 kHz mono samples.

A file is decoded window by window (``soundfile`` seeks), so a multi-hour recording is never
held in memory; an in-memory array is resampled once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.audio.io import (
    SAMPLE_RATE,
    load_audio,
    load_channels,
    read_native,
    to_mono_16k,
    unreadable_audio,
)
from diarize.errors import DiarizeError
from diarize.inference.channels import LEGS, channel_levels_of


class AudioSource(Protocol):
    """Random access to 16 kHz mono samples, so that a file is never loaded whole."""

    num_samples: int

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32 (exactly ``stop - start`` of them)."""
        ...

    def channel_levels(self, frames: int) -> np.ndarray | None:
        """Per 80-ms frame, both channels' levels in dBFS of a two-channel recording before they
        were averaged (:mod:`diarize.inference.channels`); None for any other. Shape: -> (frames, 2)"""
        ...


class ArraySource:
    """An in-memory signal (averaged to mono and resampled to 16 kHz on construction).

    Shape:
        samples: (num_samples,), (num_samples, channels) or (channels, num_samples)
    """

    def __init__(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
            raise DiarizeError(f"sample_rate must be an integer, got {sample_rate!r}")
        if sample_rate <= 0:
            raise DiarizeError(f"sample_rate must be > 0, got {sample_rate}")
        samples = np.asarray(samples)
        if samples.ndim == 2 and samples.shape[0] < samples.shape[1]:
            # (channels, samples), as torch and librosa lay it out: a recording has more
            # samples than channels, so the shorter axis is the channels
            samples = samples.T
        self.samples = to_mono_16k(samples, int(sample_rate))
        self.num_samples = len(self.samples)
        two = samples.ndim == 2 and samples.shape[1] == LEGS
        self._legs = (samples, int(sample_rate)) if two else None

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.samples[start:stop]

    def channel_levels(self, frames: int) -> np.ndarray | None:
        return None if self._legs is None else channel_levels_of(*self._legs, frames)


class FileSource:
    """A window ``[offset, offset + duration)`` of an audio file, decoded chunk by chunk.

    Raises:
        DiarizeError: the file is missing or not readable audio (on construction), or has
            non-finite samples (when the bad chunk is read).
    """

    def __init__(self, path: str | Path, offset: float = 0.0, duration: float | None = None):
        import soundfile as sf

        self.path = Path(path)
        if not self.path.is_file():
            raise DiarizeError(f"{self.path}: no such audio file")
        try:
            info = sf.info(str(self.path))
        except Exception as error:  # soundfile raises several types for unreadable files
            raise unreadable_audio(self.path, error) from None
        if info.samplerate <= 0 or info.frames < 0:
            raise DiarizeError(f"{self.path}: invalid header ({info.samplerate} Hz)")
        total = info.frames / info.samplerate
        if offset >= total and offset > 0:
            raise DiarizeError(f"{self.path}: offset {offset} s is past the end ({total:.2f} s)")
        self.offset = float(offset)
        available = total - self.offset
        self.duration = available if duration is None else min(float(duration), available)
        self.num_samples = int(round(self.duration * SAMPLE_RATE))
        self.channels = info.channels

    def channel_levels(self, frames: int) -> np.ndarray | None:
        """Both channels' levels per frame, decoded a minute at a time (None: not two)."""
        if self.channels != LEGS:
            return None
        levels = np.empty((frames, LEGS), dtype=np.float32)
        step = round(60.0 / FRAME_SHIFT)  # frames per block
        for frame in range(0, frames, step):
            count = min(step, frames - frame)
            block, rate = read_native(
                self.path, self.offset + frame * FRAME_SHIFT, count * FRAME_SHIFT
            )
            levels[frame : frame + count] = channel_levels_of(block, rate, count)
        return levels

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._read(load_audio, start, stop)

    def read_channels(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` with every channel kept. Shape: -> (stop - start, C)"""
        return self._read(load_channels, start, stop)

    def _read(self, load, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.num_samples)
        if stop <= start:
            return np.zeros((0, self.channels) if load is load_channels else 0, dtype=np.float32)
        samples = load(
            self.path,
            offset=self.offset + start / SAMPLE_RATE,
            duration=(stop - start) / SAMPLE_RATE,
        )
        # resampling may round a sample either way; the engine needs exact lengths
        wanted = stop - start
        if len(samples) < wanted:
            samples = np.pad(samples, [(0, wanted - len(samples))] + [(0, 0)] * (samples.ndim - 1))
        return samples[:wanted]
