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
    from diarize.inference.overlap import stream_second_speakers

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


def _two_windows_hear(pair_from: int, pair_to: int) -> np.ndarray:
    """Two 10-s segmentation windows cover every frame (window 0: frames 0-124 plus all, window
    7: every frame); local speaker 0 alone, except two local speakers at once in
    ``[pair_from, pair_to)``, whose second is local speaker 1 in window 0 and 2 in window 7."""
    track = np.full((FRAMES, 3, 3), -1, dtype=np.int32)
    track[:, 0, 0], track[:, 1, 0] = 0, 7
    track[:, :2, 1] = 0
    inside = slice(pair_from, pair_to)
    track[inside, :2, 1] = -1
    track[inside, 0, 2] = 0  # pair (0, 1)
    track[inside, 1, 2] = 1  # pair (0, 2)
    return track


def test_a_voice_heard_only_over_another_becomes_a_speaker():
    """Clustering found one voice (label 0) everywhere; segmentation-3.0's two windows both
    hear a second voice over it on frames 100-160: that voice gets a new label there."""
    from diarize.inference.overlap import overlap_voices

    labels = np.zeros(FRAMES, dtype=np.int64)
    overlapped = np.zeros(FRAMES, dtype=bool)
    overlapped[100:160] = True
    voices = overlap_voices(labels, overlapped, _two_windows_hear(100, 160), least=12)
    assert np.flatnonzero(voices >= 0).tolist() == list(range(100, 160))
    assert set(voices[100:160].tolist()) == {1}  # one voice across the two windows
    # heard on fewer frames than asked: nobody
    assert (overlap_voices(labels, overlapped, _two_windows_hear(100, 160), 61) < 0).all()
    # one window alone hearing the pair is not enough
    one_window = _two_windows_hear(100, 160)
    one_window[:, 1] = -1
    assert (overlap_voices(labels, overlapped, one_window, 12) < 0).all()


def test_a_voice_someone_already_names_is_no_new_speaker():
    """The second local speaker talks alone before the overlap, as our label 1: it is named,
    so the overlap brings no new voice (the nearest-other rule gives those frames)."""
    from diarize.inference.overlap import overlap_voices

    labels = np.zeros(FRAMES, dtype=np.int64)
    labels[50:90] = 1
    track = _two_windows_hear(100, 160)
    track[50:90, 0, 1] = 1  # window 0's local speaker 1 alone: our speaker 1
    track[50:90, 1, 1] = 2  # window 7's local speaker 2 alone: our speaker 1
    overlapped = np.zeros(FRAMES, dtype=bool)
    overlapped[100:160] = True
    assert (overlap_voices(labels, overlapped, track, least=12) < 0).all()


def test_second_speakers_fill_new_columns_for_voices_heard_only_in_overlap():
    """add_second_speakers: the nearest other speaker first; where there is none, a voice
    heard only in overlap, in a column of its own; off with ``overlap_voice_seconds`` 0."""
    from diarize.inference.overlap import add_second_speakers

    labels = np.zeros(FRAMES, dtype=np.int64)
    speech = np.full(FRAMES, 0.9, np.float32)
    overlap = np.zeros(FRAMES, np.float32)
    overlap[100:160] = 0.9
    track = _two_windows_hear(100, 160)
    output = np.zeros((FRAMES, 1), np.float32)
    output[:, 0] = speech
    config = LongformConfig(overlap_voice_seconds=1.0)
    grown = add_second_speakers(output.copy(), labels, speech, overlap, config, track)
    assert grown.shape == (FRAMES, 2)
    assert np.flatnonzero(grown[:, 1]).tolist() == list(range(100, 160))
    # a speaker-count hint that the found speakers fill leaves no room for it
    full = add_second_speakers(output.copy(), labels, speech, overlap, config, track, room=0)
    assert full.shape == (FRAMES, 1)
    off = replace(config, overlap_voice_seconds=0.0)
    assert add_second_speakers(output.copy(), labels, speech, overlap, off, track).shape == (
        FRAMES,
        1,
    )


def test_a_voice_heard_only_in_overlap_needs_its_share_of_a_long_files_speech():
    """As a cluster does: 4.8 s heard only in overlap is a speaker in 4 minutes of speech
    where ``min_cluster_share`` asks for 1% (2.4 s), not where it asks for 5% (12 s)."""
    from diarize.inference.overlap import add_second_speakers

    frames = 3000
    labels = np.zeros(frames, dtype=np.int64)
    speech = np.full(frames, 0.9, np.float32)
    overlap = np.zeros(frames, np.float32)
    overlap[100:160] = 0.9
    track = np.full((frames, 3, 3), -1, dtype=np.int32)
    track[:, 0, 0], track[:, 1, 0] = 0, 7
    track[:, :2, 1] = 0
    track[100:160, :2, 1] = -1
    track[100:160, 0, 2], track[100:160, 1, 2] = 0, 1
    output = speech[:, None].copy()

    def columns(share: float) -> int:
        config = LongformConfig(overlap_voice_seconds=1.0, min_cluster_share=share)
        return add_second_speakers(output.copy(), labels, speech, overlap, config, track).shape[1]

    assert columns(0.01) == 2
    assert columns(0.05) == 1


