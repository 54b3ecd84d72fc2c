"""Training on several processes (DDP over gloo on the CPU), as on N GPUs or M machines.

Two things are checked:

* the data each rank sees: Lightning shards the training windows with a DistributedSampler
  (disjoint shards that together cover every window, re-shuffled each epoch) and every rank
  draws its own random crops, gains and speaker-cache splits (``SeedPerRank``);
* the numbers: a 2-process run (2 windows per rank and step), stopped after 2 steps and resumed
  from its checkpoint, ends with the weights of a 1-process run of 4 steps with 4 windows a step.
  Dropout, dither, SpecAugment, random crops, gains and the speaker-cache training are off so
  both runs compute the same thing; what is left differs only in the order of float32 sums
  (gloo averages the two half-batch gradients, one process sums the whole batch at once).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from diarize.cli.main import main
from diarize.data.dataset import DiarizationDataset, collate_windows, load_checked_manifest
from diarize.models.speaker_cache import cache_training_batch
from diarize.training.callbacks import rank_seed, seed_process
from tests.cli.test_train import SHRINK, _tiny_set

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WORLD = 2
SEED = 42
# every random draw of training off: the two runs must compute the same steps
DETERMINISTIC = [
    "model.train_ds.session_len_sec=3.0",  # 2 recordings x 2 tiles = 4 windows of 3 s
    "model.train_ds.random_crop=false",
    "model.train_ds.gain_db=0",
    "model.train_ds.silence_prob=0",
    "model.features.dither=0",
    "model.spec_augment.freq_masks=0",
    "model.spec_augment.time_masks=0",
    "model.encoder.dropout=0",
    "model.sortformer.dropout=0",
    "model.cache_training.prob=0",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    f"seed={SEED}",
]
# a weight may differ between the runs by this fraction of how far training moved it in
# steps 3-4 (plus 1e-6 absolute): float32 sums in another order (see module doc) stay well
# below it; Adam divides by the gradient's running RMS, so a weight whose gradient is near 0
# moves by a visible fraction on rounding alone (measured: 1.5% on one attention bias). A
# wrong DDP (gradients not averaged, a rank's shard lost or seen twice) differs by the order
# of the movement itself.
RELATIVE_TOLERANCE = 0.05


def _rank_loader(dataset, rank: int, epoch: int) -> DataLoader:
    """The training loader of one rank, with the sampler Lightning puts in under DDP."""
    sampler = DistributedSampler(dataset, num_replicas=WORLD, rank=rank, shuffle=True, seed=SEED)
    sampler.set_epoch(epoch)
    return DataLoader(dataset, batch_size=2, sampler=sampler, collate_fn=collate_windows)


def test_ranks_see_disjoint_shards_and_draw_their_own_crops(tmp_path):
    entries, turns = load_checked_manifest(_tiny_set(tmp_path))
    # random 2-s crops of 6-s recordings (3 window slots each), with random gains
    dataset = DiarizationDataset(entries, turns, 2.0, 4, random_crop=True, gain_db=6.0)
    assert len(dataset) == 6
    for epoch in range(2):
        shards, crops = [], []
        for rank in range(WORLD):
            seed_process(rank_seed(SEED, rank, step=epoch * 3))
            loader = _rank_loader(dataset, rank, epoch)
            shards.append(list(loader.sampler))
            crops.append([offset for batch in loader for offset in batch["offsets"]])
        # each window slot once per epoch: no duplicate, none dropped
        assert sorted(shards[0] + shards[1]) == list(range(len(dataset)))
        # the ranks' crop positions differ (they would repeat each other with one seed)
        assert not set(crops[0]) & set(crops[1])

    # what SeedPerRank prevents: alike seeds give rank 1 the crop positions of rank 0
    same = []
    for rank in range(WORLD):
        seed_process(SEED)
        same.append([o for batch in _rank_loader(dataset, rank, 0) for o in batch["offsets"]])
    assert same[0] == pytest.approx(same[1])

    # the speaker-cache training splits are drawn per rank too
    emb, targets = torch.randn(4, 100, 8), torch.rand(4, 100, 4).round()
    lengths = torch.full((4,), 100)
    splits = []
    for rank in range(WORLD):
        seed_process(rank_seed(SEED, rank, 0))
        splits.append(cache_training_batch(emb, lengths, targets, 1.0, 10, 5)[1].tolist())
    assert splits[0] != splits[1]


def _weights(exp_dir):
    checkpoint = torch.load(exp_dir / "checkpoints" / "last.ckpt", weights_only=False)
    return checkpoint["global_step"], checkpoint["state_dict"]


def _ddp_train(manifest, exp_dir, steps: int) -> str:
    command = [
        sys.executable, "-m", "diarize", "train", *SHRINK, *DETERMINISTIC,
        f"model.train_ds.manifest_filepath={manifest}", f"exp_dir={exp_dir}",
        "model.train_ds.batch_size=2", f"trainer.max_steps={steps}",
        "trainer.strategy=ddp", f"trainer.devices={WORLD}",
    ]  # fmt: skip
    # one thread per process: the 2 processes share the cores
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def test_two_processes_resume_and_match_one_process(tmp_path):
    manifest = _tiny_set(tmp_path)

    out = _ddp_train(manifest, tmp_path / "ddp", steps=2)
    assert "Starting with 2 processes" in out and "distributed_backend=gloo" in out
    step, halfway = _weights(tmp_path / "ddp")
    assert step == 2
    out = _ddp_train(manifest, tmp_path / "ddp", steps=4)
    assert "resuming from" in out
    step, ddp = _weights(tmp_path / "ddp")
    assert step == 4

    args = ["train", *SHRINK, *DETERMINISTIC, f"model.train_ds.manifest_filepath={manifest}"]
    args += [f"exp_dir={tmp_path / 'one'}", "model.train_ds.batch_size=4", "trainer.max_steps=4"]
    assert main(args) == 0
    step, one = _weights(tmp_path / "one")
    assert step == 4

    assert ddp.keys() == one.keys()
    for name, weight in one.items():
        moved = (weight - halfway[name]).abs().max().item()
        difference = (ddp[name] - weight).abs().max().item()
        assert difference <= RELATIVE_TOLERANCE * moved + 1e-6, (name, difference, moved)
