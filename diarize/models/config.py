"""Typed training and model configuration (OmegaConf structured configs).

Config becomes objects in one place: YAML files and ``key=value`` overrides are merged onto
these dataclasses, so an unknown key or a wrongly typed value fails at once with a one-line
:class:`DiarizeError`. The defaults here are those of ``conf/train.yaml`` (a test keeps the
two in step). This module imports neither Lightning nor the network, so that loading an
exported model stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from diarize.errors import DiarizeError


@dataclass
class FeatureConfig:
    """Log-mel front end (25 ms window, 10 ms hop, n_fft 512)."""

    n_mels: int = 80
    normalize: str = "per_feature"  # "per_feature" (mean/var per band over the window) or "none"
    dither: float = 1e-5  # training only
    preemph: float = 0.97


@dataclass
class EncoderConfig:
    """Conv subsampling x8 then Conformer layers (no absolute positions)."""

    subsampling_channels: int = 64
    d_model: int = 128
    num_layers: int = 2
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
    intermediate_weight: float = 0.0


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then inverse-square-root decay down to ``min_lr``."""

    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    weight_decay: float = 1e-3
    warmup_steps: int = 200
    min_lr: float = 1e-5


@dataclass
class DatasetConfig:
    """One data split: a manifest cut into windows of ``session_len_sec``."""

    manifest_filepath: str | None = None
    session_len_sec: float = 90.0
    batch_size: int = 4
    num_workers: int = 0
    shuffle: bool = True
    # training crops windows at random places of longer recordings; validation tiles them
    random_crop: bool = True
    min_window_sec: float = 1.0  # shorter leftovers at the end of a recording are skipped
    normalize: str = "rms"  # waveform level per window: "rms", "peak" or "none"
    gain_db: float = 6.0  # training only: random gain in [-gain_db, +gain_db] dB after normalising


@dataclass
class CacheTrainingConfig:
    """Train on [speaker cache ; rest of window] inputs, as chunked long-audio inference sees."""

    prob: float = 0.3  # chance per training sample
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
    train_ds: DatasetConfig = field(default_factory=DatasetConfig)
    validation_ds: DatasetConfig = field(
        default_factory=lambda: DatasetConfig(shuffle=False, random_crop=False, gain_db=0.0)
    )


@dataclass
class TrainerConfig:
    """Passed to ``lightning.Trainer`` (multi-GPU / multi-node is Lightning's job)."""

    accelerator: str = "auto"
    devices: Any = 1  # int, list of ids or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # e.g. "ddp"
    precision: str = "32-true"  # "bf16-mixed" on GPUs
    max_steps: int = 20000
    max_epochs: int = -1
    val_check_interval: Any = 250  # int: every N training steps; float: fraction of an epoch
    limit_val_batches: Any = 1.0
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 10
    gradient_clip_val: float | None = 1.0
    accumulate_grad_batches: int = 1
    fast_dev_run: Any = False
    enable_progress_bar: bool = True


@dataclass
class TrainConfig:
    """The whole of ``conf/train.yaml``."""

    exp_dir: str = "exp/sortformer"
    seed: int = 42
    checkpoint_every_n_steps: int = 100  # EXP_DIR/checkpoints/last.ckpt is refreshed this often
    # weights to start a new run from (a .ckpt or exported .pt with the same network config);
    # optimiser, schedule and step count start afresh. Ignored when EXP_DIR resumes from last.ckpt.
    init_from: str | None = None
    # with init_from: copy only these parts of the network (preprocessor, subsampling, encoder,
    # projection, blocks), e.g. [subsampling, encoder] to start a new back end on a trained
    # front end; those parts must have the same shapes. Empty: the whole network, same config.
    init_modules: list[str] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


NETWORK_KEYS = ("max_speakers", "features", "encoder", "sortformer")


def load_train_config(files: list[str | Path] = (), overrides: list[str] = ()) -> DictConfig:
    """Merge YAML ``files`` (in order) and ``key=value`` ``overrides`` onto the defaults.

    Raises:
        DiarizeError: a missing or unreadable file, an unknown key or a badly typed value.
    """
    config = OmegaConf.structured(TrainConfig)
    for path in files:
        config = _merge(config, _read_yaml(path), str(path))
    if overrides:
        for item in overrides:
            if "=" not in item:
                raise DiarizeError(f"override {item!r}: expected key=value")
        try:
            dotlist = OmegaConf.from_dotlist(list(overrides))
        except OmegaConfBaseException as error:
            raise DiarizeError(f"command line overrides: {_first_line(error)}") from None
        config = _merge(config, dotlist, "command line")
    _check_ranges(config)
    return config


# (key, test, what it must be): values a run could not train with, caught before it starts
_RANGES = (
    ("model.max_speakers", lambda v: v >= 1, "at least 1"),
    ("model.optim.lr", lambda v: v > 0, "above 0"),
    ("model.optim.min_lr", lambda v: v >= 0, "0 or more"),
    ("model.optim.warmup_steps", lambda v: v >= 0, "0 or more"),
    ("model.train_ds.batch_size", lambda v: v >= 1, "at least 1"),
    ("model.validation_ds.batch_size", lambda v: v >= 1, "at least 1"),
    ("model.train_ds.session_len_sec", lambda v: v > 0, "above 0"),
    ("model.validation_ds.session_len_sec", lambda v: v > 0, "above 0"),
    ("model.cache_training.prob", lambda v: 0 <= v <= 1, "between 0 and 1"),
    ("checkpoint_every_n_steps", lambda v: v >= 0, "0 or more"),
)


def _check_ranges(config: DictConfig) -> None:
    for key, valid, meaning in _RANGES:
        value = OmegaConf.select(config, key)
        if not valid(value):
            raise DiarizeError(f"config: {key} must be {meaning}, got {value}")


def network_config(source: Any) -> NetworkConfig:
    """A :class:`NetworkConfig` from a dict/DictConfig holding network keys.

    ``source`` may be a whole training config (with a ``model`` section), a ``model`` section,
    or a bare network config; keys that are not about the network are ignored.
    """
    if isinstance(source, (str, Path)):
        source = _read_yaml(source)
    data = (
        OmegaConf.to_container(source, resolve=True) if isinstance(source, DictConfig) else source
    )
    if "model" in data and isinstance(data["model"], dict):
        data = data["model"]
    picked = {key: data[key] for key in NETWORK_KEYS if key in data}
    merged = _merge(OmegaConf.structured(NetworkConfig), OmegaConf.create(picked), "network config")
    return OmegaConf.to_object(merged)


def to_dict(config: Any) -> dict[str, Any]:
    """A plain, resolved ``dict`` of a dataclass or DictConfig (what checkpoints store)."""
    if not isinstance(config, DictConfig):
        config = OmegaConf.structured(config)
    return OmegaConf.to_container(config, resolve=True)


def _read_yaml(path: str | Path) -> DictConfig:
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: config file not found")
    try:
        loaded = OmegaConf.load(path)
    except Exception as error:  # yaml errors come in many types
        raise DiarizeError(f"{path}: cannot read config: {_first_line(error)}") from None
    if not isinstance(loaded, DictConfig):
        raise DiarizeError(f"{path}: a config file must hold a mapping of keys")
    return loaded


def _merge(base: DictConfig, update: DictConfig, where: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, update)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        reason = _first_line(error)
        if "Key '" in reason and "not in" in reason or "ConfigKeyError" in type(error).__name__:
            reason = f"unknown config key '{key}'" if key else reason
        elif key:
            reason = f"bad value for '{key}': {reason}"
        raise DiarizeError(f"{where}: {reason}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
