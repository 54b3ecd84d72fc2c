"""Lightning callbacks and loggers of a training run."""

from __future__ import annotations

import warnings
from pathlib import Path

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger


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


def loggers(exp_dir: Path) -> list:
    """CSV (``metrics.csv``) and TensorBoard loggers; earlier runs' metrics.csv are kept as
    ``metrics.1.csv``, ``metrics.2.csv``, ..."""
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
