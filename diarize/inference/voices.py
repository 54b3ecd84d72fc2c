"""Speaker identity by voice on a whole recording: the network says when, CAM++ says who.

The path of :func:`~diarize.inference.longform.longform_posteriors` for networks with the CAM++
front end and ``identity: clustering``, in two steps: the chunks of the file pass once
(:func:`gather_evidence`), leaving the speech posterior of every frame, the CAM++ embeddings of
short solo-speech windows and, per frame, the embedding of its own 0.4 s; then the windows are
clustered (:mod:`diarize.inference.clustering`) and every frame is labelled
(:func:`decide_speakers`). Only the first step runs the networks, so experiments with the
second replay a recorded first step (``scripts/dev/cluster_replay.py``).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, num_model_frames
from diarize.inference.channels import add_other_leg, by_channel, likely_legs
from diarize.inference.clustering import cluster_windows, window_spans
from diarize.inference.frame_labels import label_frames, resegment
from diarize.inference.overlap import add_second_speakers

if TYPE_CHECKING:
    from diarize.inference.longform import ChunkWindow, LongformConfig
    from diarize.inference.sources import AudioSource
    from diarize.inference.window_model import WindowModel

__all__ = [
    "FileEvidence",
    "clustered_posteriors",
    "column_windows",
    "decide_speakers",
    "frames_by_voice",
    "gather_evidence",
    "solo_windows",
    "window_local_speakers",
]


@dataclass
class FileEvidence:
    """What one pass of the networks over a file leaves for deciding who speaks when.

    Attributes:
        speech, overlap: per frame, the probability of speech and of two people at once.
        spans: the solo-speech windows, as frame ranges of the file.
        vectors: one CAM++ embedding per window, or None without windows.
        local: per window, the segmentation windows that heard it as one local speaker, or
            None (no segmentation network, or local speakers off).
        frame_vectors: per frame, the embedding of its own ``resegment_seconds`` (float16), or
            None (``resegment_seconds`` 0).
        local_track: per frame, the segmentation's local speakers (read by
            ``overlap_name_threshold`` and ``overlap_voice_seconds``; 36 bytes a frame, 1.6 MB
            an hour), or None without the segmentation network or with local speakers off.
        channels: per frame, both channels' levels (dBFS) of a two-channel recording, or None
            (:mod:`~diarize.inference.channels`).

    Shape:
        speech (T,), overlap (T,), vectors (N, E), frame_vectors (T, E),
        local_track (T, slots, 3), channels (T, C)
    """

    speech: np.ndarray
    overlap: np.ndarray
    spans: list[tuple[int, int]]
    vectors: np.ndarray | None
    local: list[list[tuple[Hashable, int]]] | None
    frame_vectors: np.ndarray | None
    local_track: np.ndarray | None
    channels: np.ndarray | None = None


def clustered_posteriors(
    model: WindowModel,
    source: AudioSource,
    windows: list[ChunkWindow],
    config: LongformConfig,
    columns: int,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> np.ndarray:
    """Speech from the network, speakers from clustering CAM++ windows of the whole file:
    :func:`decide_speakers` on :func:`gather_evidence`. A two-channel file whose levels alone
    look like a call recorded per leg (:func:`~diarize.inference.channels.likely_legs`) first
    gets segmentation-3.0's pass only, and keeps it when its speech confirms the legs: CAM++
    and the SortFormer network are not needed then (the same result, a third of the time).
    Shape: -> (T, S), S >= ``columns``"""
    hints = (num_speakers, min_speakers, max_speakers)
    frames = num_model_frames(source.num_samples)
    levels = source.channel_levels(frames) if hasattr(source, "channel_levels") else None
    by_speech = model.segmentation is not None and config.speech_source == "segmentation"
    if by_speech and config.channel_gap_db is not None and likely_legs(levels, config):
        evidence = gather_evidence(model, source, windows, config, voices=False)
        evidence.channels = levels
        legs = by_channel(evidence, config, *hints)
        if legs is not None:
            return _speakers_output(evidence, config, columns, legs, *hints)
    evidence = gather_evidence(model, source, windows, config)
    evidence.channels = levels
    return decide_speakers(evidence, config, columns, *hints)


def gather_evidence(
    model: WindowModel,
    source: AudioSource,
    windows: list[ChunkWindow],
    config: LongformConfig,
    voices: bool = True,
) -> FileEvidence:
    """One pass of the networks over the file's chunks (``voices`` False: segmentation-3.0's
    speech, overlap and local speakers only, no windows; with ``speech_source: segmentation``).

    Each chunk contributes the speech posterior of its own frames (the largest column) and one
    CAM++ embedding per window of solo speech (:func:`solo_windows`: where one column, and only
    it, exceeds ``speech_threshold``, so that a window never straddles a change of column,
    which is often a change of speaker); with ``resegment_seconds``, every frame keeps the
    embedding of its own short neighbourhood as the chunks pass (192 half floats per 80 ms,
    17 MB an hour).
    """
    total = num_model_frames(source.num_samples)
    speech = np.zeros(total, dtype=np.float32)
    overlap = np.zeros(total, dtype=np.float32)
    spans: list[tuple[int, int]] = []
    vectors: list[np.ndarray] = []
    frame_width = round(config.resegment_seconds / FRAME_SHIFT)
    frame_vectors: np.ndarray | None = None  # (total, E) float16, when resegmenting
    local: list[list[tuple[Hashable, int]]] | None = []  # per window: its local speakers
    # the segmentation's local speakers over the whole file (total, slots, 3); kept whatever
    # the decision settings, so that the evidence depends on the networks' settings alone
    local_track: np.ndarray | None = None
    with torch.inference_mode():
        for number, window in enumerate(windows):
            audio = source.read(window.first_sample, window.last_sample)
            if voices:
                emb = model.embed(audio)
                probs = model.gate(model.probs(emb), audio)
            else:  # the speech comes from segmentation-3.0 alone
                probs = np.zeros((num_model_frames(len(audio)), 0), dtype=np.float32)
            level, both, heard = model.speech(probs, audio)
            keep = slice(window.own_start - window.start, window.own_stop - window.start)
            own = probs[keep]
            speech[window.own_start : window.own_start + len(own)] = level[keep]
            overlap[window.own_start : window.own_start + len(own)] = both[keep]
            if heard is not None:
                if local_track is None:
                    local_track = np.full((total, *heard.shape[1:]), -1, dtype=np.int32)
                track = heard[keep].copy()
                track[..., 0] = np.where(track[..., 0] >= 0, track[..., 0] + number * WINDOWS, -1)
                local_track[window.own_start : window.own_start + len(own)] = track
            if not voices:
                continue
            if frame_width > 0:
                sliding = model.campplus.embed_sliding(emb, frame_width).float().cpu().numpy()
                if frame_vectors is None:
                    frame_vectors = np.zeros((total, sliding.shape[1]), dtype=np.float16)
                start = window.own_start - window.start
                frame_vectors[window.own_start : window.own_start + len(own)] = sliding[
                    start : start + len(own)
                ]
            # windows over the whole chunk (runs are not cut at the chunk's own range), kept
            # when centred in its own range
            own_range = (window.own_start - window.start, window.own_stop - window.start)
            chunk_spans = solo_windows(probs, level, both, heard, config, own_range)
            if not chunk_spans:
                continue
            vectors.extend(model.campplus.embed_spans(emb, chunk_spans).float().cpu().numpy())
            spans.extend((a + window.start, b + window.start) for a, b in chunk_spans)
            if heard is None:  # no segmentation network, or local speakers off
                local = None
            elif local is not None:  # a segmentation window is (chunk, window in the chunk)
                local.extend(window_local_speakers(heard, a, b, number) for a, b in chunk_spans)
    stacked = np.stack(vectors) if vectors else None
    return FileEvidence(speech, overlap, spans, stacked, local, frame_vectors, local_track)


def decide_speakers(
    evidence: FileEvidence,
    config: LongformConfig,
    columns: int,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> np.ndarray:
    """Who speaks when, from a file's evidence: on a call recorded per leg each leg is a
    speaker (:func:`by_channel`); otherwise the windows are clustered over the whole file,
    and every frame is labelled by the embedding of its own short neighbourhood
    (:func:`~diarize.inference.frame_labels.resegment`) or, with ``resegment_seconds`` 0, takes
    the label of the nearest window. The returned column ``s`` holds the speech posterior on
    the frames labelled ``s``, so the post-processing thresholds keep their meaning. Where the
    segmentation network hears two people at once (``speech_source`` other than
    ``network``), the frame gets a second speaker
    (:func:`~diarize.inference.overlap.add_second_speakers`); the network's own second column
    was measured to add more false alarm than it recovers (README).

    Shape:
        -> (T, S) with S >= ``columns``
    """
    hints = (num_speakers, min_speakers, max_speakers)
    legs = by_channel(evidence, config, *hints)
    return _speakers_output(evidence, config, columns, legs, *hints)


def _speakers_output(
    evidence: FileEvidence,
    config: LongformConfig,
    columns: int,
    frame_labels: np.ndarray | None,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> np.ndarray:
    """:func:`decide_speakers` once the legs are known: ``frame_labels`` per frame from
    :func:`by_channel`, or None to decide by voice. Shape: -> (T, S)"""
    speech, vectors = evidence.speech, evidence.vectors
    total = len(speech)
    hints = (num_speakers, min_speakers, max_speakers)
    if frame_labels is None and vectors is None:
        # no clean speech to recognise anyone by: one speaker, if any
        output = np.zeros((total, max(columns, 1)), dtype=np.float32)
        output[:, 0] = speech
        return output
    legs = frame_labels is not None
    if frame_labels is None:
        frame_labels, count = _by_voice(evidence, config, *hints)
    else:
        count = int(frame_labels.max()) + 1
    output = np.zeros((total, max(columns, 1, count)), dtype=np.float32)
    output[np.arange(total), frame_labels] = speech
    if legs and config.channel_overlap_db is not None:
        with_legs = add_other_leg(output, evidence, config, frame_labels)
        if with_legs is not None:  # else a leg spoke too little: overlap as on any file
            return with_legs
    limit = num_speakers if num_speakers is not None else max_speakers
    room = None if limit is None else max(0, limit - count)
    return add_second_speakers(
        output, frame_labels, speech, evidence.overlap, config, evidence.local_track, room
    )


def _by_voice(
    evidence: FileEvidence,
    config: LongformConfig,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> tuple[np.ndarray, int]:
    """Per frame, its speaker by voice: the windows clustered, every frame labelled against
    the clusters' centroids; and the number of clusters. Shape: -> (T,), S"""
    labels = cluster_windows(
        evidence.vectors,
        config.cluster_threshold,
        config.min_cluster_windows,
        config.min_cluster_share,
        num_speakers,
        min_speakers,
        max_speakers,
        centering=config.centering,
        centered_threshold=config.centered_threshold,
        merge_threshold=config.merge_threshold,
        local=evidence.local,
        distinct=config.distinct_threshold,
    )
    return frames_by_voice(evidence, config, labels), int(labels.max()) + 1


