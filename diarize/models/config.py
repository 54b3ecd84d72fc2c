"""Typed model configuration: the network and how it learns (OmegaConf structured configs).

YAML files and ``key=value`` overrides are merged onto these dataclasses by
:mod:`diarize.config`, so an unknown key or a wrongly typed value fails at once with a one-line
:class:`DiarizeError`. The defaults here are those of ``conf/train.yaml`` (a test keeps the
two in step). The run around the model (trainer, checkpoints) is configured in
:mod:`diarize.training.config`; the data splits in :mod:`diarize.data.config`. This module
imports neither Lightning nor the network, so that loading an exported model stays fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from diarize.config import merge, read_yaml, to_object
from diarize.data.config import DatasetConfig
from diarize.errors import DiarizeError


@dataclass
class FeatureConfig:
    """Log-mel front end (25 ms window, 10 ms hop, n_fft 512)."""

    n_mels: int = 80
    normalize: str = "per_feature"  # "per_feature" (mean/var per band over the window) or "none"
    dither: float = 1e-5  # training only
    preemph: float = 0.97
    # centre each 80-ms output frame's receptive field on the span its targets cover (a 40-ms
    # shift of the signal); models stored before this key existed were trained without it
    centered: bool = True


@dataclass
class EncoderConfig:
    """The front end: one speaker-embedding vector per 80 ms frame, then Conformer layers.

    ``type: conformer``: log-mel -> conv subsampling x8 -> Conformer, all trained here.
    ``type: campplus``: Kaldi fbank -> the pretrained CAM++ trunk (512-d every 20 ms, real
    speech of thousands of speakers) pooled to 80 ms -> linear adapter -> Conformer.
    """

    type: str = "campplus"  # campplus | conformer
    # campplus only: the fp32 weights written by scripts/fetch_campplus.py (read when a new
    # network is built for training; trained and exported models carry the weights)
    pretrained: str | None = "~/.cache/diarize/campplus_cn_en_common.pt"
    freeze: bool = True  # campplus: keep the pretrained trunk fixed (features can be cached)
    lr_multiplier: float = 0.1  # campplus, when not frozen: its learning rate relative to lr
    window_sec: float = 6.0  # campplus: the trunk sees the audio in windows of this length
    context_sec: float = 0.5  # ...plus this much context on each side (then cropped)
    # campplus: each frame also gets the CAM++ speaker embedding of this much audio around it
    # (0: trunk frames only)
    speaker_window_sec: float = 1.5
    # relative position bias in the Conformer's self-attention (T5-style buckets)
    rel_pos: bool = True
    subsampling_channels: int = 64  # conformer front end only
    d_model: int = 128
    num_layers: int = 1
    num_heads: int = 4
    ff_expansion: int = 4
    conv_kernel_size: int = 15
    dropout: float = 0.1


@dataclass
class SortformerConfig:
    """The SortFormer blocks: Transformer layers with per-block sigmoid heads."""

    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    ff_dim: int = 512
    dropout: float = 0.1
    pre_ln: bool = True
    # True: each block's sorted activities are projected and added to the next block's input
    # (the SortFormer paper); False: a plain Transformer whose last head is the output (NeMo).
    permutation_encoding: bool = True
    # without permutation encoding: sort the last block's columns by arrival all the same (the
    # ablation's "plain Transformer + sorted output", which isolates the encoding)
    sort_output: bool = False
    # each block's head: "linear" (LayerNorm + Linear), "nemo" (NeMo's released head,
    # ReLU-Dropout-Linear-ReLU-Dropout-Linear); "auto": linear with permutation encoding, else nemo
    head: str = "auto"
    # a speaker arrives at its first run of this many active frames (1: the first frame; more
    # keeps a one-frame blip from re-ranking the sort); the Sort loss orders targets the same way
    arrival_min_frames: int = 3


@dataclass
class NetworkConfig:
    """Everything needed to rebuild a :class:`SortformerNetwork` (stored in checkpoints)."""

    max_speakers: int = 4
    features: FeatureConfig = field(default_factory=FeatureConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    sortformer: SortformerConfig = field(default_factory=SortformerConfig)


@dataclass
class SpecAugmentConfig:
    """Training-time masking of the log-mel features (set the counts to 0 to disable)."""

    freq_masks: int = 2
    freq_width: int = 12
    time_masks: int = 4
    time_width: float = 0.03


@dataclass
class LossConfig:
    """Hybrid loss: ``sort_weight * Sort + pil_weight * PIL + intermediate_weight * mean(block Sort)``."""

    sort_weight: float = 0.5
    pil_weight: float = 0.5
    intermediate_weight: float = 0.2


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then inverse-square-root decay down to ``min_lr``."""

    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    weight_decay: float = 1e-3
    warmup_steps: int = 200
    min_lr: float = 1e-5


