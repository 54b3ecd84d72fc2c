"""Load any audio file as mono float32 at 16 kHz; the one place audio enters the library."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from diarize.errors import DiarizeError
from diarize.io_utils import atomic_path

SAMPLE_RATE = 16000
# Speech level the network sees: training windows and inference chunks are both scaled to this
# RMS (about -26 dBFS) by scale_to_rms, so gain never differs between the two.
REFERENCE_RMS = 0.05
AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".au",
    ".sph",
)


# recordings in containers libsndfile cannot decode (AAC, WMA, AMR; video): phones and
# meeting apps write them, so a folder's are listed and each fails with how to convert it
UNDECODABLE_EXTENSIONS = (".m4a", ".aac", ".mp4", ".wma", ".amr", ".3gp", ".webm", ".mkv", ".mov")


def is_audio_path(path: str | Path) -> bool:
    """True when the file name has a known audio extension (case-insensitive)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def is_recording_path(path: str | Path) -> bool:
    """True for audio (:func:`is_audio_path`) and for recordings this project cannot decode
    (``UNDECODABLE_EXTENSIONS``), which a batch reports as failed instead of passing over."""
    return is_audio_path(path) or Path(path).suffix.lower() in UNDECODABLE_EXTENSIONS


def audio_duration(path: str | Path) -> float:
    """Duration in seconds, read from the header (no decoding where the format allows)."""
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
    except Exception as error:  # soundfile raises several types for unreadable files
        raise unreadable_audio(path, error) from None
    if info.samplerate <= 0:
        raise DiarizeError(f"{path}: invalid sample rate {info.samplerate}")
    return info.frames / info.samplerate


def load_audio(
    path: str | Path,
    offset: float = 0.0,
    duration: float | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Read ``[offset, offset + duration)`` of a file as mono float32 at ``sample_rate``.

    Stereo and multi-channel audio is averaged; any input rate is resampled (soxr).

    Raises:
        DiarizeError: the file is missing, unreadable, truncated or has non-finite samples.

    Shape:
        (num_samples,)
    """
    data, native_sr = read_native(path, offset, duration)
    return to_mono_16k(data, native_sr, sample_rate, source=path)


def load_channels(
    path: str | Path, offset: float = 0.0, duration: float | None = None
) -> np.ndarray:
    """Read ``[offset, offset + duration)`` of a file as float32 at 16 kHz, every channel kept
    (a call recorded per leg, streamed: :mod:`diarize.inference.stream_legs`).

    Raises:
        DiarizeError: as :func:`load_audio`.

    Shape:
        (num_samples, channels)
    """
    data, native_sr = read_native(path, offset, duration)
    return _checked_at(data, native_sr, SAMPLE_RATE, path)


def read_native(
    path: str | Path, offset: float = 0.0, duration: float | None = None
) -> tuple[np.ndarray, int]:
    """``[offset, offset + duration)`` of a file at its own rate and channels, unchecked.

    Raises:
        DiarizeError: the file is missing or unreadable.

    Shape:
        -> (num_samples, channels), rate
    """
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: no such audio file")
    try:
        with sf.SoundFile(str(path)) as handle:
            native_sr = handle.samplerate
            start = int(round(offset * native_sr))
            if start > 0:
                handle.seek(min(start, handle.frames))
            frames = -1 if duration is None else int(round(duration * native_sr))
            return handle.read(frames=frames, dtype="float32", always_2d=True), native_sr
    except Exception as error:
        raise unreadable_audio(path, error) from None


def to_mono_16k(
    samples: np.ndarray, native_sr: int, sample_rate: int = SAMPLE_RATE, source: object = "<array>"
) -> np.ndarray:
    """Average channels, check values and resample an in-memory signal.

    Args:
        samples: (num_samples,) or (num_samples, channels) array.
        native_sr: its sample rate.
        sample_rate: the rate wanted.
        source: what to name in error messages.

    Shape:
        (num_samples,) -> (num_samples * sample_rate / native_sr,)
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1, dtype=np.float32)
    elif samples.ndim != 1:
        raise DiarizeError(f"{source}: expected 1-D or 2-D audio, got shape {samples.shape}")
    return _checked_at(samples, native_sr, sample_rate, source)


def _checked_at(
    samples: np.ndarray, native_sr: int, sample_rate: int, source: object
) -> np.ndarray:
    """``samples`` (any channels) checked for non-finite values and resampled (soxr).
    Shape: (N, ...) -> (N * sample_rate / native_sr, ...)"""
    if not np.all(np.isfinite(samples)):
        raise DiarizeError(f"{source}: audio contains NaN or infinite samples")
    if native_sr != sample_rate and samples.size:
        import soxr

        samples = soxr.resample(samples, native_sr, sample_rate, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


def scale_to_rms(audio: np.ndarray, target_rms: float = REFERENCE_RMS) -> np.ndarray:
    """``audio`` scaled to ``target_rms`` (a copy); empty or silent audio is returned as it is.

    Shape:
        (num_samples,) -> (num_samples,)
    """
    if len(audio) == 0:
        return audio
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return audio * np.float32(target_rms / rms) if rms > 1e-8 else audio


def write_audio(
    path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, subtype: str = "PCM_16"
) -> None:
    """Write a mono file atomically (temp file in the same folder, then rename).

    The container follows the file extension (.wav, .flac, .ogg).
    """
    path = Path(path)
    container = {".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower(), "WAV")
    if container == "OGG":
        subtype = "VORBIS"
    with atomic_path(path) as tmp:
        sf.write(str(tmp), samples, sample_rate, format=container, subtype=subtype)


def unreadable_audio(path: Path, error: Exception) -> DiarizeError:
    """The one-line error for a file the decoder refused: an empty file says so, others give
    the decoder's complaint without its "Error opening '<path>': " preamble."""
    if path.is_file() and path.stat().st_size == 0:
        return DiarizeError(f"{path}: empty file (0 bytes), not audio")
    if path.suffix.lower() in UNDECODABLE_EXTENSIONS:
        return DiarizeError(
            f"{path}: {path.suffix[1:]} recordings cannot be decoded here (wav, flac, ogg, opus, "
            f"mp3, aiff, au or sph can); convert it first, e.g. "
            f"ffmpeg -i '{path.name}' -ac 1 -ar 16000 '{path.stem}.wav'"
        )
    text = str(error).strip().splitlines()[-1] if str(error).strip() else ""
    text = re.sub(r"^Error opening .*?: ", "", text).replace(str(Path.cwd()) + "/", "")
    return DiarizeError(
        f"{path}: not a readable audio file ({text.rstrip('.') or type(error).__name__})"
    )
