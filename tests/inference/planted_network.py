"""A controllable stand-in for the SortFormer network, for exact tests of linking.

Audio is a sequence of 80 ms frames, each holding one constant sample value that encodes the
set of *tokens* speaking in it (a bit mask / 1024). A token has a voice (the speaker embedding
the fake CAM++ pools) and an activity id (the network column it is reported in): a token whose
activity id is another speaker's is that speaker *folded into* the other's column, as the real
network sometimes does. The fake network reports each activity id present in its input as a
column, in order of arrival within the input (at most ``max_speakers``), with probability 0.95
(0.02 elsewhere): a perfect network, whose only limits are the ones we plant.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from diarize.models.campplus import CAMPPlus

FRAME = 1280
SCALE = 1024.0
ACTIVITY_SCALE = 0.01  # small, so that pooled embeddings are the voices


class _Pooler(nn.Module):
    """Plays CAM++'s ``embed_frames``: the weighted mean of the voice part of the frames."""

    def __init__(self, voice_dim: int) -> None:
        super().__init__()
        self.voice_dim = voice_dim

    def embed_frames(
        self, trunk: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        if weights is None:
            weights = torch.ones(trunk.shape[:2])
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-8)
        return (trunk[..., : self.voice_dim] * weights[..., None]).sum(1)

    embed_spans = CAMPPlus.embed_spans  # CAM++'s own: this embed_frames on each span

    def embed_sliding(self, trunk: torch.Tensor, width: int) -> torch.Tensor:
        """Plays CAM++'s ``embed_sliding``: the mean voice of the ``width`` frames around each."""
        count = trunk.shape[0]
        first = torch.arange(count) - width // 2
        start, stop = first.clamp_min(0), (first + width).clamp_max(count)
        sums = torch.cat([trunk.new_zeros(1, self.voice_dim), trunk[:, : self.voice_dim].cumsum(0)])
        return (sums[stop] - sums[start]) / (stop - start).unsqueeze(1)


class _FrontEnd(nn.Module):
    def __init__(self, voice_dim: int) -> None:
        super().__init__()
        self.campplus = _Pooler(voice_dim)


class PlantedNetwork(nn.Module):
    """Args:
    tokens: per token ``(voice, activity_id)``.
    num_voices, num_activities: sizes of the two vocabularies.
    max_speakers: output columns K.
    with_pooler: expose a CAM++-like pooler (else the engine's fallback pooling is used).
    """

    def __init__(
        self,
        tokens: list[tuple[int, int]],
        num_voices: int,
        num_activities: int,
        max_speakers: int = 4,
        voice_dim: int = 32,
        with_pooler: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        voices = rng.standard_normal((num_voices, voice_dim))
        voices, _ = np.linalg.qr(voices.T)  # orthonormal voices: cosine 0 between speakers
        self.register_buffer("voices", torch.tensor(voices.T, dtype=torch.float32))
        self.tokens = tokens
        self.num_activities = num_activities
        self.max_speakers = max_speakers
        self.voice_dim = voice_dim
        if with_pooler:
            self.campplus = _FrontEnd(voice_dim)

    def embed_audio(self, audio: torch.Tensor, lengths: torch.Tensor):
        frames = int(lengths.max()) // FRAME
        codes = torch.round(
            audio[:, : frames * FRAME].reshape(len(audio), frames, FRAME).mean(2) * SCALE
        )
        codes = codes.long()
        emb = torch.zeros(len(audio), frames, self.voice_dim + self.num_activities)
        for index, (voice, activity) in enumerate(self.tokens):
            on = ((codes >> index) & 1).float()[..., None]
            emb[..., : self.voice_dim] += on * self.voices[voice]
            emb[..., self.voice_dim + activity] += on[..., 0] * ACTIVITY_SCALE
        return emb, torch.full((len(audio),), frames)

    def forward_embeddings(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        active = emb[..., self.voice_dim :] > ACTIVITY_SCALE / 2  # (B, T, A)
        batch, frames, _ = active.shape
        probs = torch.full((batch, frames, self.max_speakers), 0.02)
        for b in range(batch):
            present = [a for a in range(self.num_activities) if active[b, :, a].any()]
            present.sort(key=lambda a: int(active[b, :, a].float().argmax()))
            for column, a in enumerate(present[: self.max_speakers]):
                probs[b, :, column] = torch.where(active[b, :, a], 0.95, 0.02)
        return probs


def render(frames: np.ndarray) -> np.ndarray:
    """Audio for a frame-level token mask.

    Shape:
        (T, tokens) bool -> (T * 1280,) float32
    """
    codes = (frames.astype(np.int64) << np.arange(frames.shape[1])).sum(1)
    return np.repeat(codes / SCALE, FRAME).astype(np.float32)


def schedule(
    total_seconds: float, turns: list[tuple[int, float, float]], tokens: int
) -> np.ndarray:
    """A token mask from ``(token, start, end)`` turns in seconds.

    Shape:
        -> (T, tokens) bool
    """
    frames = np.zeros((int(round(total_seconds / 0.08)), tokens), dtype=bool)
    for token, start, end in turns:
        frames[int(round(start / 0.08)) : int(round(end / 0.08)), token] = True
    return frames


def frame_labels(probs: np.ndarray) -> np.ndarray:
    """The engine's speaker per frame (-1: nobody; the most probable when several).

    Shape:
        (T, S) -> (T,)
    """
    return np.where(probs.max(1) > 0.5, probs.argmax(1), -1)
