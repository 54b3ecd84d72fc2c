"""Lightning data module: training and validation loaders from manifests."""

from __future__ import annotations

import lightning as L
import torch

from diarize.data.config import DatasetConfig
from diarize.data.dataset import DiarizationDataset, collate_windows, load_checked_manifest


class DiarizationDataModule(L.LightningDataModule):
    """Loaders for ``train_ds`` and (optionally) ``validation_ds``.

    Every manifest entry's audio and RTTM is checked when the module is built, so a missing
    file fails before training starts, not hours into it.

    Args:
        train_ds: the training split.
        validation_ds: the validation split (its manifest may be None: no validation).
        max_speakers: target columns K.
    """

    def __init__(self, train_ds: DatasetConfig, validation_ds: DatasetConfig, max_speakers: int):
        super().__init__()
        self.train_config, self.validation_config = train_ds, validation_ds
        self.train_set = self._dataset(train_ds, max_speakers, training=True)
        self.validation_set = (
            self._dataset(validation_ds, max_speakers, training=False)
            if validation_ds.manifest_filepath
            else None
        )

    @staticmethod
    def _dataset(config: DatasetConfig, max_speakers: int, training: bool) -> DiarizationDataset:
        entries, turns = load_checked_manifest(config.manifest_filepath)
        return DiarizationDataset(
            entries,
            turns,
            session_len_sec=config.session_len_sec,
            max_speakers=max_speakers,
            random_crop=config.random_crop and training,
            min_window_sec=config.min_window_sec,
            normalize=config.normalize,
            gain_db=config.gain_db if training else 0.0,
            silence_prob=config.silence_prob if training else 0.0,
            silence_sec=config.silence_sec,
        )

    def _loader(self, dataset: DiarizationDataset, config: DatasetConfig, shuffle: bool):
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size,
            shuffle=shuffle,
            num_workers=config.num_workers,
            collate_fn=collate_windows,
            persistent_workers=config.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            drop_last=False,
        )

    def train_dataloader(self):
        return self._loader(self.train_set, self.train_config, self.train_config.shuffle)

    def val_dataloader(self):
        if self.validation_set is None:
            return []
        return self._loader(self.validation_set, self.validation_config, shuffle=False)
