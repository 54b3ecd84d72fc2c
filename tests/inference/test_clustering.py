"""Clustering speech windows into speakers (diarize.inference.clustering)."""

import numpy as np
import pytest

from diarize.inference.clustering import cluster_windows, label_frames, window_spans


def test_window_spans_cover_each_long_run_to_its_end_and_skip_short_ones():
    mask = np.zeros(100, dtype=bool)
    mask[2:5] = True  # 3 frames: shorter than least
    mask[10:20] = True  # 10 frames: one window
    mask[30:70] = True  # 40 frames: windows of 25, hop 8, the last ending at 70
    assert window_spans(mask, width=25, hop=8, least=6) == [(10, 20), (30, 55), (38, 63), (45, 70)]
    assert window_spans(np.zeros(5, dtype=bool), 25, 8, 6) == []


def _speakers(counts, dim=16, noise=0.15, seed=0):
    """Embeddings of windows of well-separated voices, in the given order of speakers."""
    rng = np.random.default_rng(seed)
    voices = np.linalg.qr(rng.standard_normal((dim, dim)))[0][: len(counts)]
    rows, truth = [], []
    for speaker, count in enumerate(counts):
        rows.append(voices[speaker] + noise * rng.standard_normal((count, dim)))
        truth += [speaker] * count
    return np.concatenate(rows), np.array(truth)


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_clusters_are_the_voices_numbered_by_first_appearance():
    x, truth = _speakers([20, 15, 30])
    order = np.random.default_rng(1).permutation(len(x))
    labels = cluster_windows(x[order], threshold=0.5)
    assert _same_partition(labels, truth[order])
    assert labels[0] == 0 and set(labels.tolist()) == {0, 1, 2}
    first = [int(np.flatnonzero(labels == s)[0]) for s in range(3)]
    assert first == sorted(first)


def test_count_hints_override_the_threshold():
    x, truth = _speakers([20, 20, 20, 20])
    assert len(set(cluster_windows(x, 0.5).tolist())) == 4
    assert len(set(cluster_windows(x, 0.5, max_speakers=3).tolist())) == 3
    assert len(set(cluster_windows(x, 0.5, num_speakers=2).tolist())) == 2
    # a threshold that merges everything, and a floor that keeps them apart
    assert len(set(cluster_windows(x, -1.0).tolist())) == 1
    assert _same_partition(cluster_windows(x, -1.0, min_speakers=4), truth)


def test_a_cluster_smaller_than_min_size_joins_the_nearest_speaker():
    x, _ = _speakers([30, 30, 2])
    assert len(set(cluster_windows(x, 0.5, min_size=3).tolist())) == 2
    assert len(set(cluster_windows(x, 0.5, min_size=1).tolist())) == 3


def test_a_small_share_joins_a_speaker_but_never_a_voice_with_20_seconds_of_speech():
    from diarize.inference.clustering import MAX_MIN_SIZE

    x, _ = _speakers([500, 500, 20, MAX_MIN_SIZE + 10], noise=0.1)
    # a 5% share is 51 windows, capped at MAX_MIN_SIZE: the 20-window voice joins, the other stays
    assert len(set(cluster_windows(x, 0.5, min_share=0.05).tolist())) == 3
    assert len(set(cluster_windows(x, 0.5).tolist())) == 4


def test_many_windows_are_clustered_on_a_subset_with_the_same_result():
    x, truth = _speakers([700, 500, 800], noise=0.1)
    labels = cluster_windows(x, 0.5, max_windows=300)
    assert _same_partition(labels, truth)


@pytest.mark.parametrize("count", [0, 1])
def test_no_or_one_window(count):
    x, _ = _speakers([count]) if count else (np.zeros((0, 16)), None)
    assert cluster_windows(x, 0.5).tolist() == [0] * count


def test_every_frame_takes_the_nearest_window_centre():
    spans = [(0, 10), (20, 30)]  # centres 4.5 and 24.5
    labels = label_frames(spans, np.array([3, 7]), 40)
    assert labels[:15].tolist() == [3] * 15 and labels[15:].tolist() == [7] * 25
    assert label_frames([], np.zeros(0), 5).tolist() == [-1] * 5
