"""Lightning callbacks and loggers of a training run."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only


class SaveLast(Callback):
    """Writes ``last.ckpt`` every ``every_n_steps`` optimiser steps, when training ends, and
    when it is interrupted (Ctrl-C), so that a run loses no more than the step in progress."""

    def __init__(self, path: Path, every_n_steps: int) -> None:
        self.path, self.every_n_steps = path, every_n_steps
        self.interrupted_at: int | None = None  # the step saved on Ctrl-C

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and step > 0 and step % self.every_n_steps == 0:
            trainer.save_checkpoint(self.path)

    def on_train_end(self, trainer, pl_module) -> None:
        if not trainer.fast_dev_run:
            trainer.save_checkpoint(self.path)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and not trainer.fast_dev_run:
            trainer.save_checkpoint(self.path)
            self.interrupted_at = trainer.global_step


def rank_seed(seed: int, rank: int, step: int) -> int:
    """The process RNG seed of ``rank`` when training starts (or resumes) at ``step``."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def seed_process(seed: int) -> None:
    """Seed the RNGs that training draws from: torch's, numpy's and Python's."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


class SeedPerRank(Callback):
    """Gives every process its own random stream when training starts or resumes.

    Lightning seeds all DDP processes alike, and with ``num_workers=0`` the random crops and
    gains of the dataset, SpecAugment and the speaker-cache training splits draw from the
    process RNG: ranks would draw the same crop positions and splits for their (different)
    windows. The step is mixed in so that a resumed run does not repeat the first draws.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_start(self, trainer, pl_module) -> None:
        seed_process(rank_seed(self.seed, trainer.global_rank, trainer.global_step))


def loggers(exp_dir: Path) -> list:
    """CSV (``metrics.csv``) and TensorBoard loggers; earlier runs' metrics.csv are kept as
    ``metrics.1.csv``, ``metrics.2.csv``, ..."""
    metrics = exp_dir / "metrics.csv"
    # under torchrun/srun every process runs this at once; only rank 0 writes metrics
    if metrics.is_file() and rank_zero_only.rank == 0:
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
