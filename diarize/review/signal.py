"""The pictures and sound a review page embeds: a waveform envelope and compressed audio."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from diarize.audio.io import load_audio
from diarize.errors import DiarizeError

# 50 envelope columns per second (20 ms) is finer than a phone screen showing 10 s; the cap keeps
# a long file's page small (a 2-hour file gets 27 per second, 0.5 MB of base64).
ENVELOPE_RATE = 50.0
MAX_ENVELOPE_BINS = 200_000
BLOCK_SECONDS = 30.0
ENCODE_BLOCK = 16000 * 10  # samples per Vorbis write


@dataclass(frozen=True)
class Envelope:
    """Minimum and maximum of the signal per bin, scaled to int8 (-127..127) by the peak.

    Shape:
        low, high: (num_bins,)
    """

    rate: float  # bins per second
    low: np.ndarray
    high: np.ndarray
    duration: float  # seconds of audio

    def to_base64(self) -> str:
        """Interleaved ``low, high`` int8 pairs, base64 encoded (what the page's script reads)."""
        pairs = np.stack([self.low, self.high], axis=1).astype(np.int8)
        return base64.b64encode(pairs.tobytes()).decode("ascii")


def waveform_envelope(
    path: str | Path,
    rate: float = ENVELOPE_RATE,
    max_bins: int = MAX_ENVELOPE_BINS,
) -> Envelope:
    """Min/max envelope of a file, read block by block (memory does not grow with length).

    Channels are averaged; the bin rate is lowered for long files so that at most ``max_bins``
    bins are made.

    Raises:
        DiarizeError: the file is missing or not readable audio.
    """
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: no such audio file")
    try:
        with sf.SoundFile(str(path)) as handle:
            sr, frames = handle.samplerate, handle.frames
            duration = frames / sr
            rate = min(rate, max_bins / max(duration, 1e-9))
            hop = max(1, int(round(sr / rate)))
            block = hop * max(1, int(BLOCK_SECONDS * sr) // hop)
            low, high = [], []
            for data in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                mono = data.mean(axis=1)
                pad = (-len(mono)) % hop
                if pad:  # the last bin holds fewer samples: repeat its last one
                    mono = np.concatenate([mono, np.full(pad, mono[-1], dtype=np.float32)])
                bins = mono.reshape(-1, hop)
                low.append(bins.min(axis=1))
                high.append(bins.max(axis=1))
    except DiarizeError:
        raise
    except Exception as error:  # soundfile raises several types for unreadable files
        raise DiarizeError(f"{path}: not a readable audio file ({error})") from None
    low_all = np.concatenate(low) if low else np.zeros(0, np.float32)
    high_all = np.concatenate(high) if high else np.zeros(0, np.float32)
    peak = max(float(np.abs(low_all).max(initial=0)), float(np.abs(high_all).max(initial=0)))
    scale = 127.0 / peak if peak > 0 else 0.0
    return Envelope(
        rate=sr / hop,
        low=np.round(low_all * scale).astype(np.int8),
        high=np.round(high_all * scale).astype(np.int8),
        duration=duration,
    )


def compressed_audio(path: str | Path, quality: float = 0.1) -> tuple[str, bytes]:
    """The recording as mono 16 kHz Ogg/Vorbis (about 25 kbit/s), for embedding in a page.

    Returns:
        ``(mime type, bytes)``.

    Raises:
        DiarizeError: the file is missing or not readable audio.
    """
    samples = load_audio(path)
    buffer = io.BytesIO()
    # libsndfile's Vorbis encoder takes a quality in [0, 1] through its compression level
    # (0 = best); unknown to old soundfile versions, where the default is used
    kwargs = {"compression_level": 1.0 - quality} if _has_compression_level() else {}
    with sf.SoundFile(buffer, "w", 16000, 1, format="OGG", subtype="VORBIS", **kwargs) as out:
        # libsndfile's Vorbis writer crashes on long single writes (minutes of audio): write
        # in blocks
        for start in range(0, len(samples), ENCODE_BLOCK):
            out.write(samples[start : start + ENCODE_BLOCK])
    return "audio/ogg", buffer.getvalue()


def _has_compression_level() -> bool:
    import inspect

    return "compression_level" in inspect.signature(sf.SoundFile).parameters


def seconds_label(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss`` for a duration."""
    total = int(math.floor(seconds + 0.5))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
