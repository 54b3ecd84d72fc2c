"""The run configuration of ``diarize train``: the whole of ``conf/train.yaml``.

The model (network, loss, optimiser, data splits) is :class:`diarize.models.config.ModelConfig`;
this adds what belongs to one run: where it writes, its seed, where it starts from, and the
Lightning Trainer's settings. :func:`load_train_config` is the one entry point; it goes through
:mod:`diarize.config` (unknown keys, wrong types and malformed YAML fail in one line) and then
refuses values no run could train with, before anything is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from diarize.config import load_config
from diarize.errors import DiarizeError
from diarize.models.config import ModelConfig, check_network, network_config


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


def load_train_config(
    files: Sequence[str | Path] = (), overrides: Sequence[str] = ()
) -> DictConfig:
    """Merge YAML ``files`` (in order) and ``key=value`` ``overrides`` onto the defaults.

    Raises:
        DiarizeError: a missing or malformed file (with its line), an unknown key, a badly
            typed value, or a value no run can train with (``num_heads`` not dividing
            ``d_model``, a learning rate of 0, ...).
    """
    config = load_config(TrainConfig, files, overrides)
    _check_ranges(config)
    check_network(network_config(config), "config")
    return config


# (key, test, what it must be): values a run could not train with, caught before it starts
_RANGES = (
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
