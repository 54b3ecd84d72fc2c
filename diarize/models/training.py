"""Run a training from a resolved config: data checks, Lightning Trainer, resume, outputs.

Layout of ``exp_dir``: ``checkpoints/last.ckpt`` (refreshed every
``checkpoint_every_n_steps`` and at the end), ``checkpoints/best.ckpt`` (lowest validation
DER), ``metrics.csv`` (earlier runs' files are kept as ``metrics.1.csv``, ...), ``tensorboard/``
and ``config.yaml``. A run starts from ``checkpoints/last.ckpt`` when it exists.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from diarize.data.datamodule import DiarizationDataModule
from diarize.errors import DiarizeError
from diarize.models import load_model
from diarize.models.system import SortformerSystem


@dataclass(frozen=True)
class TrainingResult:
    """Where a training run left its outputs."""

    exp_dir: Path
    global_step: int
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    resumed_from: Path | None


class SaveLast(Callback):
    """Writes ``last.ckpt`` every ``every_n_steps`` optimiser steps and when training ends."""

    def __init__(self, path: Path, every_n_steps: int) -> None:
        self.path, self.every_n_steps = path, every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and step > 0 and step % self.every_n_steps == 0:
            trainer.save_checkpoint(self.path)

    def on_train_end(self, trainer, pl_module) -> None:
        if not trainer.fast_dev_run:
            trainer.save_checkpoint(self.path)


def run_training(config: DictConfig) -> TrainingResult:
    """Train the network described by ``config`` (a merged :class:`TrainConfig`).

    Raises:
        DiarizeError: a missing manifest, audio file or RTTM (checked before training starts).
    """
    exp_dir = Path(config.exp_dir)
    checkpoints = exp_dir / "checkpoints"
    model = OmegaConf.to_object(config.model)
    # builds both datasets now: every audio file and RTTM is checked before any training
    data = DiarizationDataModule(model.train_ds, model.validation_ds, model.max_speakers)
    has_validation = data.validation_set is not None

    L.seed_everything(config.seed, workers=True, verbose=False)
    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")
    system = SortformerSystem(OmegaConf.to_container(config, resolve=True))

    exp_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, exp_dir / "config.yaml")
    last = checkpoints / "last.ckpt"
    callbacks: list[Callback] = [SaveLast(last, config.checkpoint_every_n_steps)]
    best = None
    if has_validation:
        best = ModelCheckpoint(
            dirpath=checkpoints,
            filename="best",
            monitor="val_der",
            mode="min",
            save_top_k=1,
            save_last=False,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        )
        callbacks.append(best)

    trainer_args = OmegaConf.to_container(config.trainer, resolve=True)
    if isinstance(trainer_args["val_check_interval"], int):
        trainer_args["check_val_every_n_epoch"] = None  # validate every N steps across epochs
    if not has_validation:
        trainer_args["limit_val_batches"] = 0
    if trainer_args["strategy"] == "ddp":
        # the last block's permutation encoder feeds no later block, so its weights get no
        # gradient; plain DDP would stop on that
        trainer_args["strategy"] = "ddp_find_unused_parameters_true"
    trainer = L.Trainer(
        **trainer_args,
        default_root_dir=str(exp_dir),
        callbacks=callbacks,
        logger=_loggers(exp_dir),
        enable_checkpointing=True,
    )
    resume = last if last.is_file() and not trainer_args["fast_dev_run"] else None
    if resume is not None:
        print(f"diarize train: resuming from {resume}")
    elif config.init_from:
        modules = list(config.init_modules)
        _init_weights(system, Path(config.init_from), modules)
        parts = f" ({', '.join(modules)})" if modules else ""
        print(f"diarize train: starting from the weights of {config.init_from}{parts}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isn't resumable.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # resuming
        trainer.fit(system, datamodule=data, ckpt_path=str(resume) if resume else None)
    best_path = Path(best.best_model_path) if best is not None and best.best_model_path else None
    return TrainingResult(
        exp_dir, trainer.global_step, last if last.is_file() else None, best_path, resume
    )


def _init_weights(system: SortformerSystem, source: Path, modules: list[str]) -> None:
    """Copy the network weights of ``source`` into ``system``: all of them (the configs must
    build the same network) or those of the named submodules (their shapes must match).

    Raises:
        DiarizeError: ``source`` is missing, not a model, or does not fit.
    """
    pretrained = load_model(source)
    network = system.network
    if not modules:
        if pretrained.config != network.config:
            raise DiarizeError(
                f"{source}: init_from network differs from model config "
                f"({_first_difference(pretrained.config, network.config)})"
            )
        network.load_state_dict(pretrained.state_dict())
        return
    for name in modules:
        target, given = getattr(network, name, None), getattr(pretrained, name, None)
        if not isinstance(target, torch.nn.Module) or not isinstance(given, torch.nn.Module):
            raise DiarizeError(f"init_modules: {name!r} is not a part of both networks")
        ours, theirs = target.state_dict(), given.state_dict()
        mismatch = [k for k in ours if k not in theirs or ours[k].shape != theirs[k].shape]
        mismatch += sorted(set(theirs) - set(ours))
        if mismatch:
            raise DiarizeError(f"{source}: {name} has other shapes here (first: {mismatch[0]})")
        target.load_state_dict(theirs)


def _first_difference(a, b) -> str:
    left, right = asdict(a), asdict(b)
    for key in left:
        if left[key] != right[key]:
            return f"{key}: {left[key]} there, {right[key]} here"
    return "same config"


def _loggers(exp_dir: Path) -> list:
    metrics = exp_dir / "metrics.csv"
    if metrics.is_file():
        # CSVLogger starts a fresh metrics.csv; keep the earlier runs' history beside it
        index = 1
        while (exp_dir / f"metrics.{index}.csv").exists():
            index += 1
        metrics.rename(exp_dir / f"metrics.{index}.csv")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        csv = CSVLogger(save_dir=str(exp_dir), name="", version="")
        _ = csv.experiment  # create the writer now, inside the filter
    return [csv, TensorBoardLogger(save_dir=str(exp_dir), name="tensorboard", version="")]
