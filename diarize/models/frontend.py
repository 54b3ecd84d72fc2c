"""Front end: conv subsampling x8 (80 ms frames) and a compact Conformer encoder.

No absolute positional encoding: chunked inference prepends a speaker cache of non-contiguous
frames, so absolute positions would lie. Order comes from the convolution module (local) and,
with ``rel_pos``, a learned relative position bias in self-attention (who spoke first).
Padded positions are zeroed after every layer so that a signal gives the same output alone
or padded inside a batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from diarize.audio.features import lengths_mask


def _halve(lengths: torch.Tensor) -> torch.Tensor:
    """Output length of a kernel-3, stride-2, padding-1 convolution: ``ceil(L / 2)``."""
    return torch.div(lengths + 1, 2, rounding_mode="floor")


class ConvSubsampling(nn.Module):
    """``dw_striding`` subsampling: Conv2d 1->C stride 2, then 2x (depthwise + pointwise) stride 2.

    Three stride-2 stages turn 10 ms mel frames into 80 ms frames (``ceil(T_mel / 8)``); the
    flattened channels x bands are projected to ``d_model``. Its output is what the speaker
    cache stores (the "pre-encoder" embeddings).

    Args:
        n_mels: input bands.
        channels: convolution channels (small on CPU: 64-128).
        d_model: output size.
    """

    def __init__(self, n_mels: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2, padding=1)
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels),
                nn.Conv2d(channels, channels, 1),
            )
            for _ in range(2)
        )
        bands = n_mels
        for _ in range(3):
            bands = (bands + 1) // 2
        self.out = nn.Linear(channels * bands, d_model)

    def forward(
        self, feats: torch.Tensor, feat_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Shape: feats (B, F, T_mel), feat_lengths (B,) -> (B, ceil(T_mel/8), d_model), (B,)"""
        x = feats.transpose(1, 2)[:, None]  # (B, 1, T, F)
        lengths = feat_lengths
        x = x * lengths_mask(lengths, x.shape[2])[:, None, :, None]
        # re-zero the padding after each stage: its bias + ReLU would leak into valid frames
        for stage in (self.conv1, *self.stages):
            lengths = _halve(lengths)
            x = torch.relu(stage(x))
            x = x * lengths_mask(lengths, x.shape[2])[:, None, :, None]
        batch, channels, frames, bands = x.shape
        x = x.permute(0, 2, 1, 3).reshape(batch, frames, channels * bands)
        return self.out(x) * lengths_mask(lengths, frames)[..., None], lengths


