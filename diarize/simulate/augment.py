"""Signal-level augmentations for simulated sessions: gain, reverberation, noise, telephone band.

Pure functions on float32 numpy arrays (16 kHz mono); randomness comes in through a
``numpy.random.Generator`` so that a session renders byte-identically from its seed. Everything is
vectorised (FFT-based convolution and filtering), never a Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import signal

from diarize.audio.io import SAMPLE_RATE
from diarize.simulate.config import NOISE_TYPES, SimulateConfig
from diarize.simulate.schema import AugmentPlan, NoisePlan, ReverbPlan, SessionPlan, SourcePiece
from diarize.simulate.session import round4, source_piece
from diarize.simulate.sources import SourceUtterance

NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f^exponent
_EPS = 1e-10


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms_db(samples: np.ndarray, mask: np.ndarray | None = None) -> float:
    """RMS level in dBFS, over ``mask`` where given (and not empty)."""
    if mask is not None and mask.any():
        samples = samples[mask]
    if samples.size == 0:
        return -200.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return 10.0 * np.log10(power + _EPS)


def fade(samples: np.ndarray, seconds: float = 0.005, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Raised-cosine fade in and out, so cut pieces do not click.

    Shape:
        (num_samples,) -> (num_samples,)
    """
    length = min(int(seconds * sample_rate), len(samples) // 2)
    if length < 1:
        return samples.copy()
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length, dtype=np.float64))).astype(
        np.float32
    )
    out = samples.astype(np.float32, copy=True)
    out[:length] *= ramp
    out[-length:] *= ramp[::-1]
    return out


def synthetic_rir(
    rng: np.random.Generator, rt60: float, drr_db: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A room impulse response: direct path plus exponentially decaying noise.

    The tail's energy falls 60 dB in ``rt60`` seconds (highs twice as fast as lows, as air and
    walls absorb them more), starts after a 2-8 ms pre-delay, and sits ``drr_db`` below the direct
    path. The direct path is at sample 0 so the speech stays aligned with the RTTM. Unit energy,
    so convolving keeps the speech level.

    Shape:
        (round(1.2 * rt60 * sample_rate),)
    """
    length = max(int(1.2 * rt60 * sample_rate), 16)
    time = np.arange(length, dtype=np.float64) / sample_rate
    noise = rng.standard_normal(length)
    low = signal.lfilter([0.25], [1.0, -0.75], noise)  # one-pole low-pass (~650 Hz corner)
    high = noise - low
    decay_low = np.exp(-6.908 * time / rt60)  # 6.908 = ln(1000): -60 dB at rt60
    decay_high = np.exp(-6.908 * time / (0.5 * rt60))
    tail = low * decay_low + high * decay_high
    predelay = int(rng.uniform(0.002, 0.008) * sample_rate)
    tail[: predelay + 1] = 0.0
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / (np.sum(tail**2) + _EPS))
    rir = tail
    rir[0] = 1.0
    return (rir / np.sqrt(np.sum(rir**2))).astype(np.float32)


def reverberate(samples: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a room impulse response, keeping the input length (the tail is cut).

    Shape:
        (num_samples,) -> (num_samples,)
    """
    if not samples.any():
        return samples.copy()
    return signal.oaconvolve(samples, rir, mode="full")[: len(samples)].astype(np.float32)


def colored_noise(rng: np.random.Generator, num_samples: int, kind: str) -> np.ndarray:
    """White, pink or brown noise with unit RMS, shaped in the frequency domain.

    Below 20 Hz the spectrum is flat (no DC drift from brown noise).

    Shape:
        (num_samples,)
    """
    white = rng.standard_normal(num_samples)
    exponent = NOISE_EXPONENTS[kind]
    if exponent > 0:
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(num_samples, d=1.0 / SAMPLE_RATE)
        spectrum *= np.maximum(freqs, 20.0) ** (-exponent / 2.0)
        white = np.fft.irfft(spectrum, n=num_samples)
    white /= np.sqrt(np.mean(white**2)) + _EPS
    return white.astype(np.float32)


def tile(samples: np.ndarray, num_samples: int) -> np.ndarray:
    """Repeat a bed to ``num_samples`` (cross-fading is unnecessary for noise-like beds)."""
    if len(samples) == 0:
        return np.zeros(num_samples, dtype=np.float32)
    repeats = -(-num_samples // len(samples))
    return np.tile(samples, repeats)[:num_samples]


def add_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, speech_mask: np.ndarray | None = None
) -> np.ndarray:
    """``speech + noise`` with the noise scaled to ``snr_db`` below the speech's active power.

    Shape:
        (num_samples,), (num_samples,) -> (num_samples,)
    """
    gain = db_to_gain(rms_db(speech, speech_mask) - snr_db - rms_db(noise))
    return (speech + gain * noise).astype(np.float32)


