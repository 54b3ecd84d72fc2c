"""The network's calls on one window of audio, shared by offline long-form and streaming.

:class:`WindowModel` turns a window into frame embeddings, speaker activities (with digital
silence gated off) and one speaker embedding per active column; the helpers below level the
audio and find silent frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from diarize.audio.features import FRAME_SHIFT, HOP_LENGTH, SUBSAMPLING, num_model_frames
from diarize.audio.io import SAMPLE_RATE, scale_to_rms
from diarize.inference.linking import solo_weights

if TYPE_CHECKING:
    from diarize.inference.longform import LongformConfig

SAMPLES_PER_FRAME = HOP_LENGTH * SUBSAMPLING  # 1280 samples: one 80 ms model frame


class WindowModel:
    """The network calls on one window of audio, shared by the offline and streaming paths.

    Args:
        network: a SortFormer network in eval mode.
        config: level, silence gate and embedding settings.
        device: where the network lives.
        bf16: bfloat16 autocast (on a CPU: CAM++ and segmentation-3.0, not the blocks).
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
        # pyannote's segmentation network, when the model file carries it
        self.segmentation = getattr(network, "segmentation", None)

    def speech(
        self, probs: np.ndarray, audio: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Each frame's probabilities of speech and of overlapped speech, and the segmentation
        network's local speakers.

        Speech from ``config.speech_source``: ``network`` (the largest column of ``probs``),
        ``segmentation`` (pyannote's segmentation network, when the model carries it), or
        ``min`` of the two. Overlap from the segmentation network (zeros without it): the
        network's second column finds little of it (README). Local speakers: see
        :meth:`PyanNet.speech <diarize.models.segmentation.PyanNet.speech>` (None without the
        segmentation network or with ``config.local_speakers`` off).

        Shape:
            probs (T, K), audio (num_samples,) -> (T,), (T,), (T, LOCAL_SLOTS, 2) or None
        """
        own = probs.max(axis=1) if probs.shape[1] else np.zeros(len(probs), np.float32)
        source = self.config.speech_source
        if source == "network" or self.segmentation is None:
            return own, np.zeros_like(own), None
        hop = self.config.segmentation_hop_seconds
        local = None
        # bfloat16 (hardware): 1.7x faster, 14% of the whole command's CPU time; DER moved
        # both ways, by up to 1.9 points on a set (README, Results)
        with autocast(self.device, self.bf16):
            if self.config.local_speakers:
                (vad, overlap), local = self.segmentation.speech(
                    audio, len(probs), hop_seconds=hop, local_speakers=True
                )
            else:
                vad, overlap = self.segmentation.speech(audio, len(probs), hop_seconds=hop)
        vad = self.gate(vad[:, None], audio)[:, 0]
        return (vad if source == "segmentation" else np.minimum(own, vad)), overlap, local

    def embed(self, audio: np.ndarray, level: bool = True) -> torch.Tensor:
        """Frame embeddings of a window (scaled to ``config.level_rms`` first when ``level``).

        Shape:
            (num_samples,) -> (frames, D)
        """
        if level and self.config.level_rms is not None:
            audio = scale_to_rms(audio, self.config.level_rms)
        signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        lengths = torch.tensor([signal.shape[1]])
        # on a CPU bfloat16 is for CAM++ and segmentation-3.0, not the blocks (see probs)
        front_bf16 = self.bf16 and (self.device.type != "cpu" or self.campplus is not None)
        with torch.inference_mode(), autocast(self.device, front_bf16):
            embeddings, emb_lengths = self.network.embed_audio(
                signal.to(self.device), lengths.to(self.device)
            )
        return embeddings[0, : int(emb_lengths[0])].float()

    def probs(self, embeddings: torch.Tensor) -> np.ndarray:
        """Shape: (frames, D) -> (frames, K)"""
        lengths = torch.tensor([embeddings.shape[0]], device=embeddings.device)
        # on a CPU only CAM++ runs in bfloat16: the blocks are cheap there, and in bfloat16
        # they changed the speaker count of 5 of 40 real-voice mixes (DER 18.38% -> 19.57%)
        blocks_bf16 = self.bf16 and self.device.type != "cpu"
        with torch.inference_mode(), autocast(self.device, blocks_bf16):
            probs = self.network.forward_embeddings(embeddings[None], lengths)
        return probs[0].float().cpu().numpy()

    def gate(self, probs: np.ndarray, audio: np.ndarray) -> np.ndarray:
        """``probs`` with digitally silent frames zeroed (``config.silence_floor_db``), judged
        on ``audio`` at the level the network hears it (``config.level_rms``): a quiet
        recording is not silence.

        Shape:
            probs (T, K), audio (num_samples,) -> (T, K)
        """
        if self.config.silence_floor_db is None:
            return probs
        levelled = _level(audio, self.config.level_rms)
        gate = silent_frames(levelled, self.config.silence_floor_db)[: len(probs)]
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


def clusters_by_voice(network: torch.nn.Module, config: LongformConfig) -> bool:
    """Whether who speaks comes from CAM++ voices (``identity: clustering`` and a CAM++ front
    end): clustered windows offline, recent solo speech when streaming. Otherwise the
    network's columns are linked."""
    return config.identity == "clustering" and getattr(network, "campplus", None) is not None


@dataclass
class RunningLevel:
    """A stream's speech level so far, as the gain that brings it to ``target_rms`` (1 with
    None or before any sound): a block is not scaled by itself. Digitally silent 10 ms frames
    do not count."""

    target_rms: float | None
    power: float = 0.0  # sum of squares of the counted samples
    count: int = 0

    def add(self, samples: np.ndarray) -> None:
        chunk = np.asarray(samples, dtype=np.float64)
        frames = chunk[: len(chunk) // 160 * 160].reshape(-1, 160)
        loud = frames[(frames**2).mean(1) > 1e-8]
        self.power += float((loud**2).sum())
        self.count += loud.size

    @property
    def gain(self) -> float:
        if self.target_rms is None or self.count == 0:
            return 1.0
        return self.target_rms / max(math.sqrt(self.power / self.count), 1e-8)


def autocast(device: torch.device | str, bf16: bool):
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
    if config is None:
        from diarize.inference.longform import LongformConfig

        config = LongformConfig()
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
    # the whole network at once: bfloat16 off a CPU only (see WindowModel.probs)
    with torch.inference_mode(), autocast(device, bf16 and torch.device(device).type != "cpu"):
        probs, frame_lengths = network(torch.from_numpy(batch).to(device), lengths.to(device))
    probs = probs.float().cpu().numpy()
    for row, i in enumerate(todo):
        frames = min(int(frame_lengths[row]), len(outputs[i]))
        outputs[i][:frames] = probs[row, :frames]
        if config.silence_floor_db is not None:  # on the levelled audio, as WindowModel.gate
            levelled = batch[row, : len(audios[i])]
            gate = silent_frames(levelled, config.silence_floor_db)[: len(outputs[i])]
            outputs[i][: len(gate)][gate] = 0.0
    return outputs
