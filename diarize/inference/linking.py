"""Global speaker identity: link the speakers of many chunks into one set of labels.

SortFormer numbers its output columns by arrival *within* the audio it sees, so column 0 of
one chunk and column 0 of the next need not be the same person, and a file may hold more
people than the network has columns. Each active column of a chunk becomes a *chunk speaker*
with a speaker embedding pooled from the frames where it speaks alone; chunk speakers are then
linked into file speakers by two kinds of evidence:

* continuity: neighbouring chunks overlap, and two columns that are active on the same
  overlap frames are one speaker (soft Dice agreement of their activities);
* identity: cosine similarity of the embeddings (CAM++ speaker embeddings with the pretrained
  front end), which also links a speaker across a long absence.

Two columns of one chunk are never one speaker (cannot-link). Offline, all chunk speakers of a
file are clustered at once (:func:`cluster_chunk_speakers`); streaming, each step is linked to
the running speaker centroids (:class:`OnlineLinker`). Labels are never reused: a speaker the
network folds into another column for a while simply has no column there, and gets its own
label back when it is heard alone again.

Everything here works on numpy arrays and is independent of the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # longform imports this module
    from diarize.inference.longform import LongformConfig

__all__ = [
    "OnlineLinker",
    "agreement",
    "cluster_chunk_speakers",
    "cosine_matrix",
    "solo_weights",
]


def solo_weights(probs: np.ndarray) -> np.ndarray:
    """Per frame and column, the probability that this speaker alone speaks.

    ``w[t, k] = p[t, k] * prod_{j != k} (1 - p[t, j])``: high on clean single-speaker frames,
    the ones that carry a speaker's identity (overlapped speech blurs it).

    Shape:
        (T, K) -> (T, K)
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    off = 1.0 - p
    # the product over the other columns, without dividing by (1 - p_k) (which may be 0)
    others = np.ones_like(p)
    for k in range(p.shape[1]):
        others[:, k] = np.prod(np.delete(off, k, axis=1), axis=1)
    return (p * others).astype(np.float32)


def agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Soft Dice agreement of two sets of activities over the same frames.

    ``d[i, j] = 2 sum_t a[t, i] b[t, j] / (sum_t a[t, i] + sum_t b[t, j])``: 1 when two columns
    carry the same speech, 0 when they never speak at the same time.

    Shape:
        a (T, I), b (T, J) -> (I, J)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[0] == 0:
        return np.zeros((a.shape[1], b.shape[1]), dtype=np.float32)
    inner = a.T @ b
    total = a.sum(0)[:, None] + b.sum(0)[None, :]
    return np.where(total > 1e-6, 2.0 * inner / np.maximum(total, 1e-6), 0.0).astype(np.float32)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities between the rows of ``a`` and ``b`` (zero rows score 0).

    Shape:
        a (I, E), b (J, E) -> (I, J)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return ((a / np.maximum(na, 1e-12)) @ (b / np.maximum(nb, 1e-12)).T).astype(np.float32)


