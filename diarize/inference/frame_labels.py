"""Every frame's speaker, once the windows are clustered: by the nearest window, or along a
Viterbi path through each frame's similarity to the speakers (offline and streaming)."""

from __future__ import annotations

import numpy as np

from diarize.inference.clustering import label_centroids, unit_rows

__all__ = ["label_frames", "resegment", "viterbi"]

# frames compared with the speakers at a time (5.5 minutes): in float64 all at once they took
# 1.5 kB each, 140 MB an hour
RESEGMENT_BLOCK = 4096


def label_frames(spans: list[tuple[int, int]], labels: np.ndarray, frames: int) -> np.ndarray:
    """Every frame's label: that of the window whose centre is nearest (-1 without windows).

    Shape:
        spans N x (start, stop), labels (N,) -> (frames,)
    """
    if not spans:
        return np.full(frames, -1, dtype=np.int64)
    centres = np.array([(start + stop - 1) / 2.0 for start, stop in spans])
    order = np.argsort(centres, kind="stable")
    centres, labels = centres[order], np.asarray(labels)[order]
    t = np.arange(frames, dtype=np.float64)
    right = np.clip(np.searchsorted(centres, t), 0, len(centres) - 1)
    left = np.clip(right - 1, 0, len(centres) - 1)
    nearest = np.where(np.abs(centres[left] - t) <= np.abs(centres[right] - t), left, right)
    return labels[nearest].astype(np.int64)


def resegment(
    frames: np.ndarray,
    windows: np.ndarray,
    labels: np.ndarray,
    speech: np.ndarray,
    penalty: float,
    centering: float = 0.0,
    iterations: int = 0,
    prior: float = 0.0,
    prior_floor: float = 0.2,
) -> np.ndarray:
    """Every frame's speaker, at the frame: the best path through the frames' similarities to
    the speakers, paying ``penalty`` for each change of speaker.

    Labelling a frame by its nearest clustered window places a change of speaker no closer
    than about half a window (1 s) to where it happens, and wrongly whenever a window spans
    it. Here each frame has an embedding of its own short neighbourhood (about 0.4 s; noisy
    alone), compared by cosine with each speaker's centroid of the clustered windows, in the
    space the windows were clustered in (``centering`` as in :func:`cluster_windows`, taken
    off when there is more than one speaker); a Viterbi path over those similarities, with
    ``penalty`` per change, keeps a speaker through noise and changes where the evidence
    does. Non-speech frames carry no evidence (similarity 0 to every speaker). With
    ``iterations``, each speaker's centroid is then made again from the speech frames the path
    gave it and the path is found again: a speaker's solo windows are only part of what it
    said. One iteration gains on 90-s files and loses on 10-minute ones (dev 9.21% -> 9.12%,
    ``real_dev`` 16.90% -> 16.75%, long-form dev 9.10% -> 9.24%), so the bundled settings
    leave it off (``docs/results_history.md``).

    With ``prior``, a speaker's similarity on every speech frame also gets ``prior`` times
    the log of its share of the clustered windows (floored at ``prior_floor``) over the
    largest speaker's share, as a mixture model weighs its components: a voice heard in a
    few windows is kept, but takes a frame only where its voice is clearly the nearest, and no
    longer the frames of a larger speaker whose short-term embedding drifts. A share below
    ``prior_floor`` counts as that floor, so that a voice heard in one window is held back
    no more than one heard in a fifth of them (at 0.2). Measured (``docs/results_history.md``,
    sixteenth session): every dev set and both long real recordings gain.

    Args:
        frames: one embedding per frame.
        windows, labels: the clustered window embeddings and their labels ``0..S-1``.
        speech: per frame, whether it is speech.
        penalty: cost of a change of speaker, in units of cosine similarity.
        centering: as given to :func:`cluster_windows`.
        iterations: times the centroids are made again from the labelled frames.
        prior, prior_floor: the weight of each speaker's log share of the windows, and the
            share below which a speaker counts no smaller.

    Returns:
        Labels ``0..S-1``, one per frame.

    Shape:
        frames (T, E), windows (N, E), labels (N,), speech (T,) -> (T,)
    """
    labels = np.asarray(labels)
    speakers = int(labels.max()) + 1 if len(labels) else 0
    if speakers <= 1:
        return np.zeros(len(frames), dtype=np.int64)
    windows = unit_rows(np.asarray(windows, dtype=np.float64))
    shift = centering * windows.mean(axis=0, keepdims=True)
    centroids = label_centroids(unit_rows(windows - shift), labels)
    speech = np.asarray(speech, dtype=bool)
    shares = np.maximum(np.bincount(labels, minlength=speakers) / len(labels), prior_floor)
    bias = prior * np.log(shares / shares.max())
    path = viterbi(_frame_scores(frames, shift, centroids, speech, bias), penalty)
    for _ in range(iterations):
        sums = np.zeros_like(centroids)
        for start in range(0, len(frames), RESEGMENT_BLOCK):
            block = _centred_frames(frames[start : start + RESEGMENT_BLOCK], shift)
            keep = speech[start : start + len(block)]
            np.add.at(sums, path[start : start + len(block)][keep], block[keep])
        heard = np.linalg.norm(sums, axis=1) > 0  # a speaker with no frame keeps its centroid
        centroids = np.where(heard[:, None], unit_rows(sums), centroids)
        path = viterbi(_frame_scores(frames, shift, centroids, speech, bias), penalty)
    return path


def _centred_frames(frames: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return unit_rows(unit_rows(np.asarray(frames, dtype=np.float64)) - shift)


def _frame_scores(
    frames: np.ndarray,
    shift: np.ndarray,
    centroids: np.ndarray,
    speech: np.ndarray,
    bias: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Cosine of every frame with every centroid in the centred space, plus each speaker's
    ``bias``; 0 off speech. In blocks of frames, so that a long file's frames are never all in
    float64 at once."""
    scores = np.empty((len(frames), len(centroids)))
    for start in range(0, len(frames), RESEGMENT_BLOCK):
        block = _centred_frames(frames[start : start + RESEGMENT_BLOCK], shift)
        scores[start : start + len(block)] = block @ centroids.T + bias
    scores[~speech] = 0.0
    return scores


def viterbi(scores: np.ndarray, penalty: float, previous: int | None = None) -> np.ndarray:
    """The label path maximising the summed scores minus ``penalty`` per change.

    ``previous``: the label of the frame before the first (streaming: the last final frame);
    leaving it for another label is a change too.

    Shape:
        (T, S) -> (T,)
    """
    count, speakers = scores.shape
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    back = np.empty((count, speakers), dtype=np.int32)
    back[0] = np.arange(speakers)
    best = scores[0].copy()
    if previous is not None:
        best -= penalty * (np.arange(speakers) != previous)
    stay = np.arange(speakers)
    for t in range(1, count):
        leader = int(np.argmax(best))
        switch = best[leader] - penalty
        back[t] = np.where(best >= switch, stay, leader)
        best = np.maximum(best, switch) + scores[t]
    path = np.empty(count, dtype=np.int64)
    path[-1] = int(np.argmax(best))
    for t in range(count - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
