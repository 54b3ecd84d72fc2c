"""Long stretches of noise alone, spliced into training windows (diarize/data/silence.py)."""

import numpy as np
import torch

from diarize.data.dataset import DiarizationDataset
from diarize.data.silence import arrival_order, noise_clip, splice_audio, splice_features
from tests.training.test_feature_cache import cached_tiny_set


def _targets() -> np.ndarray:
    t = np.zeros((40, 3), dtype=np.float32)
    t[2:12, 0] = 1  # A from frame 2
    t[14:30, 1] = 1  # B from frame 14
    t[32:36, 2] = 1  # C from frame 32
    return t


def test_arrival_order_sorts_columns_by_first_activity_and_puts_silent_ones_last():
    t = _targets()
    t[:14, 0] = 0  # A's turn gone: A silent now
    out = arrival_order(t)
    assert out[:, 0].argmax() == 14 and out[:, 1].argmax() == 32 and not out[:, 2].any()


def test_splice_features_replaces_whole_grid_windows_and_silences_their_targets():
    rng = np.random.default_rng(0)
    emb = np.arange(40 * 2, dtype=np.float32).reshape(40, 2)
    bank = -np.ones((3, 10, 2), dtype=np.float32)  # windows of 10 frames
    seen = set()
    for _ in range(50):
        out, targets = splice_features(emb, _targets(), bank, rng, grid_offset=7, max_windows=2)
        spliced = np.flatnonzero((out == -1).all(1))
        assert len(spliced) in (10, 20)
        assert spliced[0] % 10 == 3  # grid lines at frames 3, 13, 23, 33 of this window
        assert spliced[-1] - spliced[0] == len(spliced) - 1
        kept = np.setdiff1d(np.arange(40), spliced)
        assert np.array_equal(out[kept], emb[kept])
        assert not targets[spliced].any()
        # still in arrival order, and every frame not spliced keeps its speech
        firsts = [targets[:, k].argmax() for k in range(3) if targets[:, k].any()]
        assert firsts == sorted(firsts)
        assert targets[kept].sum() == _targets()[kept].sum()
        seen.add(spliced[0])
    assert seen == {3, 13, 23}  # every place a whole window fits
    short = emb[:12]
    out, targets = splice_features(short, _targets()[:12], bank, rng, grid_offset=5)
    assert out is short  # no whole window inside 12 frames starting 5 past a grid line


def test_splice_audio_puts_quiet_noise_where_the_targets_say_no_one_speaks():
    rng = np.random.default_rng(1)
    audio = np.random.default_rng(2).standard_normal(40 * 1280).astype(np.float32) * 0.1
    out, targets = splice_audio(audio, _targets(), rng, (1.0, 1.5), 1280)
    changed = np.flatnonzero(out != audio)
    lo, hi = changed.min() // 1280, changed.max() // 1280 + 1
    assert 12 <= hi - lo <= 19  # 1-1.5 s of 80 ms frames
    assert not targets[lo:hi].any()
    drop = 10 * np.log10(np.mean(audio**2) / np.mean(out[lo * 1280 : hi * 1280] ** 2))
    assert 20 <= drop <= 60


def test_noise_clips_are_finite_and_never_loud():
    rng = np.random.default_rng(3)
    for _ in range(40):
        clip = noise_clip(rng, 16000)
        assert clip.shape == (16000,) and np.isfinite(clip).all()
        assert 10 * np.log10(np.mean(clip.astype(np.float64) ** 2) + 1e-20) <= -29


def test_dataset_splices_bank_windows_into_training_windows(tmp_path):
    entries, turns, files = cached_tiny_set(tmp_path, np.ones((75, 4)))
    dataset = DiarizationDataset(
        entries, turns, 4.0, max_speakers=2, feature_files=files, silence_prob=1.0
    )
    dataset.silence_bank = np.zeros((2, 25, 4), dtype=np.float32)  # 2-s windows
    torch.manual_seed(0)
    item = dataset[0]
    silent = (item["emb"] == 0).all(1)
    assert silent.sum() in (25, 50)
    assert not item["targets"][silent].any()