def cluster_chunk_speakers(
    embeddings: np.ndarray,
    masses: np.ndarray,
    chunks: np.ndarray,
    must_link: list[tuple[int, int]],
    threshold: float,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """Label every chunk speaker of a file with a file speaker (offline linking).

    1. must-links (continuity between overlapping chunks) join chunk speakers into tracks
       (union-find; a link that would put two columns of one chunk together is skipped);
    2. tracks are merged agglomeratively, most similar first (cosine of the mass-weighted
       mean embeddings), never two that share a chunk, while the best similarity is at least
       ``threshold``; then ``max_speakers`` (or ``num_speakers``) forces further merges and
       ``min_speakers`` (or ``num_speakers``) stops them early.

    Args:
        embeddings: one row per chunk speaker; a row of NaN: no usable embedding (too little
            speech to recognise: linked by must-links only, and dropped, label -1, when alone;
            such a column is usually a short false alarm).
        masses: seconds of solo speech behind each embedding (its weight in a centroid).
        chunks: the chunk each chunk speaker comes from.
        must_link: pairs of chunk speakers known to be one person.
        threshold: least cosine similarity for a merge.
        num_speakers, min_speakers, max_speakers: bounds on the number of labels.

    Returns:
        Labels ``0..S-1`` numbered by first appearance (smallest chunk, then row order), -1
        for a dropped chunk speaker.

    Shape:
        embeddings (N, E), masses (N,), chunks (N,) -> (N,)
    """
    count = len(chunks)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    chunks = np.asarray(chunks)
    if num_speakers is not None:
        min_speakers = max_speakers = num_speakers
    parent = list(range(count))
    members: dict[int, set[int]] = {i: {int(chunks[i])} for i in range(count)}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in must_link:
        ri, rj = find(i), find(j)
        if ri != rj and not members[ri] & members[rj]:
            parent[rj] = ri
            members[ri] |= members.pop(rj)

    roots = sorted({find(i) for i in range(count)})
    index = {root: n for n, root in enumerate(roots)}
    track = np.array([index[find(i)] for i in range(count)])
    valid = np.isfinite(embeddings).all(axis=1) if len(embeddings) else np.zeros(0, bool)
    dim = embeddings.shape[1] if embeddings.ndim == 2 else 0
    sums = np.zeros((len(roots), dim))
    for i in np.flatnonzero(valid):
        norm = np.linalg.norm(embeddings[i])
        if norm > 0:
            sums[track[i]] += float(masses[i]) * embeddings[i] / norm
    chunk_sets = [members[root] for root in roots]
    has_embedding = np.linalg.norm(sums, axis=1) > 0

    cluster_of = np.arange(len(roots))  # track -> cluster (merged clusters point at the keeper)
    alive = list(range(len(roots)))
    similarity = cosine_matrix(sums, sums).astype(np.float64)
    blocked = ~(has_embedding[:, None] & has_embedding[None, :])
    for a in range(len(roots)):
        for b in range(a + 1, len(roots)):
            if chunk_sets[a] & chunk_sets[b]:
                blocked[a, b] = blocked[b, a] = True
    np.fill_diagonal(blocked, True)
    similarity[blocked] = -np.inf
    while len(alive) > 1:
        if min_speakers is not None and len(alive) <= min_speakers:
            break
        sub = similarity[np.ix_(alive, alive)]
        flat = int(np.argmax(sub))
        best = sub.flat[flat]
        if not np.isfinite(best):
            break
        over_limit = max_speakers is not None and len(alive) > max_speakers
        if best < threshold and not over_limit:
            break
        a, b = alive[flat // len(alive)], alive[flat % len(alive)]
        a, b = min(a, b), max(a, b)
        sums[a] += sums[b]
        chunk_sets[a] = chunk_sets[a] | chunk_sets[b]
        cluster_of[cluster_of == b] = a
        alive.remove(b)
        row = cosine_matrix(sums[a : a + 1], sums[alive])[0].astype(np.float64)
        for n, other in enumerate(alive):
            if other == a:
                continue
            value = -np.inf if chunk_sets[a] & chunk_sets[other] else row[n]
            similarity[a, other] = similarity[other, a] = value
        similarity[b, :] = similarity[:, b] = -np.inf

    raw = cluster_of[track]
    sizes = np.bincount(track, minlength=len(roots))
    lonely = ~has_embedding & (sizes == 1)  # one column, too short to recognise
    # number labels by first appearance: earliest chunk, then row order within it
    order = np.lexsort((np.arange(count), chunks))
    relabel: dict[int, int] = {}
    for i in order:
        if not lonely[track[i]]:
            relabel.setdefault(int(raw[i]), len(relabel))
    return np.array([relabel.get(int(r), -1) for r in raw], dtype=np.int64)


@dataclass
class OnlineLinker:
    """Links each step's columns to the running file speakers (streaming without CAM++; with
    it, speakers come from windows of solo speech: :mod:`~diarize.inference.window_linker`).

    A column is linked, in this order, to the speaker whose final frames it continues
    (agreement over the frames both see, Hungarian, at least ``continuity_threshold``), else to
    the speaker whose centroid it resembles (cosine at least ``threshold``, Hungarian over the
    speakers not taken in this step), else it becomes a new speaker, if it has an embedding.
    A column with neither continuity nor an embedding stays unlinked (-1) until it has been
    heard long enough to be recognised: labels, once given, are final.

    Attributes:
        threshold: least cosine similarity to a centroid.
        continuity_threshold: least agreement with a speaker's final frames.
        max_speakers: cap on the number of speakers (new voices beyond it join the closest).
        centroids: per speaker, the mass-weighted sum of its unit embeddings.
    """

    threshold: float
    continuity_threshold: float = 0.5
    max_speakers: int | None = None
    centroids: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def for_stream(cls, config: LongformConfig, max_speakers: int | None) -> OnlineLinker:
        """The stream's linker for a :class:`~diarize.inference.longform.LongformConfig`."""
        return cls(config.link_threshold, config.continuity_threshold, max_speakers)

    @property
    def num_speakers(self) -> int:
        return len(self.centroids)

    def link(
        self,
        continuity: np.ndarray | None,
        embeddings: list[np.ndarray | None],
        active: np.ndarray,
    ) -> np.ndarray:
        """File speaker of each column (-1: none); creates new speakers as needed.

        Args:
            continuity: agreement of the columns with the known speakers on frames whose labels
                are already final, or None.
            embeddings: per column, its embedding or None (too little solo speech).
            active: which columns speak in the frames to label.

        Shape:
            continuity (K, G), active (K,) -> (K,)
        """
        from scipy.optimize import linear_sum_assignment

        columns = len(active)
        mapping = np.full(columns, -1, dtype=np.int64)
        taken: set[int] = set()
        if continuity is not None and continuity.size:
            rows, cols = linear_sum_assignment(continuity, maximize=True)
            for row, col in zip(rows, cols, strict=True):
                if continuity[row, col] >= self.continuity_threshold:
                    mapping[row] = col
                    taken.add(int(col))
        todo = [k for k in range(columns) if active[k] and mapping[k] < 0]
        todo = [k for k in todo if embeddings[k] is not None]
        free = [g for g in range(self.num_speakers) if g not in taken]
        if todo and free:
            similarity = cosine_matrix(
                np.stack([embeddings[k] for k in todo]), np.stack([self.centroids[g] for g in free])
            )
            rows, cols = linear_sum_assignment(similarity, maximize=True)
            for row, col in zip(rows, cols, strict=True):
                full = self.max_speakers is not None and self.num_speakers >= self.max_speakers
                if similarity[row, col] >= self.threshold or full:
                    mapping[todo[row]] = free[col]
        for k in todo:
            if mapping[k] < 0 and (
                self.max_speakers is None or self.num_speakers < self.max_speakers
            ):
                mapping[k] = self.num_speakers
                self.centroids.append(np.zeros(len(embeddings[k]), dtype=np.float64))
        return mapping

    def update(
        self, mapping: np.ndarray, embeddings: list[np.ndarray | None], masses: np.ndarray
    ) -> None:
        """Add each linked column's embedding to its speaker's centroid, weighted by ``masses``
        (the seconds of new solo speech it was pooled from)."""
        for column, speaker in enumerate(mapping):
            embedding = embeddings[column]
            if speaker < 0 or embedding is None or masses[column] <= 0:
                continue
            norm = np.linalg.norm(embedding)
            if norm > 0:
                self.centroids[speaker] += float(masses[column]) * embedding / norm