def frames_by_voice(
    evidence: FileEvidence, config: LongformConfig, labels: np.ndarray
) -> np.ndarray:
    """Every frame's speaker from the clustered windows' ``labels``: against the clusters'
    centroids along the frames' own voices (:func:`~diarize.inference.frame_labels.resegment`),
    or the nearest window's label without frame embeddings or with one cluster.
    Shape: labels (N,) -> (T,)"""
    if evidence.frame_vectors is not None and labels.max() > 0:
        return resegment(
            evidence.frame_vectors,
            evidence.vectors,
            labels,
            evidence.speech > config.speech_threshold,
            config.change_penalty,
            config.centering,
            config.resegment_iterations,
            config.speaker_prior,
            config.speaker_prior_floor,
        )
    return label_frames(evidence.spans, labels, len(evidence.speech))


WINDOWS = 1 << 16  # segmentation windows numbered chunk * WINDOWS + window over a whole file


def window_local_speakers(
    heard: np.ndarray, start: int, stop: int, chunk: int
) -> list[tuple[tuple[int, int], int]]:
    """The segmentation windows that heard most of frames ``[start, stop)`` as one local
    speaker alone: ``((chunk, window), speaker)`` for each.

    Shape:
        heard (T, slots, 3): per frame and slot, (window, local speaker or -1, pair or -1)
    """
    pairs = heard[start:stop, :, :2].reshape(-1, 2)
    pairs = pairs[pairs[:, 1] >= 0]
    found = []
    for window in np.unique(pairs[:, 0]):
        speakers = np.bincount(pairs[pairs[:, 0] == window, 1], minlength=3)
        if speakers.max() * 2 > stop - start:
            found.append(((chunk, int(window)), int(speakers.argmax())))
    return found