def set_level(
    samples: np.ndarray, level_db: float, speech_mask: np.ndarray | None = None
) -> np.ndarray:
    """Scale so the speech RMS is ``level_db`` dBFS, then keep the peak below -0.1 dBFS.

    The clipping guard lowers the whole signal rather than clipping it.

    Shape:
        (num_samples,) -> (num_samples,)
    """
    out = samples * db_to_gain(level_db - rms_db(samples, speech_mask))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.989:
        out *= 0.989 / peak
    return out.astype(np.float32)


# -- planning the draws (stored in plan.json, applied by render) ----------------------------


def plan_augment(
    rng: np.random.Generator,
    session: SessionPlan,
    sources: Sequence[SourceUtterance],
    by_speaker: dict[str, list[int]],
    config: SimulateConfig,
) -> SessionPlan:
    """``session`` with its acoustics drawn: gains, reverberation, noise, telephone band, level.

    Each segment gets its ``gain_db`` (speaker gain + per-utterance jitter); the rest goes into
    the session's ``augment``.
    """
    aug = config.augment
    speakers = session.speakers
    spread = aug.gain_spread_db / 2
    speaker_gain = {s: round4(rng.uniform(-spread, spread)) for s in speakers}
    segments = []
    for segment in session.segments:
        jitter = rng.uniform(-aug.utterance_gain_db, aug.utterance_gain_db)
        segments.append(replace(segment, gain_db=round4(speaker_gain[segment.speaker] + jitter)))
    reverb = None
    if rng.random() < aug.reverb.prob:
        reverb = {
            s: ReverbPlan(
                rt60=round4(rng.uniform(*aug.reverb.rt60)),
                drr_db=round4(rng.uniform(*aug.reverb.drr_db)),
            )
            for s in speakers
        }
    noise = None
    if rng.random() < aug.noise.prob:
        kinds = [k for k in NOISE_TYPES if aug.noise.types.get(k, 0.0) > 0]
        weights = np.array([aug.noise.types[k] for k in kinds], dtype=np.float64)
        kind = str(rng.choice(kinds, p=weights / weights.sum()))
        noise = NoisePlan(kind, round4(rng.uniform(*aug.noise.snr_db)))
        if kind == "babble":
            bed = _babble_bed(rng, speakers, sources, by_speaker, session.duration, aug.noise)
            if bed:
                snr_db = max(noise.snr_db, aug.noise.babble_min_snr_db)
                noise = replace(noise, snr_db=snr_db, babble=tuple(bed))
            else:  # too few other speakers: babble would be one intelligible, unlabelled voice
                noise = replace(noise, kind="pink")
    if noise is None:  # a faint floor: real recordings are never digitally silent
        noise = NoisePlan("white", round4(rng.uniform(*aug.noise.floor_snr_db)), floor=True)
    acoustics = AugmentPlan(
        speaker_gain_db=speaker_gain,
        reverb=reverb,
        noise=noise,
        telephone=bool(rng.random() < aug.telephone.prob),
        level_db=round4(rng.uniform(*aug.level_db)),
    )
    return replace(session, segments=tuple(segments), augment=acoustics)


def _babble_bed(rng, speakers, sources, by_speaker, duration, noise_config) -> list[SourcePiece]:
    """Utterances of other speakers, back to back per talker, for a bed the renderer tiles.

    Empty when the pool has fewer than ``babble_talkers[0]`` speakers outside the session.
    """
    others = [s for s in by_speaker if s not in speakers]
    low, high = noise_config.babble_talkers
    if len(others) < low:
        return []
    talkers = rng.choice(
        others, size=min(len(others), int(rng.integers(low, high + 1))), replace=False
    )
    bed_length = min(duration, 20.0)
    bed = []
    for talker in talkers:
        time = float(rng.uniform(0.0, 1.0))
        while time < bed_length:
            utterance = sources[int(rng.choice(by_speaker[str(talker)]))]
            start, end = utterance.speech[0][0], utterance.speech[-1][1]
            bed.append(source_piece(utterance, start, end - start, time))
            time += end - start + float(rng.uniform(0.0, 0.3))
    return bed