class FeedForward(nn.Module):
    """Pre-LN feed-forward module (Swish)."""

    def __init__(self, d_model: int, expansion: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, d_model * expansion),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(d_model * expansion, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvModule(nn.Module):
    """Conformer convolution module: pointwise + GLU, depthwise conv, LayerNorm, Swish, pointwise.

    LayerNorm rather than BatchNorm: batch statistics would make a frame's output depend on
    the other signals of the batch and on padding.
    """

    def __init__(self, d_model: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(
            d_model, d_model, kernel_size, padding=kernel_size // 2, groups=d_model
        )
        self.conv_norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Shape: x (B, T, D), valid (B, T) -> (B, T, D)"""
        y = nn.functional.glu(self.pointwise_in(self.norm(x)), dim=-1) * valid[..., None]
        y = self.depthwise(y.transpose(1, 2)).transpose(1, 2)
        y = self.pointwise_out(nn.functional.silu(self.conv_norm(y)))
        return self.dropout(y)


class RelativePositionBias(nn.Module):
    """A learned bias per head and relative distance (T5-style buckets), added to attention.

    Distances up to ``exact`` frames get a bucket each; longer ones share log-spaced buckets up
    to ``max_distance`` (82 s at 80 ms). It tells the attention who came first without absolute
    positions, which would lie when a speaker cache is prepended to a chunk.
    """

    def __init__(self, num_heads: int, num_buckets: int = 32, max_distance: int = 1024) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bias = nn.Embedding(num_buckets, num_heads)
        nn.init.zeros_(self.bias.weight)

    def buckets(self, frames: int, device: torch.device) -> torch.Tensor:
        """Bucket of ``key - query`` for every pair. Shape: -> (T, T)"""
        positions = torch.arange(frames, device=device)
        distance = positions[None, :] - positions[:, None]
        half = self.num_buckets // 2
        exact = half // 2
        magnitude = distance.abs()
        log_bucket = exact + (
            torch.log(magnitude.clamp_min(1).float() / exact)
            / math.log(self.max_distance / exact)
            * (half - exact)
        ).long().clamp_max(half - exact - 1)
        bucket = torch.where(magnitude < exact, magnitude, log_bucket)
        return bucket + half * (distance > 0)

    def forward(self, frames: int, device: torch.device) -> torch.Tensor:
        """Shape: -> (H, T, T)"""
        return self.bias(self.buckets(frames, device)).permute(2, 0, 1)


def attention_mask(
    valid: torch.Tensor, num_heads: int, position_bias: RelativePositionBias | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(attn_mask, key_padding_mask)`` for ``nn.MultiheadAttention``.

    Without a position bias, padding is a boolean key mask; with one, both are folded into
    one additive float mask per (batch, head).

    Shape:
        valid (B, T) -> (B * H, T, T) or None, (B, T) or None
    """
    if position_bias is None:
        return None, ~valid
    batch, frames = valid.shape
    bias = position_bias(frames, valid.device)[None].expand(batch, -1, -1, -1)
    padding = torch.zeros(valid.shape, dtype=bias.dtype, device=valid.device)
    padding = padding.masked_fill(~valid, float("-inf"))[:, None, None, :]
    return (bias + padding).reshape(batch * num_heads, frames, frames), None


class ConformerLayer(nn.Module):
    """Macaron FFN/2, self-attention, convolution module, FFN/2, LayerNorm."""

    def __init__(
        self, d_model: int, num_heads: int, ff_expansion: int, kernel_size: int, dropout: float
    ):
        super().__init__()
        self.ff1 = FeedForward(d_model, ff_expansion, dropout)
        self.attn_norm = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)
        self.attn_dropout = nn.Dropout(dropout)
        self.conv = ConvModule(d_model, kernel_size, dropout)
        self.ff2 = FeedForward(d_model, ff_expansion, dropout)
        self.out_norm = nn.LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        valid: torch.Tensor,
        masks: tuple[torch.Tensor | None, torch.Tensor | None] | None = None,
    ) -> torch.Tensor:
        """Shape: x (B, T, D), valid (B, T) -> (B, T, D); masks from :func:`attention_mask`"""
        attn_mask, key_padding_mask = masks if masks is not None else (None, ~valid)
        x = x + 0.5 * self.ff1(x)
        y = self.attn_norm(x)
        y, _ = self.attn(
            y, y, y, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False
        )
        x = x + self.attn_dropout(y)
        x = x + self.conv(x, valid)
        x = x + 0.5 * self.ff2(x)
        return self.out_norm(x) * valid[..., None]


class ConformerEncoder(nn.Module):
    """A stack of :class:`ConformerLayer` over the subsampled embeddings."""

    def __init__(
        self,
        d_model: int,
        num_layers: int,
        num_heads: int,
        ff_expansion: int,
        kernel_size: int,
        dropout: float,
        rel_pos: bool = False,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.input_dropout = nn.Dropout(dropout)
        self.position_bias = RelativePositionBias(num_heads) if rel_pos else None
        self.layers = nn.ModuleList(
            ConformerLayer(d_model, num_heads, ff_expansion, kernel_size, dropout)
            for _ in range(num_layers)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Shape: x (B, T, D), lengths (B,) -> (B, T, D)"""
        valid = lengths_mask(lengths, x.shape[1])
        masks = attention_mask(valid, self.num_heads, self.position_bias)
        x = self.input_dropout(x)
        for layer in self.layers:
            x = layer(x, valid, masks)
        return x
