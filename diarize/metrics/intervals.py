"""Set operations on time intervals with a numpy sweep line (linear after sorting).

An interval set is a float64 array of shape (n, 2): rows ``(start, end)``, sorted, disjoint and of
positive length, as returned by every function here. Inputs may be any (n, 2) array: overlapping,
unsorted or zero-length rows are fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

EMPTY = np.empty((0, 2), dtype=np.float64)


def as_intervals(pairs: Iterable[Sequence[float]] | np.ndarray) -> np.ndarray:
    """An (n, 2) float64 array from ``[(start, end), ...]`` (not normalised).

    Shape:
        (n, 2)
    """
    array = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, np.float64)
    return array.reshape(-1, 2)


def sweep(sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cut the time line at every boundary and count the active rows of each set per piece.

    Returns:
        ``points`` (m,) sorted unique boundaries and ``counts`` (m - 1, k): how many rows of set
        ``k`` cover ``[points[i], points[i + 1])``. Zero-length rows count nowhere.

    Shape:
        sets: k arrays (n_k, 2) -> points (m,), counts (max(m - 1, 0), k)
    """
    arrays = [as_intervals(s) for s in sets]
    points = np.unique(np.concatenate([a.ravel() for a in arrays] + [np.empty(0)]))
    counts = np.zeros((max(len(points) - 1, 0), len(arrays)), dtype=np.int64)
    if len(points) < 2:
        return points, counts
    for column, array in enumerate(arrays):
        if not len(array):
            continue
        delta = np.zeros(len(points), dtype=np.int64)
        np.add.at(delta, np.searchsorted(points, array[:, 0]), 1)
        np.add.at(delta, np.searchsorted(points, array[:, 1]), -1)
        counts[:, column] = np.cumsum(delta)[:-1]
    return points, counts


def runs(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The intervals where ``mask`` (one flag per elementary piece of ``points``) is true.

    Shape:
        points (m,), mask (m - 1,) -> (n, 2)
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return EMPTY.copy()
    starts = np.flatnonzero(mask & ~np.r_[False, mask[:-1]])
    ends = np.flatnonzero(mask & ~np.r_[mask[1:], False])
    return np.stack([points[starts], points[ends + 1]], axis=1)


def union(*sets: np.ndarray) -> np.ndarray:
    """Points covered by at least one row of any set (touching rows are joined)."""
    points, counts = sweep(sets)
    return runs(points, counts.sum(axis=1) > 0)


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Points covered by both ``a`` and ``b``."""
    points, counts = sweep([a, b])
    return runs(points, (counts[:, 0] > 0) & (counts[:, 1] > 0))


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Points covered by ``a`` and not by ``b``."""
    points, counts = sweep([a, b])
    return runs(points, (counts[:, 0] > 0) & (counts[:, 1] == 0))


def covered_at_least(rows: np.ndarray, times: int) -> np.ndarray:
    """Points covered by at least ``times`` rows of one (possibly self-overlapping) set."""
    points, counts = sweep([rows])
    return runs(points, counts[:, 0] >= times)


def measure(intervals: np.ndarray) -> float:
    """Total length of a normalised interval set, in seconds."""
    intervals = as_intervals(intervals)
    return float((intervals[:, 1] - intervals[:, 0]).sum())


def split_at(intervals: np.ndarray, edges: np.ndarray) -> list[list[tuple[float, float]]]:
    """Distribute intervals over the pieces ``[edges[p], edges[p + 1])``, cutting at the edges.

    Parts outside ``[edges[0], edges[-1]]`` are dropped. Cost grows with rows + pieces.
    """
    num_pieces = len(edges) - 1
    pieces: list[list[tuple[float, float]]] = [[] for _ in range(max(num_pieces, 0))]
    intervals = as_intervals(intervals)
    if num_pieces < 1 or not len(intervals):
        return pieces
    first = np.clip(np.searchsorted(edges, intervals[:, 0], side="right") - 1, 0, num_pieces - 1)
    last = np.clip(np.searchsorted(edges, intervals[:, 1], side="left") - 1, 0, num_pieces - 1)
    bounds = edges.tolist()
    for (start, end), i, j in zip(intervals.tolist(), first.tolist(), last.tolist(), strict=True):
        for piece in range(i, j + 1):
            lo, hi = max(start, bounds[piece]), min(end, bounds[piece + 1])
            if hi > lo:
                pieces[piece].append((lo, hi))
    return pieces
