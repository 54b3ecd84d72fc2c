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

from diarize.audio.features import FRAME_SHIFT, HOP_LENGTH, SUBSAMPLING, num_model_frames
from diarize.audio.io import REFERENCE_RMS, SAMPLE_RATE, scale_to_rms
from diarize.errors import DiarizeError
from diarize.inference.linking import agreement, cluster_chunk_speakers, solo_weights
from diarize.inference.sources import ArraySource, AudioSource, FileSource

SAMPLES_PER_FRAME = HOP_LENGTH * SUBSAMPLING  # 1280 samples = 80 ms
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
        min_audio_seconds: shorter audio gets no speakers (too short to diarize reliably).
        silence_floor_db: 80 ms frames whose RMS lies below this level (dBFS) get zero
            posteriors: digital silence holds no speech whatever the model says. None: off.
        level_rms: each chunk is scaled to this RMS before the network sees it, as training
            windows are (``diarize.audio.io.REFERENCE_RMS``). None: leave the level alone.
    """

    chunk_seconds: float = 90.0
    overlap_seconds: float = 15.0
    link_threshold: float = 0.5
    continuity_threshold: float = 0.5
    min_embed_seconds: float = 0.5
    cache_frames: int = 0
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


class WindowModel:
    """The network calls on one window of audio, shared by the offline and streaming paths.

    Args:
        network: a SortFormer network in eval mode.
        config: level, silence gate and embedding settings.
        device: where the network lives.
        bf16: bfloat16 autocast.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        config: LongformConfig,
        device: str | torch.device = "cpu",
        bf16: bool = False,
    ) -> None:
        self.network, self.config = network, config
        self.device, self.bf16 = torch.device(device), bf16
        # the CAM++ module of the pretrained front end pools speaker embeddings
        front_end = getattr(network, "campplus", None)
        self.campplus = getattr(front_end, "campplus", None)

    def embed(self, audio: np.ndarray, level: bool = True) -> torch.Tensor:
        """Frame embeddings of a window (scaled to ``config.level_rms`` first when ``level``).

        Shape:
            (num_samples,) -> (frames, D)
        """
        if level and self.config.level_rms is not None:
            audio = scale_to_rms(audio, self.config.level_rms)
        signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        lengths = torch.tensor([signal.shape[1]])
        with torch.inference_mode(), _autocast(self.device, self.bf16):
            embeddings, emb_lengths = self.network.embed_audio(
                signal.to(self.device), lengths.to(self.device)
            )
        return embeddings[0, : int(emb_lengths[0])].float()

    def probs(self, embeddings: torch.Tensor) -> np.ndarray:
        """Shape: (frames, D) -> (frames, K)"""
        lengths = torch.tensor([embeddings.shape[0]], device=embeddings.device)
        with torch.inference_mode(), _autocast(self.device, self.bf16):
            probs = self.network.forward_embeddings(embeddings[None], lengths)
        return probs[0].float().cpu().numpy()

    def gate(self, probs: np.ndarray, audio: np.ndarray) -> np.ndarray:
        """``probs`` with digitally silent frames zeroed (``config.silence_floor_db``).

        Shape:
            probs (T, K), audio (num_samples,) -> (T, K)
        """
        if self.config.silence_floor_db is None:
            return probs
        gate = silent_frames(audio, self.config.silence_floor_db)[: len(probs)]
        probs = probs.copy()
        probs[: len(gate)][gate] = 0.0
        return probs

    def speakers(
        self, embeddings: torch.Tensor, probs: np.ndarray, weights_rows: slice | None = None
    ) -> tuple[list[np.ndarray | None], np.ndarray]:
        """One speaker embedding per column, pooled from the frames where it speaks alone.

        With the CAM++ front end the frames are pooled by CAM++'s own statistics pooling and
        embedding layer (``embed_frames``), which gives real speaker embeddings; otherwise the
        solo-weighted mean of the frame embeddings minus the window's mean frame (a weaker
        fallback: the linking then leans on continuity). A column with less than
        ``min_embed_seconds`` of solo speech (falling back to all its speech) gets None.

        Returns:
            Per column the embedding or None, and the seconds of solo speech behind it (only
            the rows ``weights_rows`` counted, when given).

        Shape:
            embeddings (T, D), probs (T, K) -> K x (E,) or None, (K,)
        """
        solo = solo_weights(probs)
        least = self.config.min_embed_seconds / FRAME_SHIFT
        weights = solo.copy()
        for k in range(probs.shape[1]):
            if solo[:, k].sum() < least:  # no clean solo speech: use all of its speech
                weights[:, k] = np.where(probs[:, k] > 0.5, probs[:, k], 0.0)
        usable = [k for k in range(probs.shape[1]) if weights[:, k].sum() >= max(least, 1e-6)]
        counted = weights if weights_rows is None else weights[weights_rows]
        masses = counted.sum(0).astype(np.float64) * FRAME_SHIFT
        vectors: list[np.ndarray | None] = [None] * probs.shape[1]
        if not usable:
            return vectors, masses
        w = torch.from_numpy(weights[:, usable].T.copy()).to(embeddings)  # (n, T)
        with torch.inference_mode():
            if self.campplus is not None:
                trunk = embeddings[None].expand(len(usable), *embeddings.shape)
                pooled = self.campplus.embed_frames(trunk, w)
            else:
                mean = (w[..., None] * embeddings[None]).sum(1) / w.sum(1, keepdim=True)
                pooled = mean - embeddings.mean(0, keepdim=True)
        pooled = pooled.float().cpu().numpy().astype(np.float64)
        for row, k in enumerate(usable):
            vectors[k] = pooled[row]
        return vectors, masses


