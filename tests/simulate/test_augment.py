import numpy as np
import pytest
from scipy import signal

from diarize.audio.channel import _mu_law_round_trip, telephone
from diarize.audio.io import SAMPLE_RATE
from diarize.simulate import augment


def _band_power(samples, low, high):
    freqs, power = signal.welch(samples, fs=SAMPLE_RATE, nperseg=4096)
    band = (freqs >= low) & (freqs < high)
    return float(power[band].mean())


@pytest.mark.parametrize("kind, slope_db", [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_colored_noise_has_unit_rms_and_its_slope(kind, slope_db):
    noise = augment.colored_noise(np.random.default_rng(0), 4 * SAMPLE_RATE, kind)
    assert noise.dtype == np.float32
    assert np.sqrt(np.mean(noise.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    # power per octave step, measured between 250-500 Hz and 2-4 kHz (three octaves)
    ratio = 10 * np.log10(_band_power(noise, 2000, 4000) / _band_power(noise, 250, 500)) / 3
    assert ratio == pytest.approx(slope_db, abs=1.0)


def test_colored_noise_is_seeded():
    a = augment.colored_noise(np.random.default_rng(5), 1000, "pink")
    b = augment.colored_noise(np.random.default_rng(5), 1000, "pink")
    assert np.array_equal(a, b)


@pytest.mark.parametrize("rt60", [0.2, 0.6])
def test_synthetic_rir_decays_at_its_rt60(rt60):
    rir = augment.synthetic_rir(np.random.default_rng(1), rt60, drr_db=-5.0)
    assert np.sum(rir.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-4)
    assert np.argmax(np.abs(rir)) == 0  # direct path first: speech stays aligned with the RTTM
    # Schroeder backward integration; T20 fit from -5 to -25 dB of the low band, extrapolated
    tail = rir[1:].astype(np.float64)
    low = signal.sosfilt(signal.butter(4, 1000, fs=SAMPLE_RATE, output="sos"), tail)
    energy = np.cumsum(low[::-1] ** 2)[::-1]
    decay = 10 * np.log10(energy / energy[0])
    first, last = np.argmax(decay < -5), np.argmax(decay < -25)
    measured = 3 * (last - first) / SAMPLE_RATE
    assert measured == pytest.approx(rt60, rel=0.3)


def test_reverberate_keeps_length_and_level():
    rng = np.random.default_rng(2)
    speech = rng.standard_normal(SAMPLE_RATE).astype(np.float32)
    wet = augment.reverberate(speech, augment.synthetic_rir(rng, 0.4, 5.0))
    assert wet.shape == speech.shape
    assert augment.rms_db(wet) == pytest.approx(augment.rms_db(speech), abs=1.5)


def test_add_at_snr_reaches_the_snr_on_speech():
    rng = np.random.default_rng(3)
    speech = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    speech[:SAMPLE_RATE] = 0.1 * rng.standard_normal(SAMPLE_RATE)
    mask = np.zeros(len(speech), dtype=bool)
    mask[:SAMPLE_RATE] = True
    noise = augment.colored_noise(rng, len(speech), "white")
    mixed = augment.add_at_snr(speech, noise, 10.0, mask)
    added = mixed - speech
    snr = augment.rms_db(speech, mask) - augment.rms_db(added)
    assert snr == pytest.approx(10.0, abs=0.01)


def test_telephone_removes_out_of_band_energy():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tones = {f: np.sin(2 * np.pi * f * t).astype(np.float32) for f in (100, 1000, 6000)}
    out = {f: telephone(x, mu_law=False) for f, x in tones.items()}
    assert all(len(y) == len(t) for y in out.values())
    assert augment.rms_db(out[1000]) == pytest.approx(augment.rms_db(tones[1000]), abs=1.0)
    assert augment.rms_db(out[100]) < augment.rms_db(tones[100]) - 15
    assert augment.rms_db(out[6000]) < augment.rms_db(tones[6000]) - 40


def test_mu_law_quantises_to_256_levels():
    x = np.linspace(-1, 1, 10001)
    y = _mu_law_round_trip(x)
    assert len(np.unique(np.round(y, 9))) <= 256
    assert np.max(np.abs(y - x)) < 0.04


def test_set_level_and_clipping_guard():
    rng = np.random.default_rng(4)
    x = (0.01 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    assert augment.rms_db(augment.set_level(x, -20.0)) == pytest.approx(-20.0, abs=0.01)
    loud = augment.set_level(x, -3.0)  # noise peaks ~4x its RMS: must be scaled, not clipped
    assert np.max(np.abs(loud)) <= 0.99
    assert np.corrcoef(loud, x)[0, 1] > 0.9999


def test_fade_does_not_mutate_and_ramps():
    x = np.ones(1000, dtype=np.float32)
    y = augment.fade(x, seconds=0.005)
    assert np.all(x == 1.0)
    assert y[0] == 0.0 and y[-1] == 0.0 and y[500] == 1.0
    assert np.all(np.diff(y[:80]) >= 0)
