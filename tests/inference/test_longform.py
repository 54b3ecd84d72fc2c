import numpy as np
import pytest
import soundfile as sf
import torch

from diarize.audio.features import num_model_frames
from diarize.inference.longform import (
    SAMPLES_PER_FRAME,
    ArraySource,
    FileSource,
    LongformConfig,
    SpeakerCache,
    batch_posteriors,
    chunk_windows,
    longform_posteriors,
)

NO_GATE = dict(silence_floor_db=None, min_audio_seconds=0.0, level_rms=None)


def _signal(seconds, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    tone = np.sin(2 * np.pi * (150 + 50 * np.sin(t)) * t)
    return (0.3 * tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("num_samples", [1, 1279, 1280, 16000 * 7 + 333, 16000 * 20])
@pytest.mark.parametrize("chunk_seconds", [1.0, 3.0, 100.0])
def test_chunk_windows_cover_every_frame_once(num_samples, chunk_seconds):
    config = LongformConfig(chunk_seconds=chunk_seconds, context_seconds=0.32)
    windows = chunk_windows(num_samples, config)
    total = num_model_frames(num_samples)
    covered = [f for w in windows for f in range(w.start, w.stop)]
    assert covered == list(range(total))
    if len(windows) > 1:
        sizes = [w.stop - w.start for w in windows]
        assert max(sizes) - min(sizes) <= 1  # equal chunks, no tiny tail
        assert max(sizes) * SAMPLES_PER_FRAME <= chunk_seconds * 16000
    for w in windows:
        assert w.first_sample == (w.start - w.left) * SAMPLES_PER_FRAME
        assert w.last_sample <= num_samples
        assert w.left <= 4 and w.right <= 4
    if len(windows) == 1:
        assert (windows[0].left, windows[0].right, windows[0].last_sample) == (0, 0, num_samples)


def test_one_chunk_equals_the_offline_forward(debug_network):
    audio = _signal(12.0)
    probs = longform_posteriors(debug_network, ArraySource(audio), LongformConfig(**NO_GATE))
    with torch.inference_mode():
        offline, lengths = debug_network(torch.from_numpy(audio)[None], torch.tensor([len(audio)]))
    assert probs.shape == (num_model_frames(len(audio)), debug_network.max_speakers)
    assert int(lengths[0]) == len(probs)
    np.testing.assert_allclose(probs, offline[0].numpy(), atol=1e-5)


def test_chunked_run_has_one_row_per_frame(debug_network):
    audio = _signal(11.3)
    config = LongformConfig(chunk_seconds=3.0, cache_frames=24, **NO_GATE)
    probs = longform_posteriors(debug_network, ArraySource(audio), config)
    assert probs.shape == (num_model_frames(len(audio)), debug_network.max_speakers)
    assert np.isfinite(probs).all() and probs.min() >= 0 and probs.max() <= 1
    # deterministic: the same input gives the same output
    again = longform_posteriors(debug_network, ArraySource(audio), config)
    np.testing.assert_array_equal(probs, again)


class _CountingSource(ArraySource):
    """Records the longest read, to check that a file is never read whole."""

    longest = 0

    def read(self, start, stop):
        self.longest = max(self.longest, stop - start)
        return super().read(start, stop)


def test_reads_are_bounded_by_the_chunk(debug_network):
    source = _CountingSource(_signal(12.0))
    config = LongformConfig(chunk_seconds=4.0, context_seconds=0.16, **NO_GATE)
    longform_posteriors(debug_network, source, config)
    assert source.longest <= (4.0 + 2 * 0.16) * 16000


def test_file_source_matches_array_source(debug_network, tmp_path):
    audio = _signal(9.0)
    path = tmp_path / "x.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    config = LongformConfig(chunk_seconds=3.0, **NO_GATE)
    from_file = longform_posteriors(debug_network, FileSource(path), config)
    from_array = longform_posteriors(debug_network, ArraySource(audio), config)
    np.testing.assert_allclose(from_file, from_array, atol=1e-5)
    window = FileSource(path, offset=2.0, duration=3.0)
    assert window.num_samples == 48000
    np.testing.assert_allclose(window.read(0, 16000), audio[32000:48000], atol=1e-6)


def test_silence_and_short_audio_get_zero_posteriors(debug_network):
    config = LongformConfig(chunk_seconds=3.0)
    silence = longform_posteriors(debug_network, ArraySource(np.zeros(16000 * 7)), config)
    assert silence.shape[0] == num_model_frames(16000 * 7) and not silence.any()
    short = longform_posteriors(debug_network, ArraySource(_signal(0.6)), config)
    assert short.shape == (num_model_frames(9600), debug_network.max_speakers)
    assert not short.any()


def test_batch_equals_one_by_one(debug_network):
    audios = [_signal(3.0, seed=1), _signal(5.5, seed=2), np.zeros(4000, np.float32)]
    config = LongformConfig(**NO_GATE)
    batched = batch_posteriors(debug_network, audios, config)
    for audio, probs in zip(audios, batched, strict=True):
        alone = longform_posteriors(debug_network, ArraySource(audio), config)
        assert probs.shape == alone.shape
        np.testing.assert_allclose(probs, alone, atol=1e-4)


def test_cache_match_follows_cached_speakers():
    cache = SpeakerCache(max_speakers=4, budget=8)
    cache.labels = np.array([0, 0, 1, 1])
    # the network swapped the two known speakers' columns
    cache_probs = np.array(
        [[0.1, 0.9, 0, 0], [0.2, 0.8, 0, 0], [0.9, 0.1, 0, 0], [0.7, 0.2, 0.1, 0]]
    )
    order = cache.match(cache_probs)
    assert order.tolist() == [1, 0, 2, 3]
    empty = SpeakerCache(max_speakers=3, budget=8)
    assert empty.match(np.zeros((0, 3))).tolist() == [0, 1, 2]


def test_cache_update_is_bounded_and_speaker_major():
    cache = SpeakerCache(max_speakers=2, budget=6)
    core = torch.arange(10, dtype=torch.float32)[:, None].repeat(1, 3)
    probs = np.zeros((10, 2), np.float32)
    probs[:5, 1] = 0.9  # speaker 1 first in time, but speaker 0 is global slot 0
    probs[5:, 0] = 0.8
    cache.update(core, np.zeros((0, 2), np.float32), probs)
    assert 0 < cache.size <= 6
    assert list(cache.labels) == sorted(cache.labels)  # speaker-major
    assert set(cache.labels) == {0, 1}
    rows = cache.embeddings(core)[:, 0].long().tolist()
    assert all(probs[row, label] > 0.5 for row, label in zip(rows, cache.labels, strict=True))


def test_level_normalisation_makes_the_output_gain_invariant(debug_network):
    audio = _signal(10.0)
    config = LongformConfig(chunk_seconds=4.0, silence_floor_db=None)
    quiet = longform_posteriors(debug_network, ArraySource(0.05 * audio), config)
    loud = longform_posteriors(debug_network, ArraySource(audio), config)
    np.testing.assert_allclose(quiet, loud, atol=1e-4)
