"""Run a training from a resolved config: checks, Lightning Trainer, resume, outputs.

Layout of ``exp_dir``: ``checkpoints/last.ckpt`` (refreshed every
``checkpoint_every_n_steps``, at the end and on Ctrl-C), ``checkpoints/best.ckpt`` (lowest
validation DER), ``metrics.csv`` (earlier runs' files are kept as ``metrics.1.csv``, ...),
``tensorboard/`` and ``config.yaml``. A run starts from ``checkpoints/last.ckpt`` when it exists.
Everything that can be checked (the output folder, every audio file and RTTM, the checkpoint
to resume) is checked before the first step.
"""

from __future__ import annotations

import contextlib
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from diarize.data.datamodule import DiarizationDataModule
from diarize.errors import DiarizeError
from diarize.io_utils import check_writable_dir
from diarize.models.system import SortformerSystem
from diarize.training.callbacks import SaveLast, SeedPerRank, loggers
from diarize.training.feature_cache import attach_feature_cache
from diarize.training.init import check_resume, init_weights


@dataclass(frozen=True)
class TrainingResult:
    """Where a training run left its outputs."""

    exp_dir: Path
    global_step: int
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    resumed_from: Path | None


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where the run was saved."""


def run_training(config: DictConfig) -> TrainingResult:
    """Train the network described by ``config`` (a merged :class:`TrainConfig`).

    Raises:
        DiarizeError: an exp_dir that cannot be written, a missing manifest, audio file or
            RTTM, or a last.ckpt that cannot be resumed (all checked before training starts).
        TrainingInterrupted: Ctrl-C; last.ckpt was saved first.
    """
    exp_dir = Path(config.exp_dir)
    check_exp_dir(exp_dir)
    checkpoints = exp_dir / "checkpoints"
    model = OmegaConf.to_object(config.model)
    # builds both datasets now: every audio file and RTTM is checked before any training
    data = DiarizationDataModule(model.train_ds, model.validation_ds, model.max_speakers)
    has_validation = data.validation_set is not None

    L.seed_everything(config.seed, workers=True, verbose=False)
    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")
    system = SortformerSystem(OmegaConf.to_container(config, resolve=True))
    attach_feature_cache(data, system.network, model.train_ds, model.validation_ds)

    if rank_zero_only.rank == 0:  # every DDP process runs this function
        OmegaConf.save(config, exp_dir / "config.yaml")
    last = checkpoints / "last.ckpt"
    save_last = SaveLast(last, config.checkpoint_every_n_steps)
    callbacks: list[Callback] = [save_last, SeedPerRank(config.seed)]
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
    resume = last if last.is_file() and not trainer_args["fast_dev_run"] else None
    if resume is not None:
        check_resume(resume, system)  # before the loggers touch metrics.csv
    trainer = L.Trainer(
        **trainer_args,
        default_root_dir=str(exp_dir),
        callbacks=callbacks,
        logger=loggers(exp_dir),
        enable_checkpointing=True,
    )
    if resume is not None:
        print(f"diarize train: resuming from {resume}")
    elif config.init_from:
        modules = list(config.init_modules)
        init_weights(system, Path(config.init_from), modules)
        parts = f" ({', '.join(modules)})" if modules else ""
        print(f"diarize train: starting from the weights of {config.init_from}{parts}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isn't resumable.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # resuming
        handler = signal.getsignal(signal.SIGINT)
        try:
            trainer.fit(system, datamodule=data, ckpt_path=str(resume) if resume else None)
        except SystemExit:
            # Lightning turns Ctrl-C into exit status 1 after its callbacks ran (SaveLast saved)
            if not trainer.interrupted:
                raise
            step = save_last.interrupted_at
            saved = f"saved {last} at step {step}; run again to resume" if step is not None else ""
            raise TrainingInterrupted(saved) from None
        finally:
            with contextlib.suppress(ValueError):  # only the main thread may set handlers
                signal.signal(signal.SIGINT, handler)  # Lightning leaves Ctrl-C ignored
    best_path = Path(best.best_model_path) if best is not None and best.best_model_path else None
    return TrainingResult(
        exp_dir, trainer.global_step, last if last.is_file() else None, best_path, resume
    )


def check_exp_dir(exp_dir: Path) -> None:
    """Create ``exp_dir`` and make sure files can be written in it (before any work).

    Raises:
        DiarizeError: ``exp_dir: ...`` it is a file, lies below a file, or cannot be written.
    """
    try:
        check_writable_dir(exp_dir)
    except DiarizeError as error:
        raise DiarizeError(f"exp_dir {error}") from None
