import numpy as np
import torch

from diarize.models.speaker_cache import cache_training_batch, select_cache_frames


def _targets():
    targets = torch.zeros(100, 4)
    targets[50:80, 0] = 1  # arrives second
    targets[10:40, 2] = 1  # arrives first
    targets[30:35, 0] = 1  # overlap with speaker 2: never a cache frame
    return targets


def test_speaker_major_in_arrival_order_and_time_order_within():
    chosen = select_cache_frames(_targets(), budget=20)
    assert chosen.dtype == torch.long
    assert len(chosen) == 10  # budget // K = 5 per present speaker
    first, second = chosen[:5], chosen[5:]
    assert torch.all((first >= 10) & (first < 40) & ((first < 30) | (first >= 35)))
    assert torch.all((second >= 50) & (second < 80))
    assert torch.all(first[1:] > first[:-1]) and torch.all(second[1:] > second[:-1])


def test_single_speaker_frames_win_over_overlap_and_spread_in_time():
    chosen = select_cache_frames(_targets(), budget=400)
    assert not set(range(30, 35)) & set(chosen.tolist())
    few = select_cache_frames(_targets(), budget=8)
    assert few[:2].tolist() == [10, 39]


def test_confidence_ranks_predictions_and_numpy_input_works():
    probs = np.zeros((6, 2), dtype=np.float32)
    probs[:, 0] = [0.6, 0.95, 0.7, 0.99, 0.55, 0.2]
    chosen = np.asarray(select_cache_frames(probs, budget=4))
    assert chosen.tolist() == [1, 3]


def test_empty_and_zero_budget():
    assert len(select_cache_frames(torch.zeros(0, 4), 10)) == 0
    assert len(select_cache_frames(_targets(), 0)) == 0
    assert len(select_cache_frames(torch.zeros(50, 4), 10)) == 0


def test_cache_training_batch_builds_cache_then_rest():
    emb = torch.arange(100, dtype=torch.float32)[None, :, None].repeat(2, 1, 3)
    targets = _targets()[None].repeat(2, 1, 1)
    lengths = torch.tensor([100, 90])
    generator = torch.Generator().manual_seed(0)
    new_emb, new_lengths, new_targets = cache_training_batch(
        emb, lengths, targets, prob=1.0, budget=20, min_split_frames=30, generator=generator
    )
    assert torch.equal(emb[0, :, 0], torch.arange(100.0))  # inputs untouched
    for b in range(2):
        length = int(new_lengths[b])
        frames = new_emb[b, :length, 0].long()
        assert torch.equal(new_targets[b, :length], targets[b, frames])
        # the rest of the window is a contiguous run ending at the last frame; cache rows before
        tail = length - 1
        while tail > 0 and frames[tail - 1] == frames[tail] - 1:
            tail -= 1
        assert frames[-1] == lengths[b] - 1
        assert length - tail >= 30  # the split leaves at least min_split_frames after it
        assert 0 < tail <= 20 and torch.all(frames[:tail] < frames[tail])
    kept, kept_lengths, _ = cache_training_batch(emb, lengths, targets, 0.0, 20, 10)
    assert torch.equal(kept_lengths, lengths)
    assert torch.equal(kept[1, :90], emb[1, :90])