def solo_windows(
    probs: np.ndarray,
    level: np.ndarray,
    overlap: np.ndarray,
    heard: np.ndarray | None,
    config: LongformConfig,
    own: tuple[int, int],
) -> list[tuple[int, int]]:
    """The windows of one chunk whose CAM++ embeddings are clustered: runs of solo speech,
    each window centred in the chunk's own frames ``own``.

    Solo speech is where exactly one of the network's columns is active (and the speech
    source hears speech), and a window never spans a change of column. On some real voices
    the network keeps two columns active for most of a chunk, and the few solo frames left
    cannot tell its voices apart (a 3-speaker mix: 7 windows in 78 s of speech, all one
    cluster). When the columns give fewer than ``solo_fallback`` times the windows that
    segmentation-3.0's one-speaker frames give (speech, no overlap, no change of its local
    speaker), the chunk's windows come from those frames instead, cut where the network's
    strongest column changes.

    Shape:
        probs (T, K), level (T,), overlap (T,), heard (T, slots, 2) or None -> [(start, stop)]
    """
    active = probs > config.speech_threshold
    solo = (active.sum(1) == 1) & (level > config.speech_threshold)
    found = column_windows(solo, active, config, own)
    if config.solo_fallback <= 0 or heard is None:
        return found
    single = (level > config.speech_threshold) & (overlap < config.overlap_threshold)
    single &= ~_local_change(heard)
    strongest = probs.argmax(1)[:, None] == np.arange(probs.shape[1])[None]
    fallback = column_windows(single, strongest, config, own)
    return fallback if len(found) < config.solo_fallback * len(fallback) else found


