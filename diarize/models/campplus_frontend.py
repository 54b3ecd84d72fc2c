"""The pretrained real-speech front end: CAM++ frame features pooled to 80 ms model frames.

Audio -> Kaldi fbank (10 ms) -> windows of ``window_sec`` with ``context_sec`` of context on each
side, each mean-normalised over its valid frames as CAM++ was trained -> CAM++ trunk (512-d every
20 ms) -> the window's centre kept -> mean of 4 trunk frames = one 80 ms frame.

Alignment: the audio is padded by 40 samples on the left, so fbank frame ``i`` is centred at
``10 i + 10`` ms, trunk frame ``j`` at ``20 j + 10`` ms and model frame ``k`` (4 trunk frames) at
``80 k + 40`` ms: the centre of ``[k * 0.08, (k + 1) * 0.08)``, the span its targets cover.

Windows make the cost linear in length, the output of a frame independent of where a chunk
starts (up to the window grid) and let the trunk run as one batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from diarize.audio.fbank import KaldiFbank, num_fbank_frames
from diarize.audio.features import HOP_LENGTH, SUBSAMPLING, lengths_mask, num_model_frames
from diarize.models.campplus import TIME_STRIDE, TRUNK_CHANNELS, CAMPPlus

LEFT_PAD = 40  # samples: centres fbank frame i at 10 i + 10 ms (see the module docstring)
TRUNK_PER_FRAME = SUBSAMPLING // TIME_STRIDE  # 4 trunk frames (20 ms) per model frame (80 ms)


class CampplusFrontEnd(nn.Module):
    """CAM++ trunk features, one 512-d vector per 80 ms frame.

    Args:
        window_sec: trunk window (kept part), a multiple of 80 ms after rounding.
        context_sec: context on each side of a window, seen but cropped.
        freeze: keep the weights fixed and BatchNorm in eval mode.
        max_windows: windows per trunk call (bounds memory on long inputs).
    """

    output_dim = TRUNK_CHANNELS

    def __init__(
        self,
        window_sec: float = 6.0,
        context_sec: float = 0.5,
        freeze: bool = True,
        max_windows: int = 16,
    ) -> None:
        super().__init__()
        self.fbank = KaldiFbank()
        self.campplus = CAMPPlus()
        # window and context in fbank frames, multiples of 8 (one model frame)
        self.window = max(1, round(window_sec / 0.08)) * SUBSAMPLING
        self.context = round(context_sec / 0.08) * SUBSAMPLING
        self.freeze = freeze
        self.max_windows = max_windows
        if freeze:
            self.campplus.requires_grad_(False)

    def with_window(self, window_sec: float) -> CampplusFrontEnd:
        """A frozen front end sharing this one's CAM++ whose windows are ``window_sec`` with no
        context (streaming: one step's audio is one window, not 6 s of mostly padding)."""
        front_end = CampplusFrontEnd(window_sec=window_sec, context_sec=0.0, freeze=True)
        front_end.campplus = self.campplus
        return front_end.to(next(self.parameters()).device).eval()

    def train(self, mode: bool = True) -> CampplusFrontEnd:
        # BatchNorm keeps its pretrained statistics: batches here are few long windows
        super().train(mode)
        self.campplus.eval()
        return self

    def forward(
        self, audio: torch.Tensor, audio_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Shape: audio (B, N), audio_lengths (B,) -> emb (B, T, 512), lengths (B,)"""
        frames = [num_model_frames(int(n)) for n in audio_lengths.tolist()]
        total = max(frames, default=0)
        out = audio.new_zeros(len(frames), total, self.output_dim)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            for index, (signal, count) in enumerate(zip(audio, frames, strict=True)):
                if count:
                    out[index, :count] = self.embed_one(signal[: int(audio_lengths[index])], count)
        lengths = torch.tensor(frames, device=audio.device)
        return out * lengths_mask(lengths, total)[..., None], lengths

    def embed_one(self, signal: torch.Tensor, frames: int) -> torch.Tensor:
        """Shape: signal (N,) -> (frames, 512)"""
        fbank, valid = self._fbank(signal, frames)
        needed = len(fbank)
        windows = self._windows(fbank, valid)
        trunk = torch.cat(
            [
                self.campplus.frames(windows[i : i + self.max_windows])
                for i in range(0, len(windows), self.max_windows)
            ]
        )  # (W, (window + 2 context) / 2, 512)
        keep = slice(self.context // TIME_STRIDE, (self.context + self.window) // TIME_STRIDE)
        trunk = trunk[:, keep].reshape(-1, self.output_dim)[: needed // TIME_STRIDE]
        return trunk.reshape(frames, TRUNK_PER_FRAME, self.output_dim).mean(1)

    def embed_tail(self, signal: torch.Tensor, frames: int, keep: int) -> torch.Tensor:
        """The last ``keep`` of ``frames`` model frames of ``signal``, normalised by the mean
        fbank of all of ``signal`` and run through the trunk as one window (no context).

        Streaming: a step's few seconds are normalised by the mean of a longer stretch of
        what came before, as an offline window's frames are by its 7 s, while the trunk
        runs on the step's frames alone.

        Shape:
            signal (N,) -> (keep, 512)
        """
        fbank, valid = self._fbank(signal, frames)
        mean = fbank[:valid].mean(0, keepdim=True) if valid else torch.zeros_like(fbank[:1])
        tail = fbank[(frames - keep) * SUBSAMPLING :] - mean
        tail[max(valid - (frames - keep) * SUBSAMPLING, 0) :] = 0.0  # padding stays zero
        trunk = self.campplus.frames(tail[None])[0]  # (keep * 4, 512)
        return trunk.reshape(keep, TRUNK_PER_FRAME, self.output_dim).mean(1)

    def _fbank(self, signal: torch.Tensor, frames: int) -> tuple[torch.Tensor, int]:
        """The fbank frames covering ``frames`` model frames, and how many hold audio.

        Shape:
            signal (N,) -> (frames * 8, 80), int
        """
        needed = frames * SUBSAMPLING  # fbank frames covering the model frames
        samples = (needed - 1) * HOP_LENGTH + 400  # so the snip-edges fbank has them all
        padded = nn.functional.pad(signal, (LEFT_PAD, max(samples - LEFT_PAD - len(signal), 0)))
        fbank = self.fbank(padded[None])[0, :needed]
        return fbank, min(num_fbank_frames(len(signal) + LEFT_PAD), needed)

    def _windows(self, fbank: torch.Tensor, valid: int) -> torch.Tensor:
        """Overlapping fbank windows, each mean-normalised over its valid frames.

        Shape:
            fbank (F, 80) -> (W, window + 2 * context, 80)
        """
        count = math.ceil(len(fbank) / self.window)
        span = self.window + 2 * self.context
        total = count * self.window + 2 * self.context
        padded = nn.functional.pad(fbank, (0, 0, self.context, total - self.context - len(fbank)))
        mask = torch.zeros(total, dtype=torch.bool, device=fbank.device)
        mask[self.context : self.context + valid] = True
        windows = padded.unfold(0, span, self.window).transpose(1, 2)  # (W, span, 80)
        masks = mask.unfold(0, span, self.window)  # (W, span)
        weights = masks[..., None].to(windows.dtype)
        mean = (windows * weights).sum(1, keepdim=True) / weights.sum(1, keepdim=True).clamp_min(1)
        return (windows - mean) * weights


def load_pretrained_campplus(front_end: CampplusFrontEnd, path: str) -> None:
    """Load the fp32 CAM++ state dict written by ``scripts/fetch_campplus.py`` (strict).

    Raises:
        DiarizeError: the file is missing, unreadable or not CAM++ weights.
    """
    from pathlib import Path

    from diarize.errors import DiarizeError

    file = Path(path).expanduser()
    if not file.is_file():
        raise DiarizeError(
            f"{file}: no CAM++ weights (model.encoder.pretrained); "
            "write them with: python scripts/fetch_campplus.py"
        )
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
        front_end.campplus.load_state_dict(state, strict=True)
    except Exception as error:  # a torch unpickling or key error: one line is enough
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DiarizeError(f"{file}: not CAM++ weights ({reason})") from None


def window_embeddings(
    frames: torch.Tensor, lengths: torch.Tensor, campplus: CAMPPlus, width: int
) -> torch.Tensor:
    """CAM++ speaker embeddings of a sliding window around every 80 ms frame (length sqrt(192)).

    The trunk frames alone hardly cluster by speaker (they carry what is said as much as who
    says it); CAM++'s own pooling (mean and standard deviation over time) and its embedding
    layer make them speaker-discriminative. Here they pool ``width`` frames centred on each
    frame, within the valid frames; the standard deviation is that of the 80 ms means, a
    slight underestimate of the trunk's.

    Shape:
        frames (B, T, 512), lengths (B,) -> (B, T, 192)
    """
    batch, total, channels = frames.shape
    valid = lengths_mask(lengths, total)[..., None].to(frames.dtype)
    x = frames * valid
    half = width // 2
    padded = nn.functional.pad(torch.cat([x, x * x, valid], dim=-1), (0, 0, half + 1, half))
    sums = padded.cumsum(1)
    window = sums[:, width:] - sums[:, :-width]  # (B, T, 2C + 1): sums over [t - h, t + h]
    count = window[..., -1:].clamp_min(1.0)
    mean = window[..., :channels] / count
    variance = window[..., channels:-1] / count - mean * mean
    std = (variance.clamp_min(0) * count / (count - 1).clamp_min(1)).clamp_min(1e-8).sqrt()
    stats = torch.cat([mean, std], dim=-1).reshape(batch * total, 2 * channels)
    embeddings = campplus.xvector.dense(stats).reshape(batch, total, -1)
    # unit length times sqrt(192): elements of about unit size, like the trunk's, so that the
    # adapter does not start by ignoring them
    scale = math.sqrt(embeddings.shape[-1])
    return nn.functional.normalize(embeddings, dim=-1) * scale * valid
