import numpy as np

from diarize.inference.longform import LongformConfig
from diarize.inference.window_linker import (
    CENTRING_SECONDS,
    EXPIRE_WINDOWS,
    WindowLinker,
    centred,
)


def _voice(k, dims=6, channel=0.0):
    v = np.zeros(dims)
    v[0] = channel  # a part every voice of the recording shares
    v[k] = 1.0
    return v


def _add(linker, *vectors):
    linker.add(np.stack(vectors), np.full(len(vectors), 2.0))


def test_first_window_is_the_first_speaker_and_alike_windows_join_it():
    linker = WindowLinker(threshold=0.5)
    _add(linker, _voice(1))
    assert linker.num_speakers == 1
    _add(linker, _voice(1) + 0.1 * _voice(2))
    assert linker.num_speakers == 1
    second = _voice(1) + 0.1 * _voice(2)
    # the centroid: every window's unit embedding weighted by its seconds
    assert np.allclose(linker.centroids[0], 2.0 * _voice(1) + 2.0 * second / np.linalg.norm(second))


def test_one_odd_window_makes_no_speaker_two_alike_do():
    linker = WindowLinker(threshold=0.5)
    _add(linker, _voice(1), _voice(2))  # a cough, a mixture: set aside
    assert linker.num_speakers == 1
    _add(linker, _voice(3))  # unlike both the speaker and the window set aside
    assert linker.num_speakers == 1
    _add(linker, _voice(2) + 0.2 * _voice(4))  # like the first window set aside: a new voice
    assert linker.num_speakers == 2
    new = linker.centroids[1] / np.linalg.norm(linker.centroids[1])
    assert new @ _voice(2) > 0.95  # made of both windows
    _add(linker, _voice(2))
    assert linker.num_speakers == 2  # and joined from now on


def test_a_window_set_aside_expires():
    linker = WindowLinker(threshold=0.5)
    _add(linker, _voice(1), _voice(2))
    _add(linker, *[_voice(1)] * EXPIRE_WINDOWS)
    _add(linker, _voice(2))
    assert linker.num_speakers == 1  # the first odd window was too long ago


def test_centred_space_tells_apart_voices_that_share_a_channel():
    # voices 0.8 alike raw (a large shared part: one recording's room and codec); the first
    # talks for CENTRING_SECONDS, so that the whole share of the mean is taken off after it
    a, b, c = (_voice(k, channel=2.0) for k in (1, 2, 3))
    first = [a] * int(np.ceil(CENTRING_SECONDS / 2.0))
    for centering, speakers in ((0.0, 1), (1.0, 3)):
        linker = WindowLinker(threshold=0.5, centering=centering)
        _add(linker, *first, b, b, c, c)
        assert linker.num_speakers == speakers


def test_a_voice_is_not_centred_against_itself_while_it_is_the_only_one_heard():
    # two windows of one voice, 0.61 alike raw (short windows of real speech are noisy): with
    # the whole share of the mean taken off from the first window on, the mean is that voice
    # itself and the second window is set aside (0.14 alike); the share grows with the speech
    # linked (CENTRING_SECONDS), so it joins
    first, second = _voice(1) + 0.8 * _voice(3), _voice(1) + 0.8 * _voice(4)
    assert 2.0 < CENTRING_SECONDS
    linker = WindowLinker(threshold=0.15, centering=0.5)
    _add(linker, first, second)
    assert linker.num_speakers == 1 and not linker._aside
    _add(linker, _voice(2) + 0.8 * _voice(5))  # another voice (0 alike raw) is still set aside
    assert linker.num_speakers == 1 and len(linker._aside) == 1


def test_max_speakers_caps_the_speakers():
    linker = WindowLinker(threshold=0.5, max_speakers=1)
    _add(linker, _voice(1), _voice(2), _voice(2))
    assert linker.num_speakers == 1


def test_stream_settings():
    config = LongformConfig(stream_centering=0.5, stream_link_threshold=0.15)
    linker = WindowLinker.for_stream(config, 3)
    assert (linker.threshold, linker.centering, linker.max_speakers) == (0.15, 0.5, 3)
    assert (
        WindowLinker.for_stream(LongformConfig(), None).threshold
        == LongformConfig().cluster_threshold
    )


def test_centred_takes_off_a_share_of_the_mean():
    sums = np.array([[4.0, 0.0], [0.0, 2.0]])  # 3 s of speech in all
    x = centred(np.array([[3.0, 0.0]]), sums, 3.0, 0.5)
    assert np.allclose(x, [[1.0 - 0.5 * 4 / 3, -0.5 * 2 / 3]])
    assert np.allclose(centred(np.array([[3.0, 0.0]]), sums, 0.0, 0.5), [[1.0, 0.0]])