@dataclass
class CacheTrainingConfig:
    """Train on [speaker cache ; rest of window] inputs, as chunked long-audio inference sees."""

    prob: float = 0.0  # chance per training sample (0: chunks are linked by speaker embeddings)
    budget: int = 188  # cache frames (the inference default)
    min_split_sec: float = 10.0  # the split point s is at least this far from both ends


@dataclass
class ModelConfig:
    """Network, loss, optimiser and data of one training run."""

    max_speakers: int = 4
    features: FeatureConfig = field(default_factory=FeatureConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    sortformer: SortformerConfig = field(default_factory=SortformerConfig)
    spec_augment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    cache_training: CacheTrainingConfig = field(default_factory=CacheTrainingConfig)
    train_ds: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(
            feature_cache="${exp_dir}/features/train", silence_prob=0.3
        )
    )
    validation_ds: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(
            batch_size=8,
            shuffle=False,
            random_crop=False,
            gain_db=0.0,
            feature_cache="${exp_dir}/features/dev",
        )
    )


NETWORK_KEYS = ("max_speakers", "features", "encoder", "sortformer")


# Keys added after models were first stored, with the value that reproduces those models: a
# stored config without them is a log-mel Conformer with the one-frame arrival rule.
STORED_DEFAULTS = {
    "features": {"centered": False},
    "encoder": {"type": "conformer", "rel_pos": False, "speaker_window_sec": 0.0},
    "sortformer": {"arrival_min_frames": 1},
}


def stored_network_config(stored: dict) -> NetworkConfig:
    """The :class:`NetworkConfig` of a checkpoint or exported model (older files included)."""
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in stored.items()}
    for section, keys in STORED_DEFAULTS.items():
        part = data.setdefault(section, {})
        for key, value in keys.items():
            part.setdefault(key, value)
    return network_config(data)


def network_config(source: Any) -> NetworkConfig:
    """A :class:`NetworkConfig` from a dict/DictConfig holding network keys.

    ``source`` may be a whole training config (with a ``model`` section), a ``model`` section,
    or a bare network config; keys that are not about the network are ignored.
    """
    where = "network config"
    if isinstance(source, (str, Path)):
        where, source = str(source), read_yaml(source)
    data = (
        OmegaConf.to_container(source, resolve=True) if isinstance(source, DictConfig) else source
    )
    if "model" in data and isinstance(data["model"], dict):
        data = data["model"]
    picked = {key: data[key] for key in NETWORK_KEYS if key in data}
    merged = merge(OmegaConf.structured(NetworkConfig), OmegaConf.create(picked), where)
    network = to_object(merged, where)
    check_network(network, where)
    return network


FRONT_ENDS = ("conformer", "campplus")


def check_network(config: NetworkConfig, where: str = "config") -> None:
    """Refuse a network that could not be built (one line instead of an assertion deep inside).

    Raises:
        DiarizeError: e.g. ``model.encoder.d_model (128) must be divisible by num_heads (3)``.
    """
    for name in ("encoder", "sortformer"):
        part = getattr(config, name)
        for key in ("d_model", "num_layers", "num_heads"):
            if getattr(part, key) < 1:
                raise DiarizeError(f"{where}: model.{name}.{key} must be at least 1")
        if part.d_model % part.num_heads:
            raise DiarizeError(
                f"{where}: model.{name}.d_model ({part.d_model}) must be divisible by "
                f"model.{name}.num_heads ({part.num_heads})"
            )
    if config.encoder.type not in FRONT_ENDS:
        raise DiarizeError(
            f"{where}: model.encoder.type must be one of {', '.join(FRONT_ENDS)}, "
            f"not {config.encoder.type!r}"
        )
    if config.encoder.type == "campplus" and not (
        config.encoder.window_sec >= 1.0 and 0.0 <= config.encoder.context_sec <= 5.0
    ):
        raise DiarizeError(
            f"{where}: model.encoder.window_sec must be at least 1 and context_sec in [0, 5]"
        )
    if config.max_speakers < 1:
        raise DiarizeError(f"{where}: model.max_speakers must be at least 1")
    if config.features.n_mels < 1:
        raise DiarizeError(f"{where}: model.features.n_mels must be at least 1")


def first_difference(ours: Any, theirs: Any, prefix: str = "") -> str | None:
    """The first dotted key where two configs (dataclasses or dicts) differ, with both values:
    ``"encoder.num_heads: 4 there, 2 here"`` (``ours`` is "here"); None when they are equal."""
    left = asdict(ours) if not isinstance(ours, dict) else ours
    right = asdict(theirs) if not isinstance(theirs, dict) else theirs
    for key in [*left, *(k for k in right if k not in left)]:
        a, b = left.get(key), right.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}: {b} there, {a} here"
    return None


def to_dict(config: Any) -> dict[str, Any]:
    """A plain, resolved ``dict`` of a dataclass or DictConfig (what checkpoints store)."""
    if not isinstance(config, DictConfig):
        config = OmegaConf.structured(config)
    return OmegaConf.to_container(config, resolve=True)