def batch_posteriors(
    network: torch.nn.Module,
    audios: list[np.ndarray],
    config: LongformConfig | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
) -> list[np.ndarray]:
    """Posteriors of several short signals (each at most one chunk) in one padded batch.

    Shape:
        list of (num_samples,) -> list of (T, max_speakers)
    """
    config = config or LongformConfig()
    max_speakers = int(network.max_speakers)
    outputs = [np.zeros((num_model_frames(len(a)), max_speakers), np.float32) for a in audios]
    todo = [i for i, a in enumerate(audios) if len(a) >= config.min_audio_seconds * SAMPLE_RATE]
    if not todo:
        return outputs
    longest = max(len(audios[i]) for i in todo)
    batch = np.zeros((len(todo), longest), dtype=np.float32)
    for row, i in enumerate(todo):
        batch[row, : len(audios[i])] = _level(audios[i], config.level_rms)
    lengths = torch.tensor([len(audios[i]) for i in todo])
    with torch.inference_mode(), _autocast(device, bf16):
        probs, frame_lengths = network(torch.from_numpy(batch).to(device), lengths.to(device))
    probs = probs.float().cpu().numpy()
    for row, i in enumerate(todo):
        frames = min(int(frame_lengths[row]), len(outputs[i]))
        outputs[i][:frames] = probs[row, :frames]
        if config.silence_floor_db is not None:
            gate = silent_frames(audios[i], config.silence_floor_db)[: len(outputs[i])]
            outputs[i][: len(gate)][gate] = 0.0
    return outputs


def _autocast(device: torch.device | str, bf16: bool):
    device = torch.device(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


def _level(audio: np.ndarray, target_rms: float | None) -> np.ndarray:
    """``audio`` scaled to ``target_rms`` (a copy; silence and None leave it as it is)."""
    return audio if target_rms is None else scale_to_rms(audio, target_rms)


def silent_frames(audio: np.ndarray, floor_db: float) -> np.ndarray:
    """True for each 80 ms frame whose RMS is below ``floor_db`` dBFS (the last may be partial).

    Shape:
        (num_samples,) -> (ceil(num_samples / 1280),) bool
    """
    frames = math.ceil(len(audio) / SAMPLES_PER_FRAME)
    padded = np.zeros(frames * SAMPLES_PER_FRAME, dtype=np.float32)
    padded[: len(audio)] = audio
    power = np.square(padded.reshape(frames, SAMPLES_PER_FRAME), dtype=np.float64).mean(axis=1)
    return power < 10.0 ** (floor_db / 10.0)
