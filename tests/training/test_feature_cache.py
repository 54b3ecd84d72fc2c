"""Training with a frozen pretrained front end reads features cached once per recording."""

import numpy as np
import torch

from diarize.cli.main import main
from diarize.data.dataset import DiarizationDataset, collate_windows, load_checked_manifest
from diarize.data.feature_cache import feature_path
from tests.cli.test_train import SHRINK, _tiny_set

CAMPPLUS = [
    "model.encoder.type=campplus",
    "model.encoder.window_sec=2.0",
    "model.encoder.context_sec=0.24",
    "model.sortformer.arrival_min_frames=3",
    "model.cache_training.prob=0",
    "model.train_ds.silence_prob=0",  # the silence bank has a test of its own
]


def test_features_are_cached_once_and_training_resumes_on_them(tmp_path):
    manifest = _tiny_set(tmp_path)
    cache = tmp_path / "features"
    args = ["train", *SHRINK, *CAMPPLUS, f"model.train_ds.manifest_filepath={manifest}"]
    args += [f"model.train_ds.feature_cache={cache}", f"exp_dir={tmp_path / 'exp'}"]
    args += ["trainer.max_steps=2", "trainer.enable_progress_bar=false"]
    assert main(args) == 0
    files = sorted(cache.glob("*.npy"))
    assert len(files) == 2
    stored = np.load(files[0])
    assert stored.dtype == np.float16 and stored.shape[1] == 512
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main([*args[:-2], "trainer.max_steps=3", "trainer.enable_progress_bar=false"]) == 0
    assert [f.stat().st_mtime_ns for f in files] == stamps  # resumed without recomputing
    assert (tmp_path / "exp" / "checkpoints" / "last.ckpt").is_file()


def _campplus_config():
    from diarize.models.config import EncoderConfig, NetworkConfig, SortformerConfig

    return NetworkConfig(
        encoder=EncoderConfig(type="campplus", window_sec=2.0, context_sec=0.24, d_model=32,
                              num_layers=1, num_heads=2, ff_expansion=2, conv_kernel_size=7),
        sortformer=SortformerConfig(d_model=32, num_layers=2, num_heads=2, ff_dim=64),
    )  # fmt: skip


def test_the_silence_bank_holds_noise_windows_of_the_front_end_and_is_built_once(tmp_path):
    from diarize.models import build_network
    from diarize.training.feature_cache import silence_bank

    network = build_network(_campplus_config()).eval()
    bank = silence_bank(network, tmp_path, count=3)
    width = network.campplus.window // 8
    assert bank.shape == (3, width, 512) and np.isfinite(bank).all()
    (path,) = (tmp_path / "silence").glob("bank-*.npy")
    stamp = path.stat().st_mtime_ns
    assert np.array_equal(silence_bank(network, tmp_path, count=3), bank)
    assert path.stat().st_mtime_ns == stamp
    # what the front end gives the middle of a long stretch of that noise
    from diarize.data.silence import noise_clip

    clip = noise_clip(np.random.default_rng(0), 3 * width * 1280)
    with torch.no_grad():
        emb, _ = network.campplus(torch.from_numpy(clip)[None], torch.tensor([len(clip)]))
    assert torch.allclose(emb[0, width : 2 * width], torch.from_numpy(bank[0]), atol=2e-2)


def cached_tiny_set(folder, features: np.ndarray):
    """The tiny training set with ``features`` cached for each recording: entries, turns, files."""
    entries, turns = load_checked_manifest(_tiny_set(folder))
    files = [feature_path(folder, entry, "test") for entry in entries]
    for path in files:
        np.save(path, features.astype(np.float16))
    return entries, turns, files


def test_cached_windows_match_their_targets(tmp_path):
    entries, turns, files = cached_tiny_set(tmp_path, np.arange(75 * 4).reshape(75, 4))  # 6 s
    dataset = DiarizationDataset(
        entries, turns, 4.0, max_speakers=2, random_crop=False, feature_files=files
    )
    batch = collate_windows([dataset[0], dataset[1]])
    assert batch["emb"].shape == (2, 50, 4) and batch["targets"].shape == (2, 50, 2)
    assert torch.equal(batch["emb_lengths"], torch.tensor([50, 25]))
    assert batch["emb"][1, 0, 0] == 50 * 4  # the second tile starts at frame 50 (4.0 s)
    # speaker A of rec0 speaks from 0.4 s: frame 5 on
    assert batch["targets"][0, :5].sum() == 0 and batch["targets"][0, 5:20, 0].all()
