"""Clustering speech windows into speakers, and every frame's speaker
(diarize.inference.clustering, diarize.inference.frame_labels)."""

import numpy as np
import pytest

from diarize.inference.clustering import cluster_windows, unit_rows, window_spans
from diarize.inference.frame_labels import label_frames, resegment, viterbi
from diarize.inference.overlap import second_speakers


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


def _room(counts, shared=0.7, dim=16, noise=0.15, seed=0):
    """Windows of voices that share one component (a room, a microphone): every voice is
    ``shared`` along a common direction plus its own orthogonal direction."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    rows, truth = [], []
    for speaker, count in enumerate(counts):
        voice = shared * basis[-1] + np.sqrt(1 - shared**2) * basis[speaker]
        rows.append(voice + noise * rng.standard_normal((count, dim)))
        truth += [speaker] * count
    return np.concatenate(rows), np.array(truth)


def _mostly_same_partition(labels, truth, least=0.95):
    """One label per voice (its most common), distinct between voices, on >= ``least`` of
    the windows: noisy windows of a voice may stray."""
    majority = [np.bincount(labels[truth == v]).argmax() for v in np.unique(truth)]
    agree = np.mean(labels == np.array(majority)[truth])
    return len(set(majority)) == len(majority) == len(set(labels.tolist())) and agree >= least


CENTERED = {"min_size": 3, "min_share": 0.02, "centering": 0.5, "centered_threshold": 0.25}


def test_centering_separates_voices_that_their_shared_room_pulls_together():
    x, truth = _room([40] * 5)
    assert len(set(cluster_windows(x, 0.4, 3, 0.02).tolist())) == 4  # two voices merged
    assert _mostly_same_partition(cluster_windows(x, 0.4, **CENTERED), truth)


def test_centering_leaves_one_voice_one_speaker_and_two_voices_two():
    one, _ = _room([100])
    assert set(cluster_windows(one, 0.4, **CENTERED).tolist()) == {0}
    two, truth = _room([50, 50])
    assert _mostly_same_partition(cluster_windows(two, 0.4, **CENTERED), truth)


def test_merging_by_centroid_keeps_two_voices_of_one_channel_that_the_raw_pass_merges():
    """Two voices that share most of a channel (average window similarity 0.47, centroids
    0.62): the raw first pass calls them one voice; the centred pass with a merge on raw
    centroids (0.72) keeps them apart, and still leaves one voice one speaker."""
    two, truth = _room([50, 50], shared=0.8)
    assert set(cluster_windows(two, 0.4, **CENTERED).tolist()) == {0}
    merged = {**CENTERED, "merge_threshold": 0.72}
    assert _mostly_same_partition(cluster_windows(two, 0.4, **merged), truth)
    one, _ = _room([100], shared=0.8)
    assert set(cluster_windows(one, 0.4, **merged).tolist()) == {0}
    # centroids more alike than the merge threshold are one voice
    assert set(cluster_windows(two, 0.4, **{**merged, "merge_threshold": 0.6}).tolist()) == {0}
    # ... unless that would go below min_speakers
    floor = {**merged, "merge_threshold": 0.6, "min_speakers": 2}
    assert _mostly_same_partition(cluster_windows(two, 0.4, **floor), truth)
    five, truth = _room([40] * 5)
    assert _mostly_same_partition(cluster_windows(five, 0.4, **merged), truth)
    assert len(set(cluster_windows(five, 0.4, max_speakers=3, **merged).tolist())) == 3


def test_voices_the_segmentation_tells_apart_are_not_merged():
    """Two voices whose centroids are more alike than the merge threshold (a telephone
    channel) stay two when the segmentation network heard their windows as different local
    speakers of the 10-s windows they share; evidence that they are one, or none, merges."""
    two, truth = _room([50, 50], shared=0.8)
    merged = {**CENTERED, "merge_threshold": 0.6}
    assert set(cluster_windows(two, 0.4, **merged).tolist()) == {0}
    # window w of the segmentation covers windows 2w..2w+9 of each voice: A local 0, B local 1
    apart = [[(i % 50 // 10, int(truth[i]))] for i in range(100)]
    labels = cluster_windows(two, 0.4, local=apart, **merged)
    assert _mostly_same_partition(labels, truth)
    same = [[(i % 50 // 10, 0)] for i in range(100)]
    assert set(cluster_windows(two, 0.4, local=same, **merged).tolist()) == {0}
    unshared = [[(i // 10, 0)] for i in range(100)]  # never in one segmentation window
    assert set(cluster_windows(two, 0.4, local=unshared, **merged).tolist()) == {0}


def test_a_small_cluster_the_segmentation_tells_apart_is_kept():
    """A voice of 3 windows (below min_size) joins the nearest large cluster unless the
    segmentation heard it as another local speaker than that cluster's in the windows they
    share; a single window is absorbed all the same."""
    from diarize.inference.clustering import _absorb_small

    x = unit_rows(np.random.default_rng(0).standard_normal((13, 8)))
    labels = np.array([0] * 10 + [1] * 3)
    # segmentation windows 0-2 each cover 3 windows of voice 0 and one of voice 1
    local = [[(i % 3, 0)] for i in range(10)] + [[(i, 1)] for i in range(3)]
    assert set(_absorb_small(x, labels, 5, None).tolist()) == {0}
    assert set(_absorb_small(x, labels, 5, None, local).tolist()) == {0, 1}
    same = [[(i % 3, 0)] for i in range(13)]
    assert set(_absorb_small(x, labels, 5, None, same).tolist()) == {0}
    single = np.array([0] * 12 + [1])  # told apart in all 3 windows it is heard in, but alone
    told = [[(i % 3, 0)] for i in range(12)] + [[(0, 1), (1, 1), (2, 1)]]
    assert set(_absorb_small(x, single, 5, None, told).tolist()) == {0}


def test_a_small_cluster_unlike_the_one_it_would_join_is_kept():
    """With ``distinct``, a voice of 3 windows (below min_size) stays a speaker when its
    centroid is less similar than that to the cluster it would join; one like that cluster,
    or a single window, still joins."""
    x, _ = _speakers([30, 30, 3])  # orthogonal voices: the small one is about 0 alike
    assert len(set(cluster_windows(x, 0.5, min_size=6).tolist())) == 2
    assert len(set(cluster_windows(x, 0.5, min_size=6, distinct=0.1).tolist())) == 3
    assert len(set(cluster_windows(x, 0.5, min_size=6, distinct=-0.5).tolist())) == 2
    from diarize.inference.clustering import _absorb_small

    near = x.copy()  # the small voice half way to the first: about 0.7 alike, not distinct
    near[60:] = unit_rows(near[60:]) + unit_rows(x[:3])
    labels = np.array([0] * 30 + [1] * 30 + [2] * 3)
    assert set(_absorb_small(unit_rows(x), labels, 6, None, distinct=0.1).tolist()) == {0, 1, 2}
    assert set(_absorb_small(unit_rows(near), labels, 6, None, distinct=0.1).tolist()) == {0, 1}
    single, _ = _speakers([30, 30, 1])
    assert len(set(cluster_windows(single, 0.5, min_size=6, distinct=0.1).tolist())) == 2


def test_a_small_cluster_barred_from_its_nearest_joins_the_next_when_alike_enough():
    """A voice of 3 windows that the segmentation tells apart from its nearest large cluster
    joins the next one when at least ``threshold`` alike to it (the pass's cut), else stays."""
    from diarize.inference.clustering import _absorb_small

    e = np.eye(4)
    small = unit_rows(0.8 * e[:1] + 0.6 * e[1:2])  # 0.8 alike the first voice, 0.6 the second
    x = np.concatenate([np.repeat(e[:1], 10, 0), np.repeat(e[1:2], 10, 0), np.repeat(small, 3, 0)])
    labels = np.array([0] * 10 + [1] * 10 + [2] * 3)
    # segmentation windows 0-2 each hear 3 windows of the first voice and one of the small
    local = [[(i % 3, 0)] for i in range(10)] + [[]] * 10 + [[(i, 1)] for i in range(3)]
    assert len(set(_absorb_small(x, labels, 5, None, local).tolist())) == 3
    joined = _absorb_small(x, labels, 5, None, local, threshold=0.5)
    assert _same_partition(joined, np.array([0] * 10 + [1] * 13))
    assert len(set(_absorb_small(x, labels, 5, None, local, threshold=0.7).tolist())) == 3


def test_small_clusters_that_stay_merge_when_alike_each_other():
    """Two small clusters unlike both large ones stay speakers; with ``threshold`` the two
    merge when their centroids are that alike (one voice heard little, split in two), not
    when the segmentation tells them apart."""
    from diarize.inference.clustering import _absorb_small

    e = np.eye(4)
    a, b = unit_rows(e[2:3] + 0.3 * e[3:4]), unit_rows(e[2:3] - 0.3 * e[3:4])  # 0.83 alike
    x = np.concatenate(
        [np.repeat(e[:1], 10, 0), np.repeat(e[1:2], 10, 0), np.repeat(a, 3, 0), np.repeat(b, 2, 0)]
    )
    labels = np.array([0] * 10 + [1] * 10 + [2] * 3 + [3] * 2)
    assert len(set(_absorb_small(x, labels, 5, None, distinct=0.1).tolist())) == 4
    merged = _absorb_small(x, labels, 5, None, distinct=0.1, threshold=0.25)
    assert _same_partition(merged, np.array([0] * 10 + [1] * 10 + [2] * 5))
    assert len(set(_absorb_small(x, labels, 5, None, distinct=0.1, threshold=0.9).tolist())) == 4
    local = [[]] * 20 + [[(i, 0)] for i in range(3)] + [[(0, 1)], [(1, 1)]]
    apart = _absorb_small(x, labels, 5, None, local, distinct=0.1, threshold=0.25)
    assert len(set(apart.tolist())) == 4
    # never below min_speakers
    assert len(set(_absorb_small(x, labels, 5, 4, distinct=0.1, threshold=0.25).tolist())) == 4


def test_told_apart_is_a_majority_of_shared_windows():
    from diarize.inference.clustering import _told_apart

    labels = np.array([0, 0, 1, 1, 2, 2])
    local = [
        [(0, 0), (1, 0), (3, 0)],
        [(2, 1), (4, 1)],
        [(0, 1), (1, 1), (3, 0)],
        [(2, 0), (4, 0)],
        [(5, 2), (0, 1)],
        [(6, 0)],
    ]
    apart = _told_apart(labels, local)
    # clusters 0 and 1 share windows 0-4 and differ in four of them (0, 1, 2, 4)
    assert apart[0, 1] and apart[1, 0]
    # 0 and 2 share window 0 only, where they differ: one window is not enough
    assert not apart[0, 2] and not apart[1, 2] and not apart.diagonal().any()
    # differing in three of five shared windows is not enough either
    local[1] = [(2, 0), (4, 1)]
    assert not _told_apart(labels, local)[0, 1]


def test_count_hints_apply_to_the_centered_pass():
    x, truth = _room([40] * 5)
    assert _mostly_same_partition(cluster_windows(x, 0.4, num_speakers=5, **CENTERED), truth)
    assert len(set(cluster_windows(x, 0.4, max_speakers=3, **CENTERED).tolist())) == 3
    assert set(cluster_windows(x, 0.4, max_speakers=1, **CENTERED).tolist()) == {0}
    # a floor of two answers the raw pass's "more than one voice?" with yes
    assert _mostly_same_partition(cluster_windows(x, 0.9, min_speakers=2, **CENTERED), truth)


def test_a_file_of_few_windows_keeps_voices_below_min_size():
    """22 windows, one voice of 7 and three of 5: with min_size 6 alone, all would join the
    only voice that reaches it; a fifth of the file's windows (4) is enough here."""
    x, truth = _speakers([7, 5, 5, 5])
    assert _same_partition(cluster_windows(x, 0.5, min_size=6), truth)
    # a longer file: 6 windows are needed, and a voice of 5 joins the nearest speaker
    x, _ = _speakers([30, 30, 5])
    assert len(set(cluster_windows(x, 0.5, min_size=6).tolist())) == 2


def _turns(voices, lengths, noise, seed=1):
    """Frame embeddings of turns: ``lengths[i]`` frames of voice ``voices[i]`` each."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((16, 16)))[0]
    frames = np.concatenate(
        [
            basis[v] + noise * rng.standard_normal((n, 16))
            for v, n in zip(voices, lengths, strict=True)
        ]
    )
    truth = np.repeat(voices, lengths)
    windows = basis[[0, 0, 1, 1, 2, 2]] + 0.1 * rng.standard_normal((6, 16))
    return frames, truth, windows, np.array([0, 0, 1, 1, 2, 2])


def test_resegmenting_puts_each_change_of_speaker_at_its_frame():
    """Noisy frames (some are nearer another voice alone) of turns 0, 1, 0, 2: the path
    changes exactly where the voices do, and nowhere else."""
    frames, truth, windows, labels = _turns([0, 1, 0, 2], [50, 23, 37, 40], noise=0.45)
    speech = np.ones(len(frames), dtype=bool)
    centroids = unit_rows(unit_rows(windows).reshape(3, 2, 16).sum(1))
    alone = np.argmax(unit_rows(frames) @ centroids.T, axis=1)
    assert (alone != truth).any()  # the frames alone do stray
    path = resegment(frames, windows, labels, speech, penalty=1.0)
    assert path.tolist() == truth.tolist()
    # no penalty: every frame on its own, strays included
    assert resegment(frames, windows, labels, speech, penalty=0.0).tolist() == alone.tolist()


def test_resegmenting_carries_a_speaker_over_silence_and_keeps_one_speaker_one():
    frames, truth, windows, labels = _turns([1, 1, 2], [30, 30, 30], noise=0.3)
    frames[30:60] = np.random.default_rng(2).standard_normal((30, 16))  # not speech
    speech = np.ones(90, dtype=bool)
    speech[30:60] = False
    path = resegment(frames, windows, labels, speech, penalty=1.0)
    assert set(path[:30].tolist()) == {1} and set(path[60:].tolist()) == {2}
    assert np.flatnonzero(np.diff(path)).size == 1  # one change, somewhere in the silence
    one = resegment(frames, windows, np.zeros(6, dtype=int), speech, penalty=1.0)
    assert one.tolist() == [0] * 90


def test_resegmenting_compares_in_the_space_the_windows_were_clustered_in():
    """With ``centering``, frames and windows lose the same share of the windows' mean."""
    rng = np.random.default_rng(3)
    windows, labels = rng.standard_normal((30, 16)) + 2.0, np.arange(30) % 3
    frames, speech = rng.standard_normal((200, 16)) + 2.0, np.ones(200, dtype=bool)
    centred = resegment(frames, windows, labels, speech, 0.0, centering=0.5)
    mean = unit_rows(windows).mean(axis=0)
    by_hand = resegment(
        unit_rows(frames) - 0.5 * mean, unit_rows(windows) - 0.5 * mean, labels, speech, 0.0
    )
    assert centred.tolist() == by_hand.tolist()
    assert centred.tolist() != resegment(frames, windows, labels, speech, 0.0).tolist()


def test_viterbi_counts_leaving_the_previous_label_as_a_change():
    scores = np.array([[0.0, 0.3], [0.0, 0.3]])  # label 1 gains 0.6 over two frames
    assert viterbi(scores, 0.7).tolist() == [1, 1]
    assert viterbi(scores, 0.7, previous=0).tolist() == [0, 0]  # leaving 0 costs 0.7
    assert viterbi(scores, 0.5, previous=0).tolist() == [1, 1]  # ... or only 0.5


def test_an_overlapped_frame_gets_the_nearest_other_speaker_as_its_second():
    labels = np.array([0, 0, 0, 1, 1, 1, -1, -1, 2, 2, 2, 2])
    overlapped = np.zeros(12, dtype=bool)
    overlapped[[2, 3, 9, 11]] = True
    second = second_speakers(labels, overlapped, reach=3)
    # frame 2 (speaker 0) borders speaker 1; frame 3 borders 0; frame 9 of speaker 2 has
    # nobody else within 3 frames (silence is nobody); frame 11 neither
    assert second.tolist() == [-1, -1, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1]
    assert second_speakers(labels, overlapped, reach=6)[9] == 1
    assert (second_speakers(np.zeros(5, int), np.ones(5, bool)) == -1).all()  # one speaker


def test_resegmenting_in_blocks_of_frames_changes_nothing(monkeypatch):
    import diarize.inference.frame_labels as frame_labels

    windows, labels = _speakers([8, 8, 8], noise=0.3)
    rng = np.random.default_rng(3)
    frames = windows[rng.integers(0, len(windows), 500)] + 0.5 * rng.standard_normal((500, 16))
    speech = rng.random(500) > 0.2
    whole = resegment(frames, windows, labels, speech, 0.5, centering=0.5)
    monkeypatch.setattr(frame_labels, "RESEGMENT_BLOCK", 7)
    np.testing.assert_array_equal(resegment(frames, windows, labels, speech, 0.5, 0.5), whole)
    assert len(np.unique(whole)) == 3


def test_resegmenting_again_from_the_labelled_frames_corrects_centroids_made_from_few_windows():
    """Each speaker has two solo windows, recorded unlike most of what it says (a shared bias):
    their centroids mislabel a whole turn; centroids made again from the frames the path gave
    each speaker fix most of it."""
    rng = np.random.default_rng(5)
    basis = unit_rows(rng.standard_normal((3, 16)))
    truth = np.repeat([0, 1, 0, 2, 1, 2], 40)
    frames = basis[truth] + 0.9 * rng.standard_normal((len(truth), 16))
    windows = basis[[0, 0, 1, 1, 2, 2]] + 0.8 * rng.standard_normal(16)
    windows += 0.5 * rng.standard_normal((6, 16))
    labels, speech = np.array([0, 0, 1, 1, 2, 2]), np.ones(len(truth), dtype=bool)
    first = resegment(frames, windows, labels, speech, 0.5)
    again = resegment(frames, windows, labels, speech, 0.5, iterations=1)
    assert (first != truth).sum() >= 40 and (again != truth).sum() <= 20
    # one iteration is a resegmentation whose "windows" are the frames the first path labelled
    by_hand = resegment(frames, frames[speech], first[speech], speech, 0.5)
    assert again.tolist() == by_hand.tolist()


def test_a_speaker_of_few_windows_takes_a_frame_only_where_its_voice_is_clearly_nearest():
    """Speaker 1 holds 2 of 20 windows: with ``prior`` 0.1 its similarity loses
    0.1 * log(0.2 / 0.9) = 0.15 (its 10% share counts as the 20% floor), so frames only 0.1
    nearer its voice go to speaker 0, and frames clearly its own stay its."""
    a, b, rest = np.eye(3)
    windows = np.stack([a] * 18 + [b] * 2)
    labels = np.array([0] * 18 + [1] * 2)
    near = 0.5 * a + 0.6 * b + np.sqrt(1 - 0.61) * rest  # cosine 0.5 with 0, 0.6 with 1
    clear = 0.1 * a + 0.9 * b + np.sqrt(1 - 0.82) * rest
    frames = np.stack([near] * 10 + [clear] * 10)
    speech = np.ones(20, dtype=bool)
    plain = resegment(frames, windows, labels, speech, penalty=0.0)
    assert plain.tolist() == [1] * 20
    held = resegment(frames, windows, labels, speech, penalty=0.0, prior=0.1)
    assert held.tolist() == [0] * 10 + [1] * 10
    # without the floor its share is 10%: 0.1 * log(0.1 / 0.9) = 0.22 still leaves 0.9 - 0.1
    assert (
        resegment(frames, windows, labels, speech, 0.0, prior=0.1, prior_floor=0.01)[10:].tolist()
        == [1] * 10
    )
    # two speakers of equal shares: the prior changes nothing
    even = np.array([0] * 10 + [1] * 10)
    both = np.stack([a] * 10 + [b] * 10)
    assert resegment(frames, both, even, speech, 0.0, prior=1.0).tolist() == plain.tolist()
