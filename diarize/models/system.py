"""The training system: a LightningModule around :class:`SortformerNetwork`.

It owns the loss, SpecAugment, speaker-cache training, the optimiser schedule and the
validation metrics; the network knows nothing of training. Checkpoints carry the resolved
config, so :func:`diarize.models.load_model` can rebuild the network and its features.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from diarize.audio.features import FRAME_SHIFT, SpecAugment
from diarize.losses import frame_errors, hybrid_loss
from diarize.models.campplus_frontend import load_pretrained_campplus
from diarize.models.config import ModelConfig, network_config
from diarize.models.sortformer import SortformerNetwork
from diarize.models.speaker_cache import cache_training_batch

ERROR_KEYS = ("speech", "missed", "false_alarm", "confusion", "tp", "fp", "fn")


def warmup_inverse_sqrt(step: int, warmup_steps: int, floor: float) -> float:
    """Learning-rate factor: linear warm-up, then ``sqrt(warmup / step)``, never below ``floor``."""
    step = step + 1
    warmup = max(warmup_steps, 1)
    factor = step / warmup if step < warmup else math.sqrt(warmup / step)
    return max(factor, floor)


class SortformerSystem(L.LightningModule):
    """Trains a SortFormer network with the hybrid Sort + PIL loss.

    Args:
        config: the whole resolved training config as a plain dict (``model`` and the rest).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        from omegaconf import OmegaConf

        self.model_config: ModelConfig = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(ModelConfig), config["model"])
        )
        self.network = SortformerNetwork(network_config(config))
        pretrained = self.model_config.encoder.pretrained
        if self.network.pretrained_front_end and pretrained:
            load_pretrained_campplus(self.network.campplus, pretrained)
        augment = self.model_config.spec_augment
        self.spec_augment = SpecAugment(
            augment.freq_masks, augment.freq_width, augment.time_masks, augment.time_width
        )
        self._errors: dict[str, float] = {}

    # -- steps ----------------------------------------------------------------------------

    def _logits(self, batch: dict, training: bool):
        network = self.network
        if "emb" in batch:  # front-end features cached on disk (frozen pretrained front end)
            emb, lengths = batch["emb"].float(), batch["emb_lengths"]
        elif network.pretrained_front_end:
            emb, lengths = network.embed_audio(batch["audio"], batch["audio_lengths"])
        else:
            feats, feat_lengths = network.features(batch["audio"], batch["audio_lengths"])
            if training:
                feats = self.spec_augment(feats, feat_lengths)
            emb, lengths = network.embed(feats, feat_lengths)
        frames = emb.shape[1]
        targets = batch["targets"][:, :frames]
        lengths = torch.minimum(lengths, batch["target_lengths"])
        cache = self.model_config.cache_training
        if training and cache.prob > 0:
            emb, lengths, targets = cache_training_batch(
                emb,
                lengths,
                targets,
                cache.prob,
                cache.budget,
                int(round(cache.min_split_sec / FRAME_SHIFT)),
            )
        intermediate = self.model_config.loss.intermediate_weight > 0
        logits, earlier = network.forward_logits(emb, lengths, intermediate=intermediate)
        return logits, earlier, targets, lengths

    def _loss(self, logits, earlier, targets, lengths):
        weights = self.model_config.loss
        return hybrid_loss(
            logits,
            targets,
            lengths,
            sort_weight=weights.sort_weight,
            pil_weight=weights.pil_weight,
            intermediate_logits=earlier,
            intermediate_weight=weights.intermediate_weight,
            min_run=self.model_config.sortformer.arrival_min_frames,
        )

    def training_step(self, batch: dict, batch_index: int) -> torch.Tensor:
        logits, earlier, targets, lengths = self._logits(batch, training=True)
        terms = self._loss(logits, earlier, targets, lengths)
        size = len(lengths)
        self.log("train_loss", terms.loss, prog_bar=True, batch_size=size)
        self.log("train_sort_loss", terms.sort_loss, batch_size=size)
        self.log("train_pil_loss", terms.pil_loss, batch_size=size)
        if self.model_config.loss.intermediate_weight > 0:
            self.log("train_intermediate_loss", terms.intermediate_loss, batch_size=size)
        self.log("learning_rate", self.optimizers().param_groups[0]["lr"], batch_size=size)
        return terms.loss

    def on_validation_epoch_start(self) -> None:
        self._errors = dict.fromkeys(ERROR_KEYS, 0.0)

    def validation_step(self, batch: dict, batch_index: int) -> torch.Tensor:
        logits, earlier, targets, lengths = self._logits(batch, training=False)
        terms = self._loss(logits, earlier, targets, lengths)
        self.log("val_loss", terms.loss, sync_dist=True, batch_size=len(lengths))
        counts = frame_errors(torch.sigmoid(logits.float()), targets, lengths)
        for key in ERROR_KEYS:
            self._errors[key] += counts[key]
        return terms.loss

    def on_validation_epoch_end(self) -> None:
        if not self._errors:
            return
        totals = torch.tensor([self._errors[key] for key in ERROR_KEYS], device=self.device)
        totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        sums = dict(zip(ERROR_KEYS, totals.tolist(), strict=True))
        speech = max(sums["speech"], 1.0)
        der = (sums["missed"] + sums["false_alarm"] + sums["confusion"]) / speech
        f1 = 2 * sums["tp"] / max(2 * sums["tp"] + sums["fp"] + sums["fn"], 1.0)
        self.log("val_der", 100.0 * der, prog_bar=True)
        self.log("val_f1", f1, prog_bar=True)
        self.log("val_missed", 100.0 * sums["missed"] / speech)
        self.log("val_false_alarm", 100.0 * sums["false_alarm"] / speech)
        self.log("val_confusion", 100.0 * sums["confusion"] / speech)

    # -- optimiser and checkpoints ---------------------------------------------------------

    def parameter_groups(self) -> list[dict]:
        """Trainable parameters; a pretrained front end being fine-tuned gets its own LR."""
        encoder = self.model_config.encoder
        front = []
        if self.network.pretrained_front_end:
            front = [p for p in self.network.campplus.parameters() if p.requires_grad]
        front_ids = {id(p) for p in front}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in front_ids]
        groups = [{"params": rest}]
        if front:
            groups.append(
                {"params": front, "lr": self.model_config.optim.lr * encoder.lr_multiplier}
            )
        return groups

    def configure_optimizers(self):
        optim = self.model_config.optim
        optimizer = torch.optim.AdamW(
            self.parameter_groups(),
            lr=optim.lr,
            betas=tuple(optim.betas),
            weight_decay=optim.weight_decay,
        )
        floor = optim.min_lr / optim.lr

        def schedule(step: int) -> float:
            return warmup_inverse_sqrt(step, optim.warmup_steps, floor)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # load_model() rebuilds the network from these two without Lightning
        checkpoint["diarize_config"] = self.config
        checkpoint["network_config"] = self.network.config_dict()
