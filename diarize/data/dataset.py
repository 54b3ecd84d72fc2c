"""Manifest entries -> audio windows with frame targets, and batch padding.

Training draws random crops of ``session_len_sec`` from longer recordings (one crop per
``session_len_sec`` of audio per epoch); validation tiles each recording with fixed windows.
Each window's waveform is level-normalised (so gain does not matter) and, in training, gets a
random gain. Randomness comes from torch's process RNG, which Lightning seeds per run and the
DataLoader seeds per worker and epoch, so runs are reproducible and epochs differ; under DDP the
training run reseeds it per rank (``diarize.training.callbacks.SeedPerRank``), so that ranks do
not draw the same crops for their shards of the windows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from diarize.audio.features import (
    FRAME_SHIFT,
    HOP_LENGTH,
    SAMPLE_RATE,
    SUBSAMPLING,
    num_model_frames,
)
from diarize.audio.io import REFERENCE_RMS, load_audio, scale_to_rms
from diarize.data.feature_cache import read_features
from diarize.data.labels import rttm_to_frame_targets
from diarize.data.manifest import ManifestEntry, read_manifest
from diarize.data.rttm import Turn, read_rttm
from diarize.data.silence import splice_audio, splice_features
from diarize.errors import DiarizeError

log = logging.getLogger(__name__)

NORMALIZE_RMS = REFERENCE_RMS


@dataclass(frozen=True)
class Window:
    """One example: ``[start, start + length)`` seconds inside manifest entry ``entry``.

    ``start`` is None for a random crop drawn when the example is loaded.
    """

    entry: int
    start: float | None
    length: float


def load_checked_manifest(path: str | Path) -> tuple[list[ManifestEntry], list[list[Turn]]]:
    """Manifest entries and their turns, after checking every audio and RTTM file exists.

    Raises:
        DiarizeError: naming the missing manifest, audio file or RTTM (and the manifest line).
    """
    if path is None:
        raise DiarizeError("no manifest given (set model.train_ds.manifest_filepath=...)")
    entries = read_manifest(path)
    if not entries:
        raise DiarizeError(f"{path}: manifest has no entries")
    turns: list[list[Turn]] = []
    for index, entry in enumerate(entries):
        where = f"{path}: entry {index + 1}"
        if not entry.audio_filepath.is_file():
            raise DiarizeError(f"{entry.audio_filepath}: no such audio file ({where})")
        if entry.rttm_filepath is None:
            raise DiarizeError(f"{where}: 'rttm_filepath' is required for training")
        if not entry.rttm_filepath.is_file():
            raise DiarizeError(f"{entry.rttm_filepath}: no such RTTM file ({where})")
        turns.append(_turns_of(entry, read_rttm(entry.rttm_filepath)))
    return entries, turns


def _turns_of(entry: ManifestEntry, turns: list[Turn]) -> list[Turn]:
    uris = {turn.uri for turn in turns}
    if entry.uniq_id in uris:
        return [turn for turn in turns if turn.uri == entry.uniq_id]
    if len(uris) <= 1:
        return turns  # one recording per RTTM: its uri need not match the audio stem
    raise DiarizeError(
        f"{entry.rttm_filepath}: no turns for uri {entry.uniq_id!r} among {len(uris)} uris"
    )


class DiarizationDataset(torch.utils.data.Dataset):
    """Windows of a manifest with their frame targets.

    Args:
        entries: manifest entries (``duration`` filled).
        turns: each entry's RTTM turns.
        session_len_sec: window length in seconds.
        max_speakers: target columns K.
        random_crop: draw random windows (training) instead of tiling (validation).
        min_window_sec: skip tiles shorter than this at the end of a recording.
        normalize: waveform level per window, ``"rms"``, ``"peak"`` or ``"none"``.
        gain_db: random gain range in dB (0: none).
        feature_files: one cached front-end feature file per entry (see
            :mod:`diarize.data.feature_cache`); then windows hold ``emb`` instead of ``audio``
            and start on the 80 ms frame grid.
        silence_prob: training only: chance that a window gets a stretch of noise alone
            (:mod:`diarize.data.silence`): ``silence_sec`` seconds of audio, or with cached
            features 1-2 front-end windows from ``silence_bank`` (set with the cache).
        silence_sec: length range of that stretch (audio windows).
    """

    def __init__(
        self,
        entries: list[ManifestEntry],
        turns: list[list[Turn]],
        session_len_sec: float,
        max_speakers: int,
        random_crop: bool = True,
        min_window_sec: float = 1.0,
        normalize: str = "rms",
        gain_db: float = 0.0,
        feature_files: list[Path] | None = None,
        silence_prob: float = 0.0,
        silence_sec: tuple[float, float] = (6.0, 15.0),
    ) -> None:
        if normalize not in ("rms", "peak", "none"):
            raise DiarizeError(f"normalize must be 'rms', 'peak' or 'none', got {normalize!r}")
        if session_len_sec <= 0:
            raise DiarizeError(f"session_len_sec must be > 0, got {session_len_sec}")
        self.entries, self.turns = entries, turns
        self.session_len_sec, self.max_speakers = session_len_sec, max_speakers
        self.random_crop, self.normalize, self.gain_db = random_crop, normalize, gain_db
        self.windows = _windows(entries, session_len_sec, random_crop, min_window_sec)
        self.feature_files = feature_files
        self.silence_prob, self.silence_sec = silence_prob, tuple(silence_sec)
        # with cached features: noise-only front-end windows (N, W, D), W frames on the grid
        self.silence_bank: np.ndarray | None = None
        self._warned = False

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        """One window: ``audio`` (N,), ``targets`` (T, K) with T = num_model_frames(N)."""
        window = self.windows[index]
        entry = self.entries[window.entry]
        # validation windows draw nothing, so they leave the process RNG alone
        needs_rng = window.start is None or self.gain_db > 0 or self.silence_prob > 0
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()))) if needs_rng else None
        start = window.start
        if start is None:
            start = float(rng.uniform(0.0, max(entry.duration - window.length, 0.0)))
        silence = rng is not None and rng.random() < self.silence_prob
        if self.feature_files is not None:
            return self._cached_window(window, entry, start, rng if silence else None)
        audio = load_audio(entry.audio_filepath, entry.offset + start, window.length)
        targets = self._labels(window, entry, start, len(audio) / SAMPLE_RATE).targets
        audio = _level(audio, self.normalize)
        if silence:
            audio, targets = splice_audio(
                audio, targets, rng, self.silence_sec, HOP_LENGTH * SUBSAMPLING
            )
        if self.gain_db > 0:
            audio = audio * np.float32(10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20))
        return {
            "audio": torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
            "targets": torch.from_numpy(targets),
            "uri": entry.uniq_id,
            "offset": entry.offset + start,
        }

    def _cached_window(
        self,
        window: Window,
        entry: ManifestEntry,
        start: float,
        silence_rng: np.random.Generator | None = None,
    ) -> dict:
        """A window of cached front-end features, snapped to the 80 ms frame grid."""
        first = int(round(start / FRAME_SHIFT))
        start = first * FRAME_SHIFT
        frames = num_model_frames(int(round(window.length * SAMPLE_RATE)))
        labels = self._labels(window, entry, start, frames * FRAME_SHIFT)
        frames = min(frames, len(labels.targets))
        emb = read_features(self.feature_files[window.entry], first, frames)
        targets = labels.targets[:frames]
        if silence_rng is not None and self.silence_bank is not None:
            grid_offset = first % self.silence_bank.shape[1]
            emb, targets = splice_features(
                emb, targets, self.silence_bank, silence_rng, grid_offset
            )
        return {
            "emb": torch.from_numpy(emb),
            "targets": torch.from_numpy(targets),
            "uri": entry.uniq_id,
            "offset": entry.offset + start,
        }

    def _labels(self, window: Window, entry: ManifestEntry, start: float, duration: float):
        labels = rttm_to_frame_targets(
            self.turns[window.entry], entry.offset + start, duration, self.max_speakers
        )
        if labels.dropped and not self._warned:
            self._warned = True
            log.warning(
                "%s: %d speakers in a window but max_speakers=%d; kept those who speak most "
                "(dropped %s; said once)",
                entry.audio_filepath,
                len(labels.speakers) + len(labels.dropped),
                self.max_speakers,
                ", ".join(labels.dropped),
            )
        return labels


def _windows(
    entries: list[ManifestEntry], length: float, random_crop: bool, min_window: float
) -> list[Window]:
    windows = []
    for index, entry in enumerate(entries):
        duration = float(entry.duration)
        if random_crop:
            count = max(1, math.ceil(duration / length - 1e-6))
            windows += [Window(index, None, min(length, duration))] * count
            continue
        start = 0.0
        while start < duration - 1e-6:
            size = min(length, duration - start)
            if size >= min_window or start == 0.0:
                windows.append(Window(index, start, size))
            start += length
    return windows


def _level(audio: np.ndarray, normalize: str) -> np.ndarray:
    if normalize == "rms":
        return scale_to_rms(audio, NORMALIZE_RMS)
    if normalize == "peak":
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        return audio * np.float32(0.9 / peak) if peak > 1e-8 else audio
    return audio


def collate_windows(batch: list[dict]) -> dict:
    """Zero-pad a list of windows into a batch with lengths.

    Windows hold ``audio`` or, with a feature cache, ``emb`` (one row per target frame).

    Shape:
        -> audio (B, N_max), audio_lengths (B,) or emb (B, T_max, D), emb_lengths (B,);
           targets (B, T_max, K), target_lengths (B,)
    """
    key = "emb" if "emb" in batch[0] else "audio"
    inputs, input_lengths = _pad([item[key] for item in batch])
    targets, target_lengths = _pad([item["targets"] for item in batch])
    return {
        key: inputs,
        f"{key}_lengths": input_lengths,
        "targets": targets,
        "target_lengths": target_lengths,
        "uris": [item["uri"] for item in batch],
        "offsets": [item["offset"] for item in batch],
    }


def _pad(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack along a new first axis, zero-padding the first dimension. Shape: -> (B, L_max, ...)"""
    lengths = torch.tensor([len(t) for t in tensors])
    out = torch.zeros(len(tensors), int(lengths.max()), *tensors[0].shape[1:])
    for b, tensor in enumerate(tensors):
        out[b, : len(tensor)] = tensor
    return out, lengths
