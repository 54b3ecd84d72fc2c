import numpy as np
import pytest
import soundfile as sf

from diarize.audio.io import (
    SAMPLE_RATE,
    audio_duration,
    is_audio_path,
    load_audio,
    to_mono_16k,
    write_audio,
)
from diarize.errors import DiarizeError


def _tone(seconds: float, sr: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_stereo_44k_is_averaged_and_resampled(tmp_path):
    left, right = _tone(1.0, 44100), np.zeros(44100, dtype=np.float32)
    path = tmp_path / "stereo file é.flac"
    sf.write(path, np.stack([left, right], axis=1), 44100)
    audio = load_audio(path)
    assert audio.dtype == np.float32
    assert abs(len(audio) - SAMPLE_RATE) <= 1
    # averaging halves the amplitude of a one-sided tone
    assert 0.2 < np.abs(audio).max() < 0.3


def test_offset_and_duration_select_a_window(tmp_path):
    samples = np.concatenate([np.zeros(SAMPLE_RATE), _tone(1.0, SAMPLE_RATE)])
    path = tmp_path / "a.wav"
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")
    window = load_audio(path, offset=1.0, duration=0.5)
    assert len(window) == SAMPLE_RATE // 2
    np.testing.assert_allclose(window, samples[SAMPLE_RATE : SAMPLE_RATE + SAMPLE_RATE // 2])
    assert audio_duration(path) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "content, reason",
    [(b"", r"empty file \(0 bytes\)"), (b"hello, not audio", "not a readable audio file")],
)
def test_broken_files_name_the_file(tmp_path, content, reason):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(DiarizeError, match=rf"broken\.wav: {reason}"):
        load_audio(path)


def test_an_undecodable_recording_says_how_to_convert_it(tmp_path):
    path = tmp_path / "call.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    with pytest.raises(DiarizeError, match=r"call\.m4a: m4a recordings cannot be decoded.*ffmpeg"):
        load_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(DiarizeError, match="no such audio file"):
        load_audio(tmp_path / "nope.wav")


def test_nan_samples_are_rejected(tmp_path):
    samples = _tone(0.5, SAMPLE_RATE)
    samples[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(DiarizeError, match="nan.wav: audio contains NaN"):
        load_audio(path)


def test_to_mono_rejects_3d():
    with pytest.raises(DiarizeError, match="expected 1-D or 2-D"):
        to_mono_16k(np.zeros((2, 2, 2)), SAMPLE_RATE)


def test_write_audio_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "out" / "x.wav"
    samples = _tone(0.25, SAMPLE_RATE)
    write_audio(path, samples)
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]
    np.testing.assert_allclose(load_audio(path), samples, atol=1e-4)


def test_is_audio_path_is_case_insensitive():
    assert is_audio_path("A.WAV") and is_audio_path("b.Flac") and not is_audio_path("c.txt")


def test_scale_to_rms_sets_the_level_and_leaves_silence_alone():
    from diarize.audio.io import REFERENCE_RMS, scale_to_rms

    scaled = scale_to_rms(_tone(0.5, SAMPLE_RATE))
    assert float(np.sqrt(np.mean(scaled.astype(np.float64) ** 2))) == pytest.approx(REFERENCE_RMS)
    silence = np.zeros(100, dtype=np.float32)
    assert scale_to_rms(silence) is silence
    assert len(scale_to_rms(np.zeros(0, dtype=np.float32))) == 0