def column_windows(
    solo: np.ndarray, columns: np.ndarray, config: LongformConfig, own: tuple[int, int]
) -> list[tuple[int, int]]:
    """Windows (``window_seconds`` long, every ``hop_seconds``, at least ``min_embed_seconds``)
    over the frames where ``solo`` holds and one column is on, never across a change of column,
    kept when centred in a chunk's own frames ``own``. Shape: solo (T,), columns (T, K) bool"""
    width = max(1, round(config.window_seconds / FRAME_SHIFT))
    hop = max(1, round(config.hop_seconds / FRAME_SHIFT))
    least = max(1, round(config.min_embed_seconds / FRAME_SHIFT))
    return [
        (a, b)
        for k in range(columns.shape[1])
        for a, b in window_spans(solo & columns[:, k], width, hop, least)
        if own[0] <= (a + b - 1) // 2 < own[1]
    ]


def _local_change(heard: np.ndarray) -> np.ndarray:
    """Frames whose local speaker differs from the frame before's in a segmentation window
    that covers both. Shape: (T, slots, 2) -> (T,) bool"""
    change = np.zeros(len(heard), dtype=bool)
    now, before = heard[1:], heard[:-1]
    for i in range(heard.shape[1]):
        for j in range(heard.shape[1]):
            shared = (now[:, i, 0] == before[:, j, 0]) & (now[:, i, 0] >= 0)
            change[1:] |= shared & (now[:, i, 1] != before[:, j, 1])
    return change
