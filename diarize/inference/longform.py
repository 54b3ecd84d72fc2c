"""Long audio in bounded memory: fixed chunks plus an arrival-order speaker cache.

A file is cut into ``n`` equal chunks of at most ``chunk_seconds`` (80 ms frame aligned). For
each chunk the audio (with a little context on both sides) is read from disk, turned into
features and pre-encoder embeddings, and the network runs on ``[cache ; chunk]``, where the
cache holds embeddings of the speakers heard so far, grouped speaker by speaker in the order
they arrived. SortFormer numbers its output columns by arrival, so a speaker that owns the
first cache block keeps column 0 in every chunk, and so on: this is what keeps labels stable
across a multi-hour file (the streaming Sortformer idea, NeMo's "AOSC").

The model is not perfect, so the columns are not trusted blindly: the predictions on the cache
rows are matched (Hungarian, on agreement) against the speaker each cached frame belongs to,
and chunk columns are renamed to those global speakers. Global speakers are cache slots: at
most ``max_speakers`` per file.

Memory per file is one chunk of audio and tensors plus the ``(frames, speakers)`` output, a
few hundred kB per hour. Files no longer than one chunk run in a single pass, which is the
offline forward pass exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from diarize.audio.features import HOP_LENGTH, SUBSAMPLING, num_model_frames
from diarize.audio.io import REFERENCE_RMS, SAMPLE_RATE, scale_to_rms
from diarize.errors import DiarizeError
from diarize.inference.sources import ArraySource, AudioSource, FileSource

SAMPLES_PER_FRAME = HOP_LENGTH * SUBSAMPLING  # 1280 samples = 80 ms
__all__ = [
    "ArraySource",
    "AudioSource",
    "FileSource",
    "LongformConfig",
    "SpeakerCache",
    "batch_posteriors",
    "chunk_windows",
    "longform_posteriors",
]


@dataclass(frozen=True)
class LongformConfig:
    """How long audio is cut and how much of the past is remembered.

    Attributes:
        chunk_seconds: longest chunk; with the cache the network sees about
            ``chunk_seconds + cache_frames * 0.08`` seconds. Longer chunks mean fewer speaker
            hand-overs through the cache and more context, at attention cost quadratic in the
            chunk: 120 s was chosen on the long dev set (6 x 600 s, bundled model, 0.5
            threshold): DER 30.0 / 27.4 / 26.0 / 25.8 / 25.4% at 30 / 75 / 120 / 180 / 240 s,
            24.6% with each file in one pass (no cache).
        context_seconds: audio read on each side of a chunk so that its edge frames see
            their neighbours (the context's predictions are discarded).
        cache_frames: total size of the speaker cache, in 80 ms frames.
        min_audio_seconds: shorter audio gets no speakers (too short to diarize reliably).
        silence_floor_db: 80 ms frames whose RMS lies below this level (dBFS) get zero
            posteriors: digital silence holds no speech whatever the model says. None: off.
        level_rms: each chunk is scaled to this RMS before the network sees it, as training
            windows are (``diarize.audio.io.REFERENCE_RMS``). None: leave the level alone.
    """

    chunk_seconds: float = 120.0
    context_seconds: float = 0.64
    cache_frames: int = 188
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
        if self.context_seconds < 0 or self.cache_frames < 0:
            raise DiarizeError("context_seconds and cache_frames must be >= 0")


def longform_posteriors(
    network: torch.nn.Module,
    source: AudioSource,
    config: LongformConfig | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
) -> np.ndarray:
    """Speaker posteriors of a whole recording, chunk by chunk, with a speaker cache.

    Args:
        network: a SortFormer network in eval mode (``features``, ``embed``,
            ``forward_embeddings``, ``max_speakers``).
        source: the audio.
        config: chunking and cache sizes.
        device: where the network lives.
        bf16: run the network under bfloat16 autocast (CUDA).

    Returns:
        Posteriors, one row per 80 ms frame (``num_model_frames(source.num_samples)`` rows),
        columns = global speakers in order of arrival.

    Shape:
        (num_samples,) -> (T, max_speakers)
    """
    config = config or LongformConfig()
    max_speakers = int(network.max_speakers)
    output = np.zeros((num_model_frames(source.num_samples), max_speakers), dtype=np.float32)
    if len(output) == 0 or source.num_samples < config.min_audio_seconds * SAMPLE_RATE:
        return output

    cache = SpeakerCache(max_speakers, config.cache_frames)
    runner = _Runner(network, device, bf16)
    with torch.inference_mode():
        for window in chunk_windows(source.num_samples, config):
            audio = source.read(window.first_sample, window.last_sample)
            embeddings = runner.embed(_level(audio, config.level_rms))  # (frames, D)
            core = embeddings[window.left : window.left + window.stop - window.start]
            probs = runner.probs(torch.cat([cache.embeddings(embeddings), embeddings]))
            first = cache.size + window.left
            cache_probs, core_probs = probs[: cache.size], probs[first : first + len(core)]
            order = cache.match(cache_probs)
            cache_probs, core_probs = cache_probs[:, order], core_probs[:, order]
            if config.silence_floor_db is not None:
                gate = _silent_frames(audio, config.silence_floor_db)[window.left :]
                core_probs[gate[: len(core_probs)]] = 0.0
            output[window.start : window.start + len(core_probs)] = core_probs
            cache.update(core, cache_probs, core_probs)
    return output


@dataclass(frozen=True)
class ChunkWindow:
    """Model frames ``[start, stop)`` of one chunk, read with ``left``/``right`` context frames
    as samples ``[first_sample, last_sample)``."""

    start: int
    stop: int
    left: int
    right: int
    first_sample: int
    last_sample: int


def chunk_windows(num_samples: int, config: LongformConfig) -> list[ChunkWindow]:
    """Cut ``num_samples`` of audio into equal frame-aligned chunks (no tiny last chunk).

    A single chunk has no context: it is the whole file, as in the offline forward pass.
    """
    total_frames = num_model_frames(num_samples)
    if total_frames == 0:
        return []
    longest = max(1, int(config.chunk_seconds * SAMPLE_RATE) // SAMPLES_PER_FRAME)
    num_chunks = math.ceil(total_frames / longest)
    context = int(round(config.context_seconds * SAMPLE_RATE / SAMPLES_PER_FRAME))
    if num_chunks == 1:
        context = 0
    windows = []
    bounds = [i * total_frames // num_chunks for i in range(num_chunks + 1)]
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        left, right = min(context, start), min(context, total_frames - stop)
        windows.append(
            ChunkWindow(
                start=start,
                stop=stop,
                left=left,
                right=right,
                first_sample=(start - left) * SAMPLES_PER_FRAME,
                last_sample=num_samples
                if stop + right == total_frames
                else (stop + right) * SAMPLES_PER_FRAME,
            )
        )
    return windows


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
            gate = _silent_frames(audios[i], config.silence_floor_db)[: len(outputs[i])]
            outputs[i][: len(gate)][gate] = 0.0
    return outputs


class SpeakerCache:
    """Pre-encoder embeddings of the speakers heard so far, speaker-major in arrival order.

    ``labels[i]`` is the global speaker of cached frame ``i`` (-1: no confident speaker).
    """

    def __init__(self, max_speakers: int, budget: int) -> None:
        self.max_speakers = max_speakers
        self.budget = budget
        self._embeddings: torch.Tensor | None = None
        self.labels = np.zeros(0, dtype=np.int64)

    @property
    def size(self) -> int:
        return len(self.labels)

    def embeddings(self, like: torch.Tensor) -> torch.Tensor:
        """The cached embeddings, or an empty ``(0, D)`` tensor shaped like ``like``.

        Shape:
            (S, D)
        """
        if self._embeddings is None:
            return like[:0]
        return self._embeddings

    def match(self, cache_probs: np.ndarray) -> np.ndarray:
        """Column order that puts each known global speaker in its own column.

        ``order[g]`` is the network column that carries global speaker ``g``: known speakers get
        the column that agrees best with their cached frames (Hungarian); the other columns keep
        their arrival order and fill the free global slots.

        Shape:
            (S, K) -> (K,)
        """
        from scipy.optimize import linear_sum_assignment

        known = sorted({int(g) for g in self.labels if g >= 0})
        order = np.full(self.max_speakers, -1, dtype=np.int64)
        if known:
            agreement = np.stack([cache_probs[self.labels == g].mean(axis=0) for g in known])
            rows, cols = linear_sum_assignment(agreement, maximize=True)
            for row, col in zip(rows, cols, strict=True):
                order[known[row]] = col
        free_columns = [k for k in range(self.max_speakers) if k not in set(order.tolist())]
        free_slots = [g for g in range(self.max_speakers) if order[g] < 0]
        for slot, column in zip(free_slots, free_columns, strict=True):
            order[slot] = column
        return order

    def update(self, core: torch.Tensor, cache_probs: np.ndarray, core_probs: np.ndarray) -> None:
        """Keep the ``budget`` most telling frames of ``[cache ; chunk]``, speaker by speaker.

        Args:
            core: the chunk's embeddings (context excluded).
            cache_probs: this step's predictions on the cache rows, global speaker order.
            core_probs: the chunk's predictions, global speaker order.

        Shape:
            core (C, D), cache_probs (S, K), core_probs (C, K)
        """
        from diarize.models.speaker_cache import select_cache_frames

        if self.budget == 0:
            return
        candidates = torch.cat([self.embeddings(core), core])
        probs = np.concatenate([cache_probs, core_probs]).astype(np.float32)
        chosen = np.asarray(select_cache_frames(probs, self.budget), dtype=np.int64)
        labels = np.where(probs[chosen].max(axis=1) > 0.5, probs[chosen].argmax(axis=1), -1)
        # speaker-major (arrival = global order), then time; unconfident frames go last
        order = np.lexsort((chosen, np.where(labels >= 0, labels, self.max_speakers)))
        chosen, self.labels = chosen[order], labels[order].astype(np.int64)
        self._embeddings = candidates[torch.from_numpy(chosen).to(candidates.device)]


class _Runner:
    """The network calls of one chunk, under inference mode and optional bf16 autocast."""

    def __init__(self, network: torch.nn.Module, device: str | torch.device, bf16: bool):
        self.network, self.device, self.bf16 = network, torch.device(device), bf16

    def embed(self, audio: np.ndarray) -> torch.Tensor:
        """Shape: (num_samples,) -> (frames, D)"""
        signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        lengths = torch.tensor([signal.shape[1]])
        with torch.inference_mode(), _autocast(self.device, self.bf16):
            feats, feat_lengths = self.network.features(
                signal.to(self.device), lengths.to(self.device)
            )
            embeddings, emb_lengths = self.network.embed(feats, feat_lengths)
        return embeddings[0, : int(emb_lengths[0])]

    def probs(self, embeddings: torch.Tensor) -> np.ndarray:
        """Shape: (frames, D) -> (frames, K)"""
        lengths = torch.tensor([embeddings.shape[0]], device=embeddings.device)
        with torch.inference_mode(), _autocast(self.device, self.bf16):
            probs = self.network.forward_embeddings(embeddings[None], lengths)
        return probs[0].float().cpu().numpy()


def _autocast(device: torch.device | str, bf16: bool):
    device = torch.device(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


def _level(audio: np.ndarray, target_rms: float | None) -> np.ndarray:
    """``audio`` scaled to ``target_rms`` (a copy; silence and None leave it as it is)."""
    return audio if target_rms is None else scale_to_rms(audio, target_rms)


def _silent_frames(audio: np.ndarray, floor_db: float) -> np.ndarray:
    """True for each 80 ms frame whose RMS is below ``floor_db`` dBFS (the last may be partial).

    Shape:
        (num_samples,) -> (ceil(num_samples / 1280),) bool
    """
    frames = math.ceil(len(audio) / SAMPLES_PER_FRAME)
    padded = np.zeros(frames * SAMPLES_PER_FRAME, dtype=np.float32)
    padded[: len(audio)] = audio
    power = np.square(padded.reshape(frames, SAMPLES_PER_FRAME), dtype=np.float64).mean(axis=1)
    return power < 10.0 ** (floor_db / 10.0)
