"""Long stretches without speech, spliced into training windows.

Real recordings open and close with silence and pause for seconds; simulated conversations are
dense (gaps of at most a few seconds). A front end that normalises each window by its own mean
(CAM++: 6-s windows, mean-normalised fbank, as it was trained) hands the network a window of
room tone that looks like any other: nothing says it is quiet. A network that never saw such a
window calls it speech (measured: 8 s of white noise 28 dB below the speech, prepended to a real
conversation, came out as speech on 78% of its frames, and as a speaker of its own).

So training replaces, with probability ``silence_prob`` per window, a stretch of it by noise
alone, with no one speaking:
- audio windows (:func:`splice_audio`): a noise clip of ``silence_sec`` seconds at 20-60 dB
  below the window's level;
- cached front-end features (:func:`splice_features`): whole front-end windows (on the grid the
  features were computed on) replaced by the features of noise-only windows from a bank built
  once with the same front end (:func:`noise_clip`), which is what the front end gives a
  recording at a long pause.

Targets are zeroed there and the columns put back in arrival order (a speaker whose first words
were cut now arrives later; one cut entirely leaves the window).

The noise is procedural: white to brown noise with a random spectral tilt and colour, mains
hum, clicks, a telephone channel, digital silence; nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

from diarize.audio.channel import telephone
from diarize.audio.io import SAMPLE_RATE

__all__ = ["arrival_order", "noise_clip", "splice_audio", "splice_features"]

_EPS = 1e-10


def noise_clip(rng: np.random.Generator, num_samples: int) -> np.ndarray:
    """A clip of noise without speech: the kinds of room tone a recording pauses in.

    Tilted noise (power ~ 1/f^a, a in [0, 2.5]) through a random gentle equaliser, sometimes
    with mains hum, clicks or a telephone channel, at a random level (-90 to -30 dBFS); one
    clip in twenty is digital silence with a trace of dither.

    Shape:
        -> (num_samples,) float32
    """
    if rng.random() < 0.05:
        return (rng.standard_normal(num_samples) * 10 ** (-95 / 20)).astype(np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.maximum(np.fft.rfftfreq(num_samples, d=1.0 / SAMPLE_RATE), 20.0)
    shape = freqs ** (-rng.uniform(0.0, 2.5) / 2.0)
    # a smooth random colour: +-6 dB bumps over a log-frequency axis
    knots = np.linspace(np.log(20.0), np.log(SAMPLE_RATE / 2), 8)
    shape *= 10 ** (np.interp(np.log(freqs), knots, rng.uniform(-6.0, 6.0, len(knots))) / 20)
    noise = np.fft.irfft(spectrum * shape, n=num_samples)
    noise /= np.sqrt(np.mean(noise**2)) + _EPS
    t = np.arange(num_samples) / SAMPLE_RATE
    if rng.random() < 0.2:  # mains hum with harmonics
        base = rng.choice([50.0, 60.0])
        hum = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * t) for k in (1, 2, 3))
        noise += rng.uniform(0.5, 4.0) * hum
    if rng.random() < 0.2:  # clicks and knocks
        for _ in range(rng.integers(1, 6)):
            at = rng.integers(0, max(num_samples - 400, 1))
            decay = np.exp(-np.arange(400) / rng.uniform(20, 120))
            burst = rng.standard_normal(400) * decay * rng.uniform(3, 30)
            noise[at : at + 400] += burst[: num_samples - at]
    if rng.random() < 0.2:
        noise = telephone(noise.astype(np.float32))
    noise *= 10 ** (rng.uniform(-90.0, -30.0) / 20) / (np.sqrt(np.mean(noise**2)) + _EPS)
    return noise.astype(np.float32)


def arrival_order(targets: np.ndarray) -> np.ndarray:
    """Columns sorted by first active frame (silent columns last, order otherwise kept).

    Shape:
        (T, K) -> (T, K)
    """
    active = targets > 0.5
    first = np.where(active.any(0), active.argmax(0), len(targets))
    return targets[:, np.argsort(first, kind="stable")]


def splice_features(
    emb: np.ndarray,
    targets: np.ndarray,
    bank: np.ndarray,
    rng: np.random.Generator,
    grid_offset: int,
    max_windows: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace 1..``max_windows`` consecutive front-end windows by noise-only ones.

    Args:
        emb: cached features of a training window, one row per frame.
        targets: its frame targets (columns in arrival order).
        bank: features of noise-only front-end windows, ``(N, W, D)``: W frames per window.
        rng: the window's random generator.
        grid_offset: frames from the start of ``emb`` back to the front end's window grid
            (the recording's frame index of ``emb[0]`` modulo W).
        max_windows: most consecutive windows replaced.

    Returns:
        ``(emb, targets)``, copies; unchanged when no whole window fits.

    Shape:
        (T, D), (T, K), (N, W, D) -> (T, D), (T, K)
    """
    width = bank.shape[1]
    first = (-grid_offset) % width  # the first grid line inside the window
    slots = (len(emb) - first) // width
    if slots < 1:
        return emb, targets
    count = int(rng.integers(1, min(max_windows, slots) + 1))
    start = first + width * int(rng.integers(0, slots - count + 1))
    emb, targets = emb.copy(), targets.copy()
    for k in range(count):
        at = start + k * width
        emb[at : at + width] = bank[rng.integers(len(bank))]
    targets[start : start + count * width] = 0.0
    return emb, arrival_order(targets)


def splice_audio(
    audio: np.ndarray,
    targets: np.ndarray,
    rng: np.random.Generator,
    seconds: tuple[float, float],
    frame_samples: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace a stretch of ``seconds`` (drawn in the range, at most the window) by noise
    alone, 20-60 dB below the window's level, on the frame grid.

    Shape:
        (N,), (T, K) -> (N,), (T, K)
    """
    frames = min(len(targets), len(audio) // frame_samples)
    length = min(int(rng.uniform(*seconds) * SAMPLE_RATE / frame_samples), frames)
    if length < 1:
        return audio, targets
    start = int(rng.integers(0, frames - length + 1))
    lo, hi = start * frame_samples, (start + length) * frame_samples
    level = 10 * np.log10(np.mean(np.square(audio, dtype=np.float64)) + _EPS)
    clip = noise_clip(rng, hi - lo)
    clip *= 10 ** ((level - rng.uniform(20.0, 60.0)) / 20) / (np.sqrt(np.mean(clip**2)) + _EPS)
    audio, targets = audio.copy(), targets.copy()
    audio[lo:hi] = clip
    targets[start : start + length] = 0.0
    return audio, arrival_order(targets)
