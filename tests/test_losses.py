import itertools

import pytest
import torch

from diarize.losses import (
    first_active,
    frame_errors,
    hybrid_loss,
    masked_bce,
    pil_cost,
    pil_targets,
    sort_targets,
)


def _labels():
    """Speaker columns: 0 starts at frame 4, 1 is absent, 2 starts at 0, 3 starts at 2 (overlaps 2)."""
    y = torch.zeros(1, 10, 4)
    y[0, 4:8, 0] = 1
    y[0, 0:3, 2] = 1
    y[0, 2:6, 3] = 1
    return y


def test_first_active_respects_padding():
    y = _labels()
    assert first_active(y, torch.tensor([10])).tolist() == [[4, 10, 0, 2]]
    assert first_active(y, torch.tensor([3])).tolist() == [[10, 10, 0, 2]]


def test_sort_targets_arrival_order_absent_last():
    y = _labels()
    sorted_y = sort_targets(y, torch.tensor([10]))
    assert torch.equal(sorted_y[0, :, 0], y[0, :, 2])
    assert torch.equal(sorted_y[0, :, 1], y[0, :, 3])
    assert torch.equal(sorted_y[0, :, 2], y[0, :, 0])
    assert torch.all(sorted_y[0, :, 3] == 0)
    assert torch.all(y == _labels())  # inputs untouched


def test_sort_targets_is_invariant_to_column_permutation():
    y = _labels()
    expected = sort_targets(y, torch.tensor([10]))
    for perm in itertools.permutations(range(4)):
        assert torch.equal(sort_targets(y[..., list(perm)], torch.tensor([10])), expected)


def test_ties_are_broken_by_the_predictions():
    y = torch.zeros(1, 6, 3)
    y[0, 1:3, 0] = 1  # both start at frame 1
    y[0, 1:6, 1] = 1
    probs = torch.zeros(1, 6, 3)
    probs[0, 1:6, 0] = 0.9  # the prediction's first column looks like speaker 1
    probs[0, 1:3, 1] = 0.9
    sorted_y = sort_targets(y, torch.tensor([6]), probs)
    assert torch.equal(sorted_y[0, :, 0], y[0, :, 1])
    assert torch.equal(sorted_y[0, :, 1], y[0, :, 0])
    plain = sort_targets(y, torch.tensor([6]))
    assert torch.equal(plain, y)  # without predictions ties keep column order


def test_pil_finds_the_permutation_and_cost_is_permutation_invariant():
    y = _labels()
    perm = [3, 0, 2, 1]
    logits = (y[..., perm] * 2 - 1) * 6  # a confident prediction of permuted columns
    aligned = pil_targets(logits, y, torch.tensor([10]))
    assert torch.equal(aligned, y[..., perm])
    lengths = torch.tensor([10])
    cost = pil_cost(logits, y, lengths)
    shuffled = pil_cost(logits[..., [1, 2, 3, 0]], y, lengths)
    torch.testing.assert_close(shuffled, cost[..., [1, 2, 3, 0]])
    loss = masked_bce(logits, aligned, lengths)
    for other in itertools.permutations(range(4)):
        assert masked_bce(logits, y[..., list(other)], lengths) >= loss - 1e-6


def test_pil_with_eight_speakers():
    torch.manual_seed(0)
    y = (torch.rand(2, 50, 8) > 0.6).float()
    perm = torch.randperm(8)
    logits = (y[..., perm] * 2 - 1) * 5
    assert torch.equal(pil_targets(logits, y, torch.tensor([50, 50])), y[..., perm])


def test_masked_bce_ignores_padding():
    logits = torch.zeros(1, 4, 2)
    y = torch.zeros(1, 4, 2)
    y[0, 2:] = 1  # only in the padding
    assert masked_bce(logits, y, torch.tensor([2])) == pytest.approx(
        masked_bce(logits[:, :2], y[:, :2], torch.tensor([2]))
    )
    garbage = logits.clone()
    garbage[0, 2:] = 100.0
    assert masked_bce(garbage, y, torch.tensor([2])) == masked_bce(logits, y, torch.tensor([2]))


def test_hybrid_loss_weights_and_gradient():
    y = _labels()
    lengths = torch.tensor([10])
    logits = torch.randn(1, 10, 4, requires_grad=True)
    terms = hybrid_loss(logits, y, lengths, sort_weight=0.3, pil_weight=0.7)
    assert terms.loss.item() == pytest.approx(
        0.3 * terms.sort_loss.item() + 0.7 * terms.pil_loss.item(), rel=1e-5
    )
    assert terms.pil_loss <= terms.sort_loss + 1e-6  # PIL is the best assignment
    terms.loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    block = torch.randn(1, 10, 4)
    with_blocks = hybrid_loss(logits, y, lengths, 0.5, 0.5, [block, block], intermediate_weight=1.0)
    assert with_blocks.intermediate_loss > 0
    with pytest.raises(ValueError):
        hybrid_loss(logits, y, lengths, sort_weight=0, pil_weight=0)


def test_perfect_sorted_prediction_has_low_sort_loss():
    y = sort_targets(_labels(), torch.tensor([10]))
    logits = (y * 2 - 1) * 8
    terms = hybrid_loss(logits, _labels(), torch.tensor([10]))
    assert terms.sort_loss < 1e-3 and terms.pil_loss < 1e-3


def test_frame_errors_counts():
    y = torch.zeros(1, 4, 2)
    y[0, :, 0] = 1  # speaker A talks all 4 frames
    y[0, 2:, 1] = 1  # speaker B joins for 2
    probs = torch.zeros(1, 4, 2)
    probs[0, :3, 1] = 0.9  # A found in the other column for 3 frames; B missed
    probs[0, 0, 0] = 0.9  # a false alarm
    counts = frame_errors(probs, y, torch.tensor([4]))
    assert counts["speech"] == 6
    assert counts["missed"] == 3  # frame 2: 2 ref 1 hyp; frame 3: 2 ref 0 hyp
    assert counts["false_alarm"] == 1
    assert counts["confusion"] == 0
    assert counts["tp"] == 3
