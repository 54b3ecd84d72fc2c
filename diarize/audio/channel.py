"""A narrow-band telephone channel (8 kHz, band-pass, 8-bit mu-law), for simulation and for
the noise that training splices in as silence (``diarize.data.silence``)."""

from __future__ import annotations

import numpy as np
from scipy import signal

from diarize.audio.io import SAMPLE_RATE

_EPS = 1e-10


def telephone(
    samples: np.ndarray,
    band: tuple[float, float] = (300.0, 3400.0),
    mu_law: bool = True,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A narrow-band telephone channel: 8 kHz, band-pass, 8-bit mu-law, back to ``sample_rate``.

    Shape:
        (num_samples,) -> (num_samples,)
    """
    import soxr

    narrow = soxr.resample(samples.astype(np.float32), sample_rate, 8000, quality="HQ")
    sos = signal.butter(4, band, btype="bandpass", fs=8000, output="sos")
    narrow = signal.sosfilt(sos, narrow)
    if mu_law:
        narrow = _mu_law_round_trip(narrow)
    wide = soxr.resample(narrow.astype(np.float32), 8000, sample_rate, quality="HQ")
    out = np.zeros(len(samples), dtype=np.float32)
    out[: min(len(wide), len(samples))] = wide[: len(samples)]
    return out


def _mu_law_round_trip(samples: np.ndarray, mu: int = 255) -> np.ndarray:
    """Encode to 8-bit mu-law (G.711-like quantisation) and decode, at the signal's own peak."""
    peak = float(np.max(np.abs(samples))) + _EPS
    x = samples / peak
    compressed = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    quantized = np.round((compressed + 1.0) / 2.0 * mu) / mu * 2.0 - 1.0
    expanded = np.sign(quantized) * ((1.0 + mu) ** np.abs(quantized) - 1.0) / mu
    return expanded * peak
