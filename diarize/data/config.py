"""Data-side settings of a training run (typed; merged from YAML by :mod:`diarize.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DatasetConfig:
    """One data split: a manifest cut into windows of ``session_len_sec``."""

    manifest_filepath: str | None = None
    session_len_sec: float = 45.0
    batch_size: int = 4
    num_workers: int = 0
    shuffle: bool = True
    # training crops windows at random places of longer recordings; validation tiles them
    random_crop: bool = True
    min_window_sec: float = 1.0  # shorter leftovers at the end of a recording are skipped
    normalize: str = "rms"  # waveform level per window: "rms", "peak" or "none"
    gain_db: float = 6.0  # training only: random gain in [-gain_db, +gain_db] dB after normalising
    # a folder for the features of a frozen pretrained front end (computed once, then read);
    # None: features are computed from the audio at every step
    feature_cache: str | None = None
    # training only: chance that a window gets a stretch of noise alone, no one speaking
    # (diarize/data/silence.py); simulated conversations have no long pauses, real ones do
    silence_prob: float = 0.0
    silence_sec: list[float] = field(default_factory=lambda: [6.0, 15.0])  # audio windows