def _named_elsewhere() -> tuple[np.ndarray, np.ndarray]:
    """Our speaker 1 talks alone on frames 10-40, heard there as window 0's local speaker 1 and
    window 7's local speaker 2; both windows hear a pair with those local speakers on frames
    100-160, where our labels say speaker 0 (nobody else within 2 s)."""
    labels = np.zeros(FRAMES, dtype=np.int64)
    labels[10:40] = 1
    track = _two_windows_hear(100, 160)
    track[10:40, 0, 1] = 1
    track[10:40, 1, 1] = 2
    return labels, track


def test_a_lone_overlap_gets_the_speaker_its_local_pair_names():
    from diarize.inference.overlap import MIN_NAMED_FRAMES, named_pair_speakers

    labels, track = _named_elsewhere()
    todo = np.zeros(FRAMES, dtype=bool)
    todo[100:160] = True
    named = named_pair_speakers(labels, todo, track)
    assert np.flatnonzero(named >= 0).tolist() == list(range(100, 160))
    assert set(named[100:160].tolist()) == {1}
    # a local speaker with too few solo frames has no name: nobody
    labels[10 + MIN_NAMED_FRAMES - 1 : 40] = 0
    track[10 + MIN_NAMED_FRAMES - 1 : 40, :2, 1] = 0
    assert (named_pair_speakers(labels, todo, track) < 0).all()


def _one_speaker_a_frame_overlaps(labels: np.ndarray, sure: float, columns: int):
    """Speech 0.9 on every frame, labelled ``labels`` in an output of ``columns`` speakers;
    overlap probability ``sure`` on frames 100-130 and 0.6 on frames 130-160."""
    speech = np.full(FRAMES, 0.9, np.float32)
    overlap = np.zeros(FRAMES, np.float32)
    overlap[100:130], overlap[130:160] = sure, 0.6
    output = np.zeros((FRAMES, columns), np.float32)
    output[np.arange(FRAMES), labels] = speech
    return speech, overlap, output


def test_a_pair_name_is_given_only_where_the_overlap_is_sure():
    """add_second_speakers with ``overlap_name_threshold`` 0.9: frames 100-130 (overlap 0.95)
    get the named speaker, frames 130-160 (0.6, overlapped at 0.5 but not sure) get nobody;
    None: nobody anywhere."""
    from diarize.inference.overlap import add_second_speakers

    labels, track = _named_elsewhere()
    speech, overlap, output = _one_speaker_a_frame_overlaps(labels, 0.95, columns=2)
    config = LongformConfig(overlap_name_threshold=0.9)
    result = add_second_speakers(output.copy(), labels, speech, overlap, config, track)
    both = np.flatnonzero((result > 0).sum(axis=1) == 2)
    assert both.tolist() == list(range(100, 130))
    off = replace(config, overlap_name_threshold=None)
    result = add_second_speakers(output.copy(), labels, speech, overlap, off, track)
    assert ((result > 0).sum(axis=1) <= 1).all()


def test_on_a_file_of_two_speakers_a_fairly_sure_overlap_gets_the_other_one():
    """``two_speaker_overlap_threshold`` 0.8: with nobody else within 2 s and no local speakers,
    frames 100-130 (overlap 0.85) get the file's other speaker, frames 130-160 (0.6) nobody;
    with a third speaker in the file, nobody either (the pair is not known)."""
    from diarize.inference.overlap import add_second_speakers

    labels = np.zeros(FRAMES, dtype=np.int64)
    labels[:20] = 1  # the other speaker, far from the overlap
    speech, overlap, output = _one_speaker_a_frame_overlaps(labels, 0.85, columns=3)
    config = LongformConfig(two_speaker_overlap_threshold=0.8)
    result = add_second_speakers(output.copy(), labels, speech, overlap, config)
    assert np.flatnonzero((result > 0).sum(axis=1) == 2).tolist() == list(range(100, 130))
    assert (result[100:130, 1] > 0).all()
    off = replace(config, two_speaker_overlap_threshold=None)
    assert ((add_second_speakers(output.copy(), labels, speech, overlap, off) > 0).sum(1) < 2).all()
    labels[:10] = 2  # three speakers: who else talks is not known
    output[:10, 1], output[:10, 2] = 0.0, speech[:10]
    result = add_second_speakers(output.copy(), labels, speech, overlap, config)
    assert ((result > 0).sum(axis=1) < 2).all()


def test_a_stream_of_two_speakers_gives_a_fairly_sure_overlap_the_other_one():
    from diarize.inference.overlap import stream_second_speakers

    config = LongformConfig(two_speaker_overlap_threshold=0.8)
    before = np.zeros(30, dtype=np.int64)  # nobody else within 2 s
    path = np.array([0, 0, 1, 1])
    level = np.full(4, 0.9, np.float32)
    overlap = np.array([0.85, 0.6, 0.85, 0.1], np.float32)
    second = stream_second_speakers(before, path, level, overlap, config, speakers=2)
    # the nearest other speaker comes first (frames 0-2 hear one within the step)
    assert second.tolist() == [1, 1, 0, -1]
    before[:] = 0
    path[:] = 0
    three = stream_second_speakers(before, path, level, overlap, config, speakers=3)
    assert (three == -1).all()
    assert stream_second_speakers(before, path, level, overlap, config, speakers=2).tolist() == [
        1, -1, 1, -1,
    ]  # fmt: skip
