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
from pathlib import Path

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, num_model_frames
from diarize.audio.io import REFERENCE_RMS, SAMPLE_RATE
from diarize.errors import DiarizeError
from diarize.inference.linking import agreement, cluster_chunk_speakers
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
class LongformConfig:
    """How long audio is cut into chunks and how chunk speakers are linked.

    Attributes:
        chunk_seconds: longest chunk the network sees at once. Longer chunks give the network
            more context and fewer hand-overs, at attention cost quadratic in the chunk (the
            bundled model was trained on 90 s windows).
        overlap_seconds: audio shared by neighbouring chunks; speakers active on the same
            overlap frames are linked (continuity), and each chunk labels the frames up to
            the middle of the overlap, so no frame is labelled at a chunk's edge. At most half
            a chunk is used.
        link_threshold: least cosine similarity of two chunk speakers' embeddings for them to
            be one file speaker (also the streaming match to a running centroid).
        continuity_threshold: least agreement (soft Dice) of two columns' activities on the
            overlap for them to be one speaker.
        min_embed_seconds: a column with less solo speech than this in a chunk gets no
            embedding of its own (it is linked by continuity only).
        cache_frames: accepted so that settings files of the arrival-order speaker cache still
            load; ignored (linking by speaker embeddings replaced the cache, issue 12).
        identity: ``clustering`` (with the CAM++ front end): the network says when someone
            speaks, and clustering CAM++ embeddings of short solo-speech windows of the whole
            file says who (:mod:`diarize.inference.clustering`); ``linking``: the network's
            chunk columns are linked (:mod:`diarize.inference.linking`). Networks without
            CAM++ always link.
        cluster_threshold: least average cosine similarity of two clusters of windows to be
            one speaker (on the raw embeddings: the pass that decides whether a recording
            holds more than one voice).
        centering, centered_threshold: when there is more than one voice, ``centering`` times
            the recording's mean window embedding (what its voices share: room, microphone,
            codec) is taken off every window, and the windows are clustered again, merging
            down to ``centered_threshold`` (:func:`~diarize.inference.clustering.cluster_windows`).
            0: off.
        merge_threshold: with ``centering``: the centred pass runs on every recording, and
            its clusters whose raw centroids are at least this similar (cosine) are one voice;
            ``cluster_threshold`` then only links voices when streaming. None: the raw first
            pass at ``cluster_threshold`` decides whether the centred pass runs.
        distinct_threshold: with clustering, a cluster of two windows or more below the size
            floors (``min_cluster_windows``, ``min_cluster_share``) stays a speaker when its
            centroid's cosine similarity to the cluster it would join is below this (in the
            centred space). None: small clusters always join.
        speech_source: where a frame's speech probability comes from, with clustering:
            ``network`` (its largest column), ``segmentation`` (pyannote's segmentation-3.0,
            trained on real recordings, when the model file carries it:
            ``scripts/fold_segmentation.py``) or ``min`` of both. The columns still give the
            solo-speech windows that are clustered.
        segmentation_hop_seconds: the segmentation network's 10-s windows start this far
            apart (overlapping windows are averaged; 10: no overlap, half the cost).
        local_speakers: with the segmentation network and ``merge_threshold``, two clusters
            that its 10-s windows hear as different people are not merged, and a small
            cluster (two windows or more) it tells apart from the one it would join stays.
        overlap_threshold: with the segmentation network, a speech frame whose probability
            of two speakers exceeds this also gets a second speaker
            (:func:`~diarize.inference.overlap.second_speakers`).
        overlap_name_threshold: with the segmentation network and ``local_speakers``, an
            overlapped frame with no other speaker within 2 s whose probability of two
            speakers exceeds this gets the other speaker that segmentation-3.0's pair of
            local speakers names (:func:`~diarize.inference.overlap.named_pair_speakers`).
            None: off.
        overlap_voice_seconds: with the segmentation network and ``local_speakers``, a
            voice that its 10-s windows hear only over someone else, on at least this many
            seconds of overlapped frames that have no other second speaker (and on at least
            ``min_cluster_share`` of the file's speech, at most 19.2 s), becomes a speaker of
            its own (:func:`~diarize.inference.overlap.overlap_voices`). 0: off.
        channel_gap_db: a two-channel recording whose louder channel leads the other by at
            least this (dB) on the median speech frame, each leading on ``min_cluster_share``
            of the speech (by half this on its median frame), is a call recorded per leg: each
            channel is a speaker, and every frame's speaker is its louder channel
            (:mod:`~diarize.inference.channels`). None: voices are clustered on every file.
        channel_overlap_db: on a call recorded per leg, the leg that does not lead a speech
            frame talks too when it is at least this louder (dB) than its usual echo of the
            other leg, and near its own speech level
            (:func:`~diarize.inference.channels.other_leg_talks`); None: overlap from the
            segmentation network, as on any file.
        solo_fallback: with the segmentation network, a chunk whose network columns give
            fewer than this times the windows that segmentation-3.0's one-speaker frames give
            takes its windows from those frames instead
            (:func:`~diarize.inference.voices.solo_windows`). 0: off.
        stream_centering, stream_link_threshold: streaming with CAM++: a window of solo speech
            is compared with the speakers' running centroids after this share of the mean of
            every window linked so far is taken off both, and joins the most similar at
            ``stream_link_threshold`` or more (None: ``cluster_threshold``)
            (:class:`~diarize.inference.window_linker.WindowLinker`). ``stream_shared`` is
            accepted so that older settings files load, and ignored (columns are no longer
            linked by voice).
        window_seconds, hop_seconds: the clustered windows' length and spacing.
        speech_threshold: a frame is speech when a column's posterior exceeds this, and solo
            speech (used for windows) when exactly one does.
        min_cluster_windows, min_cluster_share: a cluster with fewer windows, or a smaller
            share of the file's windows (capped at about 20 s of speech), joins the nearest
            larger one (another only when at least the pass's threshold alike to it, when the
            nearest is barred: ``distinct_threshold``, ``local_speakers``); the small ones
            that join none merge with each other when that alike.
        resegment_seconds, change_penalty: with clustering, every speech frame is labelled
            by the embedding of the ``resegment_seconds`` around it, compared with the
            speakers' centroids along a Viterbi path that pays ``change_penalty`` (cosine
            similarity) per change of speaker
            (:func:`~diarize.inference.frame_labels.resegment`). 0: off, every frame takes the
            label of the nearest clustered window.
        resegment_iterations: times the speakers' centroids are made again from the speech
            frames the path gave them, and the path found again (0: from the windows only;
            measured: 90-s files gain, 10-minute files lose).
        min_audio_seconds: shorter audio gets no speakers (too short to diarize reliably).
        silence_floor_db: 80 ms frames whose RMS lies below this level (dBFS) get zero
            posteriors: digital silence holds no speech whatever the model says. Judged on the
            audio scaled to ``level_rms`` (as the network hears it), so a quiet recording is
            not taken for silence (a conversation at -63 dBFS: DER 86.8% -> 10.1%). None: off.
        level_rms: each chunk is scaled to this RMS before the network sees it, as training
            windows are (``diarize.audio.io.REFERENCE_RMS``). None: leave the level alone.
    """

    chunk_seconds: float = 90.0
    overlap_seconds: float = 15.0
    link_threshold: float = 0.5
    continuity_threshold: float = 0.5
    min_embed_seconds: float = 0.5
    cache_frames: int = 0
    identity: str = "clustering"
    cluster_threshold: float = 0.4
    centering: float = 0.5
    centered_threshold: float = 0.25
    merge_threshold: float | None = None
    distinct_threshold: float | None = None
    speech_source: str = "network"
    segmentation_hop_seconds: float = 5.0
    overlap_threshold: float = 0.5
    overlap_name_threshold: float | None = None
    channel_gap_db: float | None = None
    channel_overlap_db: float | None = None
    solo_fallback: float = 0.0
    local_speakers: bool = True
    stream_centering: float = 0.0
    stream_shared: bool = False
    stream_link_threshold: float | None = None
    overlap_voice_seconds: float = 0.0
    window_seconds: float = 2.0
    hop_seconds: float = 0.64
    speech_threshold: float = 0.4
    min_cluster_windows: int = 6
    min_cluster_share: float = 0.02
    resegment_seconds: float = 0.4
    change_penalty: float = 0.5
    resegment_iterations: int = 0
    min_audio_seconds: float = 1.0
    silence_floor_db: float | None = -80.0
    level_rms: float | None = REFERENCE_RMS

    @classmethod
    def from_yaml(cls, path: str | Path) -> LongformConfig:
        """Read the settings from a YAML mapping (a ``longform:`` block or the top level);
        keys left out keep their defaults.

        Raises:
            DiarizeError: one line naming the file: missing, malformed YAML (with its line),
                an unknown key or a bad value.
        """
        from diarize.config import load_config, to_object

        return to_object(load_config(cls, [path], section="longform"), str(path))

    def __post_init__(self) -> None:
        if self.chunk_seconds < 1.0:
            raise DiarizeError(f"chunk_seconds must be >= 1, got {self.chunk_seconds}")
        if min(self.overlap_seconds, self.min_embed_seconds, self.cache_frames) < 0:
            raise DiarizeError("overlap_seconds, min_embed_seconds and cache_frames must be >= 0")
        if self.identity not in ("clustering", "linking"):
            raise DiarizeError(f"identity must be clustering or linking, got {self.identity!r}")
        if self.speech_source not in ("network", "segmentation", "min"):
            raise DiarizeError(
                f"speech_source must be network, segmentation or min, got {self.speech_source!r}"
            )
        if min(self.window_seconds, self.hop_seconds) < FRAME_SHIFT:
            raise DiarizeError("window_seconds and hop_seconds must be >= 0.08")
        if min(self.resegment_seconds, self.change_penalty, self.resegment_iterations) < 0:
            raise DiarizeError(
                "resegment_seconds, change_penalty and resegment_iterations must be >= 0"
            )


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
