import sys
from pathlib import Path

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
    batch_posteriors,
    chunk_windows,
    longform_posteriors,
)

sys.path.append(str(Path(__file__).parent))
from planted_network import PlantedNetwork, frame_labels, render, schedule  # noqa: E402

NO_GATE = dict(silence_floor_db=None, min_audio_seconds=0.0, level_rms=None)


def _signal(seconds, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    tone = np.sin(2 * np.pi * (150 + 50 * np.sin(t)) * t)
    return (0.3 * tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("num_samples", [1, 1279, 1280, 16000 * 7 + 333, 16000 * 20])
@pytest.mark.parametrize("chunk_seconds", [1.0, 3.0, 100.0])
def test_chunk_windows_overlap_and_their_own_frames_tile_the_file(num_samples, chunk_seconds):
    config = LongformConfig(chunk_seconds=chunk_seconds, overlap_seconds=chunk_seconds / 4)
    windows = chunk_windows(num_samples, config)
    total = num_model_frames(num_samples)
    owned = [f for w in windows for f in range(w.own_start, w.own_stop)]
    assert owned == list(range(total))
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.start < before.stop  # neighbours overlap
    for w in windows:
        assert w.start <= w.own_start < w.own_stop <= w.stop
        assert (w.stop - w.start) * SAMPLES_PER_FRAME <= max(chunk_seconds * 16000, 1280)
        assert w.first_sample == w.start * SAMPLES_PER_FRAME and w.last_sample <= num_samples
    if len(windows) == 1:
        assert (windows[0].start, windows[0].last_sample) == (0, num_samples)
    elif windows:
        sizes = [w.stop - w.start for w in windows]
        assert max(sizes) == min(sizes)  # equal chunks, no tiny tail
        assert windows[-1].stop == total


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
    config = LongformConfig(chunk_seconds=3.0, overlap_seconds=0.8, **NO_GATE)
    probs = longform_posteriors(debug_network, ArraySource(audio), config)
    assert probs.shape[0] == num_model_frames(len(audio))
    assert probs.shape[1] >= debug_network.max_speakers
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
    config = LongformConfig(chunk_seconds=4.0, overlap_seconds=1.0, **NO_GATE)
    longform_posteriors(debug_network, source, config)
    assert source.longest <= 4.0 * 16000


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


def test_level_normalisation_makes_the_output_gain_invariant(debug_network):
    audio = _signal(10.0)
    config = LongformConfig(chunk_seconds=4.0, silence_floor_db=None)
    quiet = longform_posteriors(debug_network, ArraySource(0.05 * audio), config)
    loud = longform_posteriors(debug_network, ArraySource(audio), config)
    np.testing.assert_allclose(quiet, loud, atol=1e-4)


def test_the_silence_gate_judges_the_levelled_audio(debug_network):
    """A quiet recording is not silence: the gate (on by default) zeroes the digitally silent
    frames of a recording 80 dB down exactly as of the same recording at a normal level."""
    audio = _signal(10.0)
    audio[4 * 16000 : 6 * 16000] = 0.0  # digital silence
    config = LongformConfig(chunk_seconds=4.0)
    loud = longform_posteriors(debug_network, ArraySource(audio), config)
    quiet = longform_posteriors(debug_network, ArraySource(1e-4 * audio), config)
    np.testing.assert_allclose(quiet, loud, atol=1e-4)
    silent = slice(4 * 16000 // SAMPLES_PER_FRAME + 1, 6 * 16000 // SAMPLES_PER_FRAME - 1)
    assert not loud[silent].any() and loud[: silent.start].any()
    batched = batch_posteriors(debug_network, [1e-4 * audio, audio], config)
    np.testing.assert_allclose(batched[0], batched[1], atol=1e-4)
    assert not batched[0][silent].any() and batched[0][: silent.start].any()


# --- global speaker identity, exact: a planted network (tests/inference/planted_network.py) ---

PLANTED = dict(silence_floor_db=None, level_rms=None)


class PlantedSource:
    """Audio of a token schedule, rendered on demand (a 30-minute file is never in memory)."""

    def __init__(self, frames):
        self.frames = frames
        self.num_samples = len(frames) * SAMPLES_PER_FRAME

    def read(self, start, stop):
        first, last = start // SAMPLES_PER_FRAME, -(-stop // SAMPLES_PER_FRAME)
        audio = render(self.frames[first:last])
        return audio[start - first * SAMPLES_PER_FRAME : stop - first * SAMPLES_PER_FRAME]


def alternate(speakers, start, end, turn=4.0, pause=0.4):
    """Turns of ``turn`` seconds taken in rotation by ``speakers`` over ``[start, end)``."""
    turns, t, i = [], start, 0
    while t + turn <= end:
        turns.append((speakers[i % len(speakers)], t, t + turn - pause))
        t, i = t + turn, i + 1
    return turns


def assert_one_label_per_speaker(labels, frames, tokens_of):
    """Every true speaker has exactly one label over the file, and no two share one."""
    seen = {}
    for speaker, tokens in tokens_of.items():
        alone = frames[:, tokens].any(1) & (frames.sum(1) == 1)
        values = set(labels[alone].tolist())
        assert len(values) == 1 and -1 not in values, (speaker, values)
        seen[speaker] = values.pop()
    assert len(set(seen.values())) == len(seen), seen
    return seen


IDENTITIES = pytest.mark.parametrize("identity", ["clustering", "linking"])


@IDENTITIES
def test_a_speaker_back_after_25_minutes_keeps_its_label(identity):
    network = PlantedNetwork([(0, 0), (1, 1), (2, 2)], num_voices=3, num_activities=3)
    turns = alternate([0, 1], 0, 180) + alternate([1, 2], 180, 1680) + alternate([0, 2], 1680, 1800)
    frames = schedule(1800, turns, 3)
    probs = longform_posteriors(
        network, PlantedSource(frames), LongformConfig(**PLANTED, identity=identity)
    )
    labels = frame_labels(probs)
    seen = assert_one_label_per_speaker(labels, frames, {0: [0], 1: [1], 2: [2]})
    assert seen == {0: 0, 1: 1, 2: 2}


@IDENTITIES
def test_six_speakers_at_most_three_at_once_get_six_labels(identity):
    network = PlantedNetwork([(i, i) for i in range(6)], num_voices=6, num_activities=6)
    # a group of three every 2 minutes, one voice replaced at a time: every chunk hears at
    # most four (K) voices, the file six, and each leaves and comes back
    turns = [
        t
        for i in range(9)
        for t in alternate([(i + j) % 6 for j in range(3)], 120 * i, 120 * (i + 1))
    ]
    frames = schedule(1080, turns, 6)
    probs = longform_posteriors(
        network, PlantedSource(frames), LongformConfig(**PLANTED, identity=identity)
    )
    labels = frame_labels(probs)
    assert_one_label_per_speaker(labels, frames, {i: [i] for i in range(6)})
    assert probs.shape[1] == 6 > network.max_speakers


def folded_session():
    """A and B, then B folded into A's column for 150 s, then B alone again and C arrives."""
    # tokens: A, B, B-folded-into-A (B's voice, A's column), C
    network = PlantedNetwork([(0, 0), (1, 1), (1, 0), (2, 2)], num_voices=3, num_activities=3)
    turns = alternate([0, 1], 0, 100) + alternate([0, 2], 100, 250) + alternate([1, 3], 250, 400)
    return network, schedule(400, turns, 4)


def test_a_folded_speaker_neither_loses_nor_lends_its_label():
    network, frames = folded_session()
    config = LongformConfig(**PLANTED, identity="linking")
    probs = longform_posteriors(network, PlantedSource(frames), config)
    labels = frame_labels(probs)
    # linking: B's frames while folded go to A (the network gave them no column of their own)
    seen = assert_one_label_per_speaker(labels, frames, {"A": [0], "B": [1], "C": [3]})
    # ... but B gets its own label back, and C a new one
    assert seen == {"A": 0, "B": 1, "C": 2}


def test_clustering_gives_a_folded_speaker_its_own_label_even_while_folded():
    network, frames = folded_session()
    probs = longform_posteriors(network, PlantedSource(frames), LongformConfig(**PLANTED))
    # who speaks comes from the voices, not from the network's columns
    seen = assert_one_label_per_speaker(
        frame_labels(probs), frames, {"A": [0], "B": [1, 2], "C": [3]}
    )
    assert seen == {"A": 0, "B": 1, "C": 2}


@IDENTITIES
def test_speaker_count_hints_apply_to_the_whole_file(identity):
    network = PlantedNetwork([(i, i) for i in range(6)], num_voices=6, num_activities=6)
    turns = alternate([0, 1, 2], 0, 240) + alternate([3, 4, 5], 240, 480)
    source = PlantedSource(schedule(480, turns, 6))
    config = LongformConfig(**PLANTED, identity=identity)
    assert frame_labels(longform_posteriors(network, source, config)).max() == 5
    capped = longform_posteriors(network, source, config, max_speakers=5)
    assert frame_labels(capped).max() == 4
    exact = longform_posteriors(network, source, config, num_speakers=3)
    # linking: the chunk across the change hears four voices in four columns, never fewer
    # than four; clustering: exactly three
    assert frame_labels(exact).max() == (3 if identity == "linking" else 2)


def test_fallback_pooling_without_campplus_links_speakers_too():
    network = PlantedNetwork([(0, 0), (1, 1), (2, 2)], 3, 3, with_pooler=False)
    turns = alternate([0, 1], 0, 120) + alternate([1, 2], 120, 400) + alternate([0, 2], 400, 480)
    frames = schedule(480, turns, 3)
    probs = longform_posteriors(network, PlantedSource(frames), LongformConfig(**PLANTED))
    assert_one_label_per_speaker(frame_labels(probs), frames, {0: [0], 1: [1], 2: [2]})


def test_clustering_without_solo_speech_gives_one_speaker_and_hints_of_one_merge():
    network = PlantedNetwork([(0, 0), (1, 1)], num_voices=2, num_activities=2)
    config = LongformConfig(**PLANTED)
    # both voices always together: no window of solo speech, one speaker holds the speech
    frames = schedule(60, [(0, 1, 50), (1, 1, 50)], 2)
    probs = longform_posteriors(network, PlantedSource(frames), config)
    assert frame_labels(probs)[frames.any(1)].tolist() == [0] * int(frames.any(1).sum())
    # turns in alternation, but num_speakers=1: one label
    turns = alternate([0, 1], 0, 120)
    source = PlantedSource(schedule(120, turns, 2))
    labels = frame_labels(longform_posteriors(network, source, config, num_speakers=1))
    assert set(labels.tolist()) == {-1, 0}


def test_speech_source_is_checked_and_falls_back_to_the_network_without_segmentation():
    from diarize.errors import DiarizeError
    from diarize.inference.window_model import WindowModel

    with pytest.raises(DiarizeError, match="speech_source"):
        LongformConfig(speech_source="vad")
    probs = np.array([[0.9, 0.1], [0.2, 0.3]], dtype=np.float32)
    model = WindowModel(torch.nn.Module(), LongformConfig(speech_source="segmentation"))
    speech, overlap, local = model.speech(probs, np.zeros(2560, dtype=np.float32))
    assert speech.tolist() == pytest.approx([0.9, 0.3]) and not overlap.any() and local is None


@pytest.mark.parametrize("setting", [{"speaker_prior": -0.1}, {"speaker_prior_floor": 0.0}])
def test_speaker_prior_settings_are_checked(setting):
    from diarize.errors import DiarizeError

    with pytest.raises(DiarizeError, match="speaker_prior"):
        LongformConfig(**setting)
