"""Long audio in bounded memory: overlapping chunks whose speakers are linked file-wide.

A file is cut into equal, overlapping chunks of at most ``chunk_seconds`` (80 ms frame
aligned). Each chunk is read from disk, embedded (``network.embed_audio``) and diarized by the
network on its own; its output columns are speakers in order of arrival *within the chunk*.
Every active column then becomes a chunk speaker with a speaker embedding pooled from the
frames where it speaks alone (CAM++ embeddings with the pretrained front end, see
:class:`WindowModel`), and :mod:`diarize.inference.linking` links the chunk speakers of the
whole file into file speakers: continuity on the overlaps, embedding similarity across gaps,
never two columns of one chunk together, speaker-count hints on the whole file. So a speaker
keeps one label for the whole file, also after a long absence, and a file may hold more
speakers than the network has columns. Each chunk labels the frames up to the middle of its
overlaps with its neighbours.

The streaming path (:mod:`diarize.inference.streaming`) runs the same :class:`WindowModel`
and linking functions on a sliding window, linking online against the running speakers.

Memory per file is one chunk of audio and tensors plus the ``(frames, speakers)`` output (a few
hundred kB per hour) and one embedding per chunk speaker. Files no longer than one chunk run in
a single pass, which is the offline forward pass exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, num_model_frames
from diarize.audio.io import SAMPLE_RATE
from diarize.inference.linking import agreement, cluster_chunk_speakers
from diarize.inference.longform_config import LongformConfig
from diarize.inference.sources import ArraySource, AudioSource, FileSource
from diarize.inference.voices import clustered_posteriors
from diarize.inference.window_model import (
    SAMPLES_PER_FRAME,
    WindowModel,
    batch_posteriors,
    clusters_by_voice,
)

# speaker-count hints are checked against this, not against the network's K columns: linked
# chunks may hold any number of speakers
MAX_FILE_SPEAKERS = 64
__all__ = [
    "ArraySource",
    "AudioSource",
    "ChunkWindow",
    "FileSource",
    "LongformConfig",
    "WindowModel",
    "batch_posteriors",
    "chunk_windows",
    "longform_posteriors",
]


@dataclass(frozen=True)
class ChunkWindow:
    """A chunk: the network sees model frames ``[start, stop)`` (samples ``[first_sample,
    last_sample)``) and labels frames ``[own_start, own_stop)``."""

    start: int
    stop: int
    own_start: int
    own_stop: int
    first_sample: int
    last_sample: int


def chunk_windows(num_samples: int, config: LongformConfig) -> list[ChunkWindow]:
    """Cut ``num_samples`` of audio into equal, overlapping, frame-aligned chunks.

    The chunks' own ranges tile the file: each frame is labelled by exactly one chunk, the
    one whose centre it is nearest. A file no longer than one chunk is a single chunk.
    """
    total = num_model_frames(num_samples)
    if total == 0:
        return []
    longest = max(1, int(config.chunk_seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME)
    overlap = min(int(round(config.overlap_seconds / FRAME_SHIFT)), longest // 2)
    if total <= longest:
        return [ChunkWindow(0, total, 0, total, 0, num_samples)]
    hop = longest - overlap
    count = math.ceil((total - overlap) / hop)
    size = min(longest, math.ceil((total + (count - 1) * overlap) / count))
    starts = [round(i * (total - size) / (count - 1)) for i in range(count)]
    windows = []
    for i, start in enumerate(starts):
        stop = start + size
        own_start = 0 if i == 0 else (start + starts[i - 1] + size) // 2
        own_stop = total if i == count - 1 else (starts[i + 1] + stop) // 2
        last = num_samples if stop == total else stop * SAMPLES_PER_FRAME
        windows.append(
            ChunkWindow(start, stop, own_start, own_stop, start * SAMPLES_PER_FRAME, last)
        )
    return windows


def longform_posteriors(
    network: torch.nn.Module,
    source: AudioSource,
    config: LongformConfig | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """Speaker posteriors of a whole recording: chunks diarized alone, speakers linked.

    Args:
        network: a SortFormer network in eval mode (``embed_audio``, ``forward_embeddings``,
            ``max_speakers``; ``campplus`` with the pretrained front end).
        source: the audio.
        config: chunking and linking settings.
        device: where the network lives.
        bf16: run the network under bfloat16 autocast (CUDA).
        num_speakers, min_speakers, max_speakers: speaker-count bounds for the whole file
            (used when linking chunks; a single chunk leaves them to post-processing).

    Returns:
        Posteriors, one row per 80 ms frame (``num_model_frames(source.num_samples)`` rows),
        one column per file speaker in order of first appearance; at least ``max_speakers``
        columns (unused ones are zero), more when the file holds more speakers.

    Shape:
        (num_samples,) -> (T, S) with S >= max_speakers
    """
    config = config or LongformConfig()
    columns = int(network.max_speakers)
    total = num_model_frames(source.num_samples)
    if total == 0 or source.num_samples < config.min_audio_seconds * SAMPLE_RATE:
        return np.zeros((total, columns), dtype=np.float32)
    model = WindowModel(network, config, device, bf16)
    windows = chunk_windows(source.num_samples, config)
    if clusters_by_voice(network, config):
        return clustered_posteriors(
            model, source, windows, config, columns, num_speakers, min_speakers, max_speakers
        )
    pieces: list[np.ndarray] = []  # each chunk's posteriors on its own frames
    actives: list[np.ndarray] = []
    embeddings, masses, chunk_of, column_of = [], [], [], []
    must_link: list[tuple[int, int]] = []
    previous = None  # (window, probs, nodes, active) of the chunk before
    with torch.inference_mode():
        for index, window in enumerate(windows):
            audio = source.read(window.first_sample, window.last_sample)
            emb = model.embed(audio)
            probs = model.gate(model.probs(emb), audio)
            if len(windows) == 1:
                return _at_least(probs, total, columns)
            active = np.flatnonzero((probs > 0.5).sum(0) >= 2)
            chunk_embeddings, chunk_masses = model.speakers(emb, probs)
            nodes = list(range(len(chunk_of), len(chunk_of) + len(active)))
            for column in active:
                vector = chunk_embeddings[column]
                embeddings.append(vector)
                masses.append(chunk_masses[column])
                chunk_of.append(index)
                column_of.append(int(column))
            if previous is not None:
                must_link += _continuity(previous, (window, probs, nodes), active, config)
            previous = (window, probs, nodes, active)
            pieces.append(probs[window.own_start - window.start : window.own_stop - window.start])
            actives.append(active)
    dim = next((len(v) for v in embeddings if v is not None), 1)
    matrix = np.full((len(embeddings), dim), np.nan)
    for row, vector in enumerate(embeddings):
        if vector is not None:
            matrix[row] = vector
    labels = cluster_chunk_speakers(
        matrix,
        np.asarray(masses, dtype=np.float64),
        np.asarray(chunk_of),
        must_link,
        config.link_threshold,
        num_speakers,
        min_speakers,
        max_speakers,
    )
    speakers = int(labels.max()) + 1 if len(labels) else 0  # -1: dropped (too short)
    output = np.zeros((total, max(speakers, columns)), dtype=np.float32)
    node = 0
    for window, piece, active in zip(windows, pieces, actives, strict=True):
        rows = slice(window.own_start, window.own_start + len(piece))
        for column in active:
            if labels[node] >= 0:
                label = labels[node]
                output[rows, label] = np.maximum(output[rows, label], piece[:, column])
            node += 1
    return output


def _continuity(previous, current, active: np.ndarray, config: LongformConfig):
    """Must-links between the active columns of two neighbouring chunks on their overlap."""
    from scipy.optimize import linear_sum_assignment

    (prev_window, prev_probs, prev_nodes, prev_active), (window, probs, nodes) = previous, current
    first, last = window.start, prev_window.stop
    if last <= first or not len(prev_active) or not len(active):
        return []
    before = prev_probs[first - prev_window.start : last - prev_window.start][:, prev_active]
    after = probs[: last - first][:, active]
    score = agreement(before, after)
    rows, cols = linear_sum_assignment(score, maximize=True)
    return [
        (prev_nodes[r], nodes[c])
        for r, c in zip(rows, cols, strict=True)
        if score[r, c] >= config.continuity_threshold
    ]


def _at_least(probs: np.ndarray, total: int, columns: int) -> np.ndarray:
    output = np.zeros((total, max(columns, probs.shape[1])), dtype=np.float32)
    output[: min(total, len(probs)), : probs.shape[1]] = probs[:total]
    return output
