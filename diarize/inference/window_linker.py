"""A stream's speakers, made and moved by its windows of solo speech one at a time.

Offline, the 2-s windows of solo speech of the whole file are clustered
(:func:`~diarize.inference.clustering.cluster_windows`). A stream cannot wait for the whole
file, so :class:`WindowLinker` takes each window as it becomes final, in time order:

* it joins the speaker whose centroid it is most like when at least ``threshold`` alike
  (cosine, with ``centering`` times the mean of every window linked so far taken off both, as
  the offline clustering centres a file's windows: the voices of one recording share its
  channel), and moves that centroid. The share grows from 0 to ``centering`` over the first
  ``CENTRING_SECONDS`` of linked speech: while one voice is all the stream has heard, the mean
  is that voice, and taking it off whole sets the voice's own next windows aside;
* a window unlike every speaker is set aside; it becomes a new speaker, with the windows set
  aside among the last ``EXPIRE_WINDOWS`` that are at least ``threshold`` like it, once there is
  one: a single odd window (a cough, two voices that slipped through as one) makes nobody;
* the first window of a stream is its first speaker.

Frames are then labelled by voice against the centroids
(:meth:`~diarize.inference.streaming.StreamingDiarizer._label_frames`); the windows only make
speakers and move centroids. Until the ninth session each of the network's columns was linked
by its last 2 s of solo speech: a column that held two real voices for a while made a speaker of
the mixture, or several. Replayed at 1.04 s (``scripts/dev/stream_replay.py``), speakers counted
right: real-voice dev mixes 45% -> 52.5%, simulated dev 50% -> 58.3%, real-voice test mixes 45%
-> 52.5%; DER 22.07% -> 22.20%, 20.18% -> 20.17%, 25.04% -> 23.08%.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from diarize.inference.linking import cosine_matrix

if TYPE_CHECKING:
    from diarize.inference.longform import LongformConfig

__all__ = ["EXPIRE_WINDOWS", "WindowLinker", "centred"]

EXPIRE_WINDOWS = 40  # windows: how long one set aside waits for a second like it (15-100 alike)
CENTRING_SECONDS = 10.0  # linked speech (s) over which the centring grows to its share (5-10 alike)


def centred(x: np.ndarray, sums: np.ndarray, mass: float, share: float) -> np.ndarray:
    """Unit rows of ``x`` with ``share`` times a stream's mean embedding so far (the speakers'
    summed embeddings ``sums`` over their ``mass``) taken off: the voices of one recording share
    its channel, as the offline clustering's centring says. Shape: (N, E) -> (N, E)"""
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    if not share or mass <= 0:
        return x
    return x - share * np.sum(sums, axis=0) / mass


@dataclass
class WindowLinker:
    """Speakers from windows of solo speech, linked one at a time (see the module).

    Attributes:
        threshold: least cosine similarity (centred) to join a speaker, and for two windows
            set aside to be one new speaker.
        centering: share of the mean of every linked window taken off before comparing.
        max_speakers: cap on the speakers (beyond it a window joins the most similar).
        centroids: per speaker, the sum of its unit window embeddings, each weighted by its
            seconds.
    """

    threshold: float
    centering: float = 0.0
    max_speakers: int | None = None
    centroids: list[np.ndarray] = field(default_factory=list)
    _mass: float = 0.0  # seconds of speech in all the centroids
    _aside: list[tuple[int, np.ndarray, float]] = field(default_factory=list)  # number, unit, s
    _count: int = 0  # windows so far

    @classmethod
    def for_stream(cls, config: LongformConfig, max_speakers: int | None) -> WindowLinker:
        """The linker of a stream by voice: ``stream_link_threshold`` (None:
        ``cluster_threshold``) and ``stream_centering``."""
        threshold = config.stream_link_threshold
        threshold = config.cluster_threshold if threshold is None else threshold
        return cls(threshold, config.stream_centering, max_speakers)

    @property
    def num_speakers(self) -> int:
        return len(self.centroids)

    def add(self, vectors: np.ndarray, seconds: np.ndarray) -> None:
        """Link windows, in time order. Shape: vectors (N, E), seconds (N,)"""
        for vector, mass in zip(vectors, seconds, strict=True):
            self._add(vector / max(float(np.linalg.norm(vector)), 1e-12), float(mass))

    def _add(self, unit: np.ndarray, mass: float) -> None:
        self._count += 1
        if self.centroids:
            similarity = self._similarity(unit, np.stack(self.centroids))
            best = int(np.argmax(similarity))
            full = self.max_speakers is not None and self.num_speakers >= self.max_speakers
            if similarity[best] >= self.threshold or full:
                self._join(best, [(unit, mass)])
                return
        self._aside = [kept for kept in self._aside if self._count - kept[0] <= EXPIRE_WINDOWS]
        like = []
        if self._aside and self.centroids:
            similarity = self._similarity(unit, np.stack([kept[1] for kept in self._aside]))
            like = [
                kept for kept, s in zip(self._aside, similarity, strict=True) if s >= self.threshold
            ]
        if self.centroids and not like:
            self._aside.append((self._count, unit, mass))
            return
        self.centroids.append(np.zeros_like(unit))
        self._join(self.num_speakers - 1, [(unit, mass)] + [(kept[1], kept[2]) for kept in like])
        self._aside = [kept for kept in self._aside if all(kept is not other for other in like)]

    def _join(self, speaker: int, windows: list[tuple[np.ndarray, float]]) -> None:
        for unit, mass in windows:
            self.centroids[speaker] = self.centroids[speaker] + mass * unit
            self._mass += mass

    def _similarity(self, unit: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Centred cosine of one unit window with each row of ``others``. Shape: (N,)"""
        sums = np.stack(self.centroids)
        share = self.centering * min(1.0, self._mass / CENTRING_SECONDS)
        return cosine_matrix(
            centred(unit[None], sums, self._mass, share),
            centred(others, sums, self._mass, share),
        )[0]
