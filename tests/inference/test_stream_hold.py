"""Held frames are labelled again by voice with the centroids a stream has later."""

import numpy as np
import torch

from diarize.inference.longform import LongformConfig
from diarize.inference.stream_hold import relabel_held


class Voices:
    """Stands in for CAM++: a frame's voice is its own row of the ring."""

    @staticmethod
    def embed_sliding(ring: torch.Tensor, width: int) -> torch.Tensor:
        return ring


def _held(frames_a: int, frames_b: int) -> tuple[np.ndarray, torch.Tensor]:
    """Rows all given to speaker 0 at level 0.9, though the last ``frames_b`` voices are B."""
    a, b = np.eye(4)[0], np.eye(4)[1]
    voices = np.stack([a] * frames_a + [b] * frames_b)
    ring = torch.from_numpy(np.concatenate([np.stack([a] * 10), voices])).float()
    rows = np.zeros((len(voices), 3), np.float32)
    rows[:, 0] = 0.9
    return rows, ring


def test_a_voice_taken_for_another_gets_its_frames_back():
    rows, ring = _held(20, 30)
    rows[25, 2] = 0.9  # a second speaker (overlap) stays
    config = LongformConfig(change_penalty=0.5, speech_threshold=0.4)
    centroids = [np.eye(4)[0] * 5.0, np.eye(4)[1] * 2.0]  # A, and B found later
    out = relabel_held(rows, ring, Voices(), centroids, config, previous=0)
    assert (out[:20, 0] == 0.9).all() and (out[:20, 1] == 0).all()
    assert (out[20:, 1] == 0.9).all() and (out[20:, 0] == 0).all()
    assert out[25, 2] == 0.9
    # silence stays silence
    rows[5] = 0.0
    assert (relabel_held(rows, ring, Voices(), centroids, config, 0)[5] == 0).all()


def test_rows_the_ring_does_not_reach_stay_as_they_are():
    rows, ring = _held(20, 30)
    centroids = [np.eye(4)[0], np.eye(4)[1]]
    out = relabel_held(rows, ring[-40:], Voices(), centroids, LongformConfig(), previous=None)
    np.testing.assert_array_equal(out, rows)
