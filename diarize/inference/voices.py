"""Speaker identity by voice on a whole recording: the network says when, CAM++ says who.

The path of :func:`~diarize.inference.longform.longform_posteriors` for networks with the CAM++
front end and ``identity: clustering``: the chunks of the file pass once, leaving the speech
posterior of every frame, the CAM++ embeddings of short solo-speech windows and, per frame, the
embedding of its own 0.4 s; the windows are clustered at the end
(:mod:`diarize.inference.clustering`) and every frame is labelled.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, num_model_frames
from diarize.inference.clustering import (
    MAX_MIN_SIZE,
    cluster_windows,
    label_frames,
    resegment,
    window_spans,
)

if TYPE_CHECKING:
    from diarize.inference.longform import ChunkWindow, LongformConfig
    from diarize.inference.sources import AudioSource
    from diarize.inference.window_model import WindowModel

__all__ = [
    "add_second_speakers",
    "clustered_posteriors",
    "overlap_voices",
    "second_speakers",
    "solo_windows",
    "stream_second_speakers",
    "window_local_speakers",
]


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
    """Speech from the network, speakers from clustering CAM++ windows of the whole file.

    Each chunk contributes the speech posterior of its own frames (the largest column) and one
    CAM++ embedding per window of solo speech (:func:`~diarize.inference.clustering.window_spans`
    over the runs of frames where one column, and only it, exceeds ``speech_threshold``: a
    window never straddles a change of column, which is often a change of speaker); the
    windows of the file are clustered at the end, and every frame is labelled by the
    embedding of its own short neighbourhood (:func:`~diarize.inference.clustering.resegment`;
    kept per frame as the chunks pass, 192 half floats per 80 ms, 17 MB an hour) or, with
    ``resegment_seconds`` 0, takes the label of the nearest window. The returned column ``s``
    holds the speech posterior on the frames labelled ``s``, so the post-processing
    thresholds keep their meaning. Where the segmentation network hears two people at once
    (``speech_source`` other than ``network``), the frame gets a second speaker: the nearest
    other speaker in time (:func:`~diarize.inference.voices.second_speakers`); the
    network's own second column was measured to add more false alarm than it recovers
    (README).
    """
    total = num_model_frames(source.num_samples)
    speech = np.zeros(total, dtype=np.float32)
    overlap = np.zeros(total, dtype=np.float32)
    spans: list[tuple[int, int]] = []
    vectors: list[np.ndarray] = []
    frame_width = round(config.resegment_seconds / FRAME_SHIFT)
    frame_vectors: np.ndarray | None = None  # (total, E) float16, when resegmenting
    local: list[list[tuple[Hashable, int]]] | None = []  # per window: its local speakers
    # the segmentation's local speakers over the whole file (total, slots, 3), for
    # overlap_voice_seconds only
    local_track: np.ndarray | None = None
    with torch.inference_mode():
        for number, window in enumerate(windows):
            audio = source.read(window.first_sample, window.last_sample)
            emb = model.embed(audio)
            probs = model.gate(model.probs(emb), audio)
            level, both, heard = model.speech(probs, audio)
            keep = slice(window.own_start - window.start, window.own_stop - window.start)
            own = probs[keep]
            speech[window.own_start : window.own_start + len(own)] = level[keep]
            overlap[window.own_start : window.own_start + len(own)] = both[keep]
            if heard is not None and config.overlap_voice_seconds > 0:
                if local_track is None:
                    local_track = np.full((total, *heard.shape[1:]), -1, dtype=np.int32)
                track = heard[keep].copy()
                track[..., 0] = np.where(track[..., 0] >= 0, track[..., 0] + number * WINDOWS, -1)
                local_track[window.own_start : window.own_start + len(own)] = track
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
            pooled = [model.campplus.embed_frames(emb[a:b][None])[0] for a, b in chunk_spans]
            vectors.extend(torch.stack(pooled).float().cpu().numpy())
            spans.extend((a + window.start, b + window.start) for a, b in chunk_spans)
            if heard is None:  # no segmentation network, or local speakers off
                local = None
            elif local is not None:  # a segmentation window is (chunk, window in the chunk)
                local.extend(window_local_speakers(heard, a, b, number) for a, b in chunk_spans)
    if not spans:  # no clean speech to recognise anyone by: one speaker, if any
        output = np.zeros((total, max(columns, 1)), dtype=np.float32)
        output[:, 0] = speech
        return output
    labels = cluster_windows(
        np.stack(vectors),
        config.cluster_threshold,
        config.min_cluster_windows,
        config.min_cluster_share,
        num_speakers,
        min_speakers,
        max_speakers,
        centering=config.centering,
        centered_threshold=config.centered_threshold,
        merge_threshold=config.merge_threshold,
        local=local,
        distinct=config.distinct_threshold,
    )
    if frame_vectors is not None and labels.max() > 0:
        frame_labels = resegment(
            frame_vectors,
            np.stack(vectors),
            labels,
            speech > config.speech_threshold,
            config.change_penalty,
            config.centering,
        )
    else:
        frame_labels = label_frames(spans, labels, total)
    output = np.zeros((total, max(columns, 1, int(labels.max()) + 1)), dtype=np.float32)
    output[np.arange(total), frame_labels] = speech
    limit = num_speakers if num_speakers is not None else max_speakers
    room = None if limit is None else max(0, limit - (int(labels.max()) + 1))
    return add_second_speakers(output, frame_labels, speech, overlap, config, local_track, room)


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


SECOND_SPEAKER_REACH = 25  # frames (2 s): how far the other speaker of an overlap is looked for


def stream_second_speakers(
    before: np.ndarray,
    path: np.ndarray,
    level: np.ndarray,
    overlap: np.ndarray,
    config: LongformConfig,
) -> np.ndarray:
    """A stream step's second speakers: :func:`add_second_speakers` over the step's frames
    ``path`` with the speakers of the final frames ``before`` them (what comes later is not
    heard yet).

    Shape:
        before (B,), path (T,), level (T,), overlap (T,) -> (T,) speakers or -1
    """
    labels = np.concatenate([before, path])
    flags = np.concatenate([np.zeros(len(before), dtype=bool), _overlapped(level, overlap, config)])
    return second_speakers(labels, flags, SECOND_SPEAKER_REACH)[len(before) :]


def second_speakers(labels: np.ndarray, overlapped: np.ndarray, reach: int = 25) -> np.ndarray:
    """For each overlapped frame, the speaker of the nearest frame (at most ``reach`` frames
    away, 2 s) labelled with someone else; -1 elsewhere or when there is none.

    In conversation most overlap is at a change of turn (one finishing, the next starting)
    or a short interjection, so the other voice is the one just before or after.

    Shape:
        labels (T,) ints (-1: nobody), overlapped (T,) bool -> (T,)
    """
    labels = np.asarray(labels)
    second = np.full(len(labels), -1, dtype=np.int64)
    for t in np.flatnonzero(overlapped):
        own = labels[t]
        for distance in range(1, reach + 1):
            found = [
                labels[u]
                for u in (t - distance, t + distance)
                if 0 <= u < len(labels) and labels[u] >= 0 and labels[u] != own
            ]
            if found:
                second[t] = found[0]
                break
    return second


def add_second_speakers(
    output: np.ndarray,
    frame_labels: np.ndarray,
    speech: np.ndarray,
    overlap: np.ndarray,
    config: LongformConfig,
    local_track: np.ndarray | None = None,
    room: int | None = None,
) -> np.ndarray:
    """``output`` with the second speaker of every overlapped speech frame: the nearest other
    speaker in time, else (with ``local_track`` and ``config.overlap_voice_seconds``) a voice
    heard only over another (:func:`overlap_voices`) in a column of its own, if it holds
    ``overlap_voice_seconds`` and, as a cluster must, ``min_cluster_share`` of the file's
    speech (capped as clusters are, ``MAX_MIN_SIZE`` windows; without it, long-form dev:
    counts right 4 -> 2 of 6). At most ``room`` such voices, the longest (None: no limit;
    count hints).

    Shape:
        output (T, S), frame_labels (T,), speech (T,), overlap (T,),
        local_track (T, slots, 3) or None -> (T, S')
    """
    overlapped = _overlapped(speech, overlap, config)
    second = second_speakers(frame_labels, overlapped, SECOND_SPEAKER_REACH)
    least = round(config.overlap_voice_seconds / FRAME_SHIFT)
    if local_track is not None and least > 0:
        # as clusters do: a voice needs its share of the file's speech, at most what
        # MAX_MIN_SIZE windows hold (19.2 s)
        spoken = int((speech > config.speech_threshold).sum())
        cap = round(MAX_MIN_SIZE * config.hop_seconds / FRAME_SHIFT)
        least = max(least, min(int(config.min_cluster_share * spoken), cap))
        voices = overlap_voices(frame_labels, overlapped & (second < 0), local_track, least, room)
        second = np.where(voices >= 0, voices, second)
    has_second = second >= 0
    if has_second.any() and second.max() >= output.shape[1]:
        grown = np.zeros((len(output), int(second.max()) + 1), dtype=output.dtype)
        grown[:, : output.shape[1]] = output
        output = grown
    output[np.flatnonzero(has_second), second[has_second]] = speech[has_second]
    return output


MIN_NAMED_FRAMES = 3  # solo frames with one of our labels that name a local speaker
OVERLAP_VOICE_WINDOWS = 2  # windows that must hear a frame's unnamed voice (dev: 78 -> 82%
# of counts right against one window, the same DER)


def overlap_voices(
    labels: np.ndarray,
    overlapped: np.ndarray,
    track: np.ndarray,
    least: int,
    room: int | None = None,
) -> np.ndarray:
    """Voices heard only while someone else talks: per frame, a new speaker (numbered after
    ``labels``) or -1.

    Clustering knows a voice only by its solo speech, so someone who talks over another for
    most of a meeting excerpt is never found, and the nearest-other-speaker rule has nobody to
    give those frames (real AMI excerpts: 13 s of one voice, all of it overlapped). Within
    each 10-s window segmentation-3.0 tells up to three local speakers apart and hears which
    two talk at once. A local speaker is named by the label most of its solo frames carry (at
    least ``MIN_NAMED_FRAMES``). On an ``overlapped`` frame whose pair of local speakers holds
    one unnamed speaker and no named one besides the frame's own, the unnamed one is a voice
    heard only in overlap. A frame counts when ``OVERLAP_VOICE_WINDOWS`` of the windows
    covering it hear so (segmentation-3.0's pairs are right on real meetings, 94% of frames
    on AMI excerpts, but on simulated mixes a single window's are mostly wrong); the unnamed
    speakers of the windows heard at one frame are one voice, and a voice heard on at least
    ``least`` frames becomes a speaker (at most ``room`` of them, the longest heard).

    Shape:
        labels (T,), overlapped (T,), track (T, slots, 3): window, local speaker, pair -> (T,)
    """
    from diarize.models.segmentation import PAIRS

    size = int(labels.max()) + 1 if len(labels) else 0
    votes: dict[tuple[int, int], np.ndarray] = {}
    frames, slots = np.nonzero((track[..., 1] >= 0) & (labels >= 0)[:, None])
    for t, slot in zip(frames, slots, strict=True):
        key = (int(track[t, slot, 0]), int(track[t, slot, 1]))
        votes.setdefault(key, np.zeros(size, dtype=np.int64))[labels[t]] += 1
    names = {key: int(c.argmax()) for key, c in votes.items() if c.max() >= MIN_NAMED_FRAMES}
    unnamed: dict[int, list[tuple[int, int]]] = {}  # frame -> its unnamed local speakers
    for t in np.flatnonzero(overlapped & (labels >= 0)):
        for window, _, pair in track[t]:
            if window < 0 or pair < 0:
                continue
            keys = [(int(window), k) for k in PAIRS[pair]]
            missing = [key for key in keys if key not in names]
            others = {names[key] for key in keys if key in names} - {int(labels[t])}
            if len(missing) == 1 and not others:
                unnamed.setdefault(int(t), []).append(missing[0])
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(key: tuple[int, int]) -> tuple[int, int]:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    unnamed = {t: keys for t, keys in unnamed.items() if len(keys) >= OVERLAP_VOICE_WINDOWS}
    for keys in unnamed.values():  # one frame, two windows: one voice
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
    heard: dict[tuple[int, int], list[int]] = {}
    for t, keys in unnamed.items():
        heard.setdefault(root(keys[0]), []).append(t)
    second = np.full(len(labels), -1, dtype=np.int64)
    kept = [frames_of for frames_of in heard.values() if len(frames_of) >= least]
    if room is not None and len(kept) > room:
        longest = sorted(range(len(kept)), key=lambda i: -len(kept[i]))[:room]
        kept = [kept[i] for i in sorted(longest)]
    for fresh, voice_frames in enumerate(kept, start=size):
        second[voice_frames] = fresh
    return second


def _overlapped(speech: np.ndarray, overlap: np.ndarray, config: LongformConfig) -> np.ndarray:
    """Speech frames the segmentation network hears two people in. Shape: (T,), (T,) -> (T,)"""
    return (overlap > config.overlap_threshold) & (speech > config.speech_threshold)


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
    width = max(1, round(config.window_seconds / FRAME_SHIFT))
    hop = max(1, round(config.hop_seconds / FRAME_SHIFT))
    least = max(1, round(config.min_embed_seconds / FRAME_SHIFT))

    def spans(solo: np.ndarray, columns: np.ndarray) -> list[tuple[int, int]]:
        return [  # per column: a window never spans a change of column
            (a, b)
            for k in range(columns.shape[1])
            for a, b in window_spans(solo & columns[:, k], width, hop, least)
            if own[0] <= (a + b - 1) // 2 < own[1]
        ]

    active = probs > config.speech_threshold
    found = spans((active.sum(1) == 1) & (level > config.speech_threshold), active)
    if config.solo_fallback <= 0 or heard is None:
        return found
    single = (level > config.speech_threshold) & (overlap < config.overlap_threshold)
    single &= ~_local_change(heard)
    strongest = probs.argmax(1)[:, None] == np.arange(probs.shape[1])[None]
    fallback = spans(single, strongest)
    return fallback if len(found) < config.solo_fallback * len(fallback) else found


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
