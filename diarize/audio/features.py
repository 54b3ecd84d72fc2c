"""Log-mel features and the frame <-> time math, kept in this one tested place.

Audio at 16 kHz is framed every 10 ms (hop 160 samples, 25 ms window, n_fft 512);
the model subsamples 8x, so one model frame is 80 ms. Model frame ``i`` covers
``[i * FRAME_SHIFT, (i + 1) * FRAME_SHIFT)`` seconds, and every front end centres what it sees
for frame ``i`` on that span (``LogMel(shift=CENTRE_SHIFT)`` for the log-mel one).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from diarize.audio.io import SAMPLE_RATE

HOP_LENGTH = 160  # 10 ms
WIN_LENGTH = 400  # 25 ms
N_FFT = 512
SUBSAMPLING = 8
MEL_SHIFT = HOP_LENGTH / SAMPLE_RATE  # 0.01 s
FRAME_SHIFT = SUBSAMPLING * MEL_SHIFT  # 0.08 s
# Three stride-2 convolutions (kernel 3, padding 1) centre model frame i on mel frame 8 i, which
# a centred STFT puts at 80 i ms: the start of the frame's span. Shifting the signal by half a
# model frame (40 ms) centres it on the span, where its targets are.
CENTRE_SHIFT = SUBSAMPLING * HOP_LENGTH // 2  # 640 samples


def num_mel_frames(num_samples: int) -> int:
    """Number of 10 ms feature frames kept for ``num_samples`` of audio (``n // 160``)."""
    return max(int(num_samples), 0) // HOP_LENGTH


def num_model_frames(num_samples: int) -> int:
    """Number of 80 ms model frames for ``num_samples``: ``ceil(mel_frames / 8)``."""
    return math.ceil(num_mel_frames(num_samples) / SUBSAMPLING)


def frames_for_mel(mel_frames: int) -> int:
    """Model frames produced from ``mel_frames`` feature frames (three stride-2 convs)."""
    return math.ceil(max(int(mel_frames), 0) / SUBSAMPLING)


def frame_to_time(frame: int | float) -> float:
    """Start time in seconds of model frame ``frame``."""
    return float(frame) * FRAME_SHIFT


def time_to_frame(seconds: float) -> int:
    """Index of the model frame containing time ``seconds``."""
    return int(math.floor(seconds / FRAME_SHIFT + 1e-9))


def seconds_to_frames(seconds: float) -> int:
    """Model frames in a window of ``seconds`` of 16 kHz audio."""
    return num_model_frames(int(round(seconds * SAMPLE_RATE)))


# --- log-mel front end -------------------------------------------------------------------

LOG_ZERO_GUARD = 2.0**-24


def mel_filterbank(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-normalised mel filters from librosa, shape ``(n_mels, n_fft // 2 + 1)``."""
    import librosa

    filters = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, norm="slaney"
    )
    return filters.astype(np.float32)


def lengths_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """``mask[b, t]`` is True for the valid positions ``t < lengths[b]``.

    Shape:
        (B,) -> (B, size)
    """
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


class LogMel(nn.Module):
    """Log-mel spectrogram: 25 ms Hann window, 10 ms hop, n_fft 512, ``n_mels`` bands.

    ``num_mel_frames(n) = n // 160`` frames are kept per signal. The STFT pads with zeros (not
    reflection) so that a signal padded inside a batch gives the same features as alone.
    Dither is added in training mode only. ``normalize="per_feature"`` removes each band's mean
    and divides by its standard deviation over the valid frames of each signal (one window):
    this makes the features independent of gain and reduces channel mismatch.

    Args:
        n_mels: number of mel bands.
        normalize: ``"per_feature"`` or ``"none"``.
        dither: standard deviation of the white noise added while training.
        preemph: pre-emphasis coefficient (0 disables it).
        shift: frame ``m`` is centred at sample ``160 m + shift`` (the signal is moved left and
            padded with zeros at the end; the frame count does not change).
    """

    def __init__(
        self,
        n_mels: int = 80,
        normalize: str = "per_feature",
        dither: float = 1e-5,
        preemph: float = 0.97,
        shift: int = 0,
    ) -> None:
        super().__init__()
        if normalize not in ("per_feature", "none"):
            raise ValueError(f"normalize must be 'per_feature' or 'none', got {normalize!r}")
        self.n_mels, self.normalize, self.dither, self.preemph = n_mels, normalize, dither, preemph
        self.shift = int(shift)
        # buffers are rebuilt from the config, never saved: exported fp16 weights must not round them
        self.register_buffer("filters", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)
        window = torch.hann_window(WIN_LENGTH, periodic=False)
        self.register_buffer("window", window, persistent=False)

    def forward(
        self, audio: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of a padded batch.

        Shape:
            audio (B, N), lengths (B,) -> feats (B, n_mels, N // 160), feat_lengths (B,)
        """
        with torch.autocast(device_type=audio.device.type, enabled=False):
            return self._compute(audio.float(), lengths)

    def _compute(
        self, audio: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        valid = lengths_mask(lengths, audio.shape[1])
        signal = audio * valid
        if self.training and self.dither > 0:
            signal = signal + self.dither * torch.randn_like(signal) * valid
        if self.preemph > 0:
            signal = torch.cat([signal[:, :1], signal[:, 1:] - self.preemph * signal[:, :-1]], 1)
            signal = signal * valid
        if self.shift > 0:
            signal = nn.functional.pad(
                signal[:, self.shift :], (0, min(self.shift, signal.shape[1]))
            )
        num_frames = audio.shape[1] // HOP_LENGTH
        feat_lengths = torch.div(lengths, HOP_LENGTH, rounding_mode="floor")
        if num_frames == 0:
            return audio.new_zeros(audio.shape[0], self.n_mels, 0), feat_lengths
        spec = torch.stft(
            signal,
            n_fft=N_FFT,
            hop_length=HOP_LENGTH,
            win_length=WIN_LENGTH,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )[..., :num_frames]
        power = spec.real**2 + spec.imag**2
        feats = torch.log(torch.matmul(self.filters, power) + LOG_ZERO_GUARD)
        frame_mask = lengths_mask(feat_lengths, num_frames)[:, None, :]
        if self.normalize == "per_feature":
            count = feat_lengths.clamp(min=1)[:, None, None].to(feats.dtype)
            mean = (feats * frame_mask).sum(2, keepdim=True) / count
            var = (((feats - mean) * frame_mask) ** 2).sum(2, keepdim=True) / count
            feats = (feats - mean) / (var.sqrt() + 1e-5)
        return feats * frame_mask, feat_lengths


class SpecAugment(nn.Module):
    """SpecAugment-style masking (training mode only): zero random bands and time spans.

    Zero is the mean of per-feature normalised features, so a masked area carries no
    information. Each signal in the batch gets its own masks, inside its valid frames.

    Args:
        freq_masks: number of frequency masks per signal.
        freq_width: widest frequency mask, in mel bands.
        time_masks: number of time masks per signal.
        time_width: widest time mask, as a fraction of the signal's valid frames.
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 10,
        time_masks: int = 2,
        time_width: float = 0.05,
    ) -> None:
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width

    def forward(self, feats: torch.Tensor, feat_lengths: torch.Tensor) -> torch.Tensor:
        """A masked copy of ``feats`` (the input is left untouched).

        Shape:
            feats (B, F, T), feat_lengths (B,) -> (B, F, T)
        """
        if not self.training:
            return feats
        batch, bands, frames = feats.shape
        keep = torch.ones_like(feats, dtype=torch.bool)
        for b in range(batch):
            length = int(feat_lengths[b])
            for _ in range(self.freq_masks):
                width = int(torch.randint(0, self.freq_width + 1, ()))
                start = int(torch.randint(0, max(bands - width, 0) + 1, ()))
                keep[b, start : start + width, :] = False
            max_width = int(self.time_width * length)
            for _ in range(self.time_masks):
                width = int(torch.randint(0, max_width + 1, ()))
                start = int(torch.randint(0, max(length - width, 0) + 1, ()))
                keep[b, :, start : start + width] = False
        return feats * keep
