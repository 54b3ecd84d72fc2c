import numpy as np

from diarize.inference.linking import (
    OnlineLinker,
    agreement,
    cluster_chunk_speakers,
    cosine_matrix,
    solo_weights,
)


def test_solo_weights_favour_clean_single_speaker_frames():
    probs = np.array([[0.9, 0.1], [0.9, 0.9], [0.0, 0.0]])
    weights = solo_weights(probs)
    np.testing.assert_allclose(weights[0], [0.81, 0.01], atol=1e-6)
    np.testing.assert_allclose(weights[1], [0.09, 0.09], atol=1e-6)
    assert not weights[2].any()


def test_agreement_is_one_for_the_same_speech_and_zero_for_disjoint():
    a = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    score = agreement(a, a[:, ::-1])
    np.testing.assert_allclose(score, [[0, 1], [1, 0]])
    assert agreement(np.zeros((0, 2)), np.zeros((0, 3))).shape == (2, 3)


def _unit(*values):
    return np.array(values, dtype=float)


def test_clustering_links_by_embedding_and_respects_cannot_link():
    x, y, z = _unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)
    # chunk 0: x, y; chunk 1: y, z; chunk 2: x (x is back after an absence)
    embeddings = np.stack([x, y, y, z, x])
    chunks = np.array([0, 0, 1, 1, 2])
    labels = cluster_chunk_speakers(embeddings, np.ones(5), chunks, [], threshold=0.5)
    assert labels.tolist() == [0, 1, 1, 2, 0]
    # one voice split into two columns of one chunk is never merged there
    same = cluster_chunk_speakers(np.stack([x, x]), np.ones(2), np.array([0, 0]), [], 0.5)
    assert same.tolist() == [0, 1]


def test_clustering_hints_and_must_links():
    x, y, z = _unit(1, 0, 0), _unit(0.8, 0.6, 0), _unit(0, 0, 1)
    embeddings = np.stack([x, y, z])
    chunks = np.array([0, 1, 2])
    assert cluster_chunk_speakers(embeddings, np.ones(3), chunks, [], 0.9).tolist() == [0, 1, 2]
    assert cluster_chunk_speakers(
        embeddings, np.ones(3), chunks, [], 0.9, max_speakers=2
    ).tolist() == [0, 0, 1]
    assert cluster_chunk_speakers(
        embeddings, np.ones(3), chunks, [], 0.5, min_speakers=3
    ).tolist() == [0, 1, 2]
    # continuity joins what the embeddings alone would not, a missing embedding included
    embeddings[2] = np.nan
    linked = cluster_chunk_speakers(embeddings, np.ones(3), chunks, [(0, 2)], 0.9)
    assert linked.tolist() == [0, 1, 0]
    # alone and unrecognisable (a short false alarm): dropped
    assert cluster_chunk_speakers(embeddings, np.ones(3), chunks, [], 0.9).tolist() == [0, 1, -1]


def test_online_linker_continuity_then_centroids_then_new_speakers():
    linker = OnlineLinker(threshold=0.5)
    x, y = _unit(1, 0), _unit(0, 1)
    first = linker.link(None, [x, None], np.array([True, True]))
    assert first.tolist() == [0, -1]  # no embedding yet: not labelled, not invented
    linker.update(first, [x, None], np.array([1.0, 0.0]))
    # columns swapped: continuity says column 1 continues speaker 0; column 0 is new
    mapping = linker.link(np.array([[0.0], [0.9]]), [y, x], np.array([True, True]))
    assert mapping.tolist() == [1, 0]
    linker.update(mapping, [y, x], np.ones(2))
    # later, no continuity: recognised by their centroids
    again = linker.link(None, [x, y], np.array([True, True]))
    assert again.tolist() == [0, 1]
    capped = OnlineLinker(threshold=0.5, max_speakers=1)
    capped.link(None, [x], np.array([True]))
    assert capped.link(None, [y], np.array([True])).tolist() == [0]


def test_cosine_matrix_zero_rows():
    assert cosine_matrix(np.zeros((1, 2)), np.ones((1, 2)))[0, 0] == 0


def test_stream_linker_links_columns_by_link_threshold():
    from diarize.inference.longform import LongformConfig

    linker = OnlineLinker.for_stream(LongformConfig(link_threshold=0.6), 3)
    assert (linker.threshold, linker.max_speakers) == (0.6, 3)
