"""Which stretches of a chunk are clustered: the network's solo speech, or segmentation-3.0's
one-speaker frames when the network's columns leave too few."""

from dataclasses import replace

import numpy as np

from diarize.inference.longform import LongformConfig
from diarize.inference.voices import _local_change, solo_windows

FRAMES = 250  # 20 s of 80 ms frames


def _heard(change_at: int) -> np.ndarray:
    """One segmentation window over all frames: local speaker 0, then 1 from ``change_at``."""
    heard = np.full((FRAMES, 2, 2), -1, dtype=np.int32)
    heard[:, 0, 0] = 0
    heard[:, 0, 1] = np.where(np.arange(FRAMES) < change_at, 0, 1)
    return heard


def test_local_change_marks_a_new_local_speaker_not_a_new_window():
    heard = _heard(100)
    heard[150:, 1] = (1, 0)  # a second window starts covering the frames: not a change
    assert np.flatnonzero(_local_change(heard)).tolist() == [100]


def _two_columns_everywhere() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    probs = np.full((FRAMES, 4), 0.05, dtype=np.float32)
    probs[:, :2] = 0.9  # the network hears two people all the time
    probs[:100, 0] = 0.95  # its strongest column follows the voices
    probs[100:, 1] = 0.95
    return probs, np.full(FRAMES, 0.9, np.float32), np.zeros(FRAMES, np.float32)


def test_network_solo_speech_alone_finds_nothing_here():
    probs, level, overlap = _two_columns_everywhere()
    config = LongformConfig(solo_fallback=0.0)
    assert solo_windows(probs, level, overlap, _heard(100), config, (0, FRAMES)) == []


def test_fallback_takes_segmentation_one_speaker_frames_cut_at_its_change():
    probs, level, overlap = _two_columns_everywhere()
    overlap[200:] = 0.8  # two people at once: no windows there
    config = LongformConfig(solo_fallback=0.5)
    spans = solo_windows(probs, level, overlap, _heard(100), config, (0, FRAMES))
    assert spans, "the fallback found no windows"
    for start, stop in spans:
        assert stop - start <= round(config.window_seconds / 0.08)
        assert stop <= 100 or start >= 100  # never across the change of local speaker
        assert stop <= 200  # never in the overlap
    assert {start < 100 for start, _ in spans} == {True, False}  # both voices have windows


def test_fallback_leaves_a_chunk_the_network_separates():
    probs = np.full((FRAMES, 4), 0.05, dtype=np.float32)
    probs[:100, 0] = 0.9
    probs[100:, 1] = 0.9
    level, overlap = np.full(FRAMES, 0.9, np.float32), np.zeros(FRAMES, np.float32)
    config = LongformConfig(solo_fallback=0.5)
    with_fallback = solo_windows(probs, level, overlap, _heard(100), config, (0, FRAMES))
    plain = solo_windows(
        probs, level, overlap, _heard(100), replace(config, solo_fallback=0.0), (0, FRAMES)
    )
    assert with_fallback == plain and plain


def test_a_streams_overlapped_frame_also_gets_the_speaker_just_before():
    """Streaming, as offline: an overlapped frame gets the nearest other speaker, found among
    the final frames before the step when the step itself holds nobody else."""
    from diarize.inference.voices import stream_second_speakers

    config = LongformConfig()
    before = np.array([2, 2, 2, 0, 0])
    path = np.zeros(6, dtype=np.int64)
    level = np.full(6, 0.9, np.float32)
    overlap = np.array([0.9, 0.9, 0.1, 0.1, 0.9, 0.9], np.float32)
    level[5] = 0.1  # not speech: no second speaker either
    assert stream_second_speakers(before, path, level, overlap, config).tolist() == [
        2, 2, -1, -1, 2, -1,
    ]  # fmt: skip
    path[3:] = 1  # someone else within the step is nearer
    # frame 0: 2 (three back) and 1 (three on) tie, the earlier wins; frame 1: 1 is nearer
    assert stream_second_speakers(before, path, level, overlap, config)[:2].tolist() == [2, 1]
    assert stream_second_speakers(before, path, level, overlap, config)[4] == 0
    assert (stream_second_speakers(before, path, level, overlap * 0, config) == -1).all()
