"""Front-end features cached on disk, one ``.npy`` per manifest entry.

With a frozen pretrained front end, every epoch would recompute the same features; caching
them once lets CPU training spend its time on the SortFormer blocks. Each entry's features
cover the whole entry (``offset`` to ``offset + duration``), one row per 80 ms frame, fp16;
the file name carries a hash of the audio path, offset, duration and the front end, so a
changed manifest or front end never reads stale features.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from diarize.data.manifest import ManifestEntry


def feature_path(folder: str | Path, entry: ManifestEntry, front_end: str) -> Path:
    """Where ``entry``'s cached features live for the front end described by ``front_end``."""
    key = f"{Path(entry.audio_filepath).resolve()}|{entry.offset}|{entry.duration}|{front_end}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return Path(folder) / f"{entry.uniq_id}-{digest}.npy"


def read_features(path: Path, first: int, frames: int) -> np.ndarray:
    """Rows ``[first, first + frames)`` of a cached feature file as float32 (zero-padded).

    Shape:
        -> (frames, D)
    """
    stored = np.load(path, mmap_mode="r")
    rows = np.asarray(stored[first : first + frames], dtype=np.float32)
    if len(rows) < frames:
        rows = np.concatenate([rows, np.zeros((frames - len(rows), stored.shape[1]), np.float32)])
    return rows
