"""Sort (arrival-time) and PIL losses for SortFormer, as pure functions.

Targets and predictions are ``(batch, frames, speakers)``; ``lengths`` gives each sample's
valid frames (padding is ignored everywhere). The Sort loss compares the prediction with the
targets whose columns are sorted by arrival time; PIL compares it with the targets under the
best column assignment (Hungarian, so K = 8 costs no more than K = 4 in practice). No
function here changes its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from diarize.audio.features import lengths_mask


def arrival_keys(
    active: torch.Tensor, lengths: torch.Tensor | None, min_run: int = 1
) -> torch.Tensor:
    """Sort keys of arrival order: smaller arrives first.

    A speaker arrives at the first frame of its first run of ``min_run`` active frames in a
    row, so that a weak column blipping above 0.5 for a frame or two before a real speaker's
    onset does not re-rank the sort. Speakers with no such run come after all who have one
    (``T + first active frame``), and speakers never active last (``2 T``). The same rule
    orders the targets (Sort loss) and the network's own estimates.

    Shape:
        active (B, T, K) bool, lengths (B,) -> (B, K) int
    """
    frames = active.shape[1]
    if lengths is not None:
        active = active & lengths_mask(lengths, frames)[..., None]
    first = torch.where(active.any(1), active.int().argmax(1), frames)
    if min_run <= 1:
        return first
    runs = torch.nn.functional.avg_pool1d(
        active.transpose(1, 2).float(), min_run, stride=1
    ).transpose(1, 2)  # runs[:, t] = fraction active in [t, t + min_run)
    full = runs > 1 - 0.5 / min_run
    run_start = torch.where(full.any(1), full.int().argmax(1), frames)
    return torch.where(run_start < frames, run_start, frames + first)


def first_active(targets: torch.Tensor, lengths: torch.Tensor, min_run: int = 1) -> torch.Tensor:
    """Arrival keys of target columns (active: > 0.5); see :func:`arrival_keys`.

    Shape:
        targets (B, T, K), lengths (B,) -> (B, K)
    """
    return arrival_keys(targets > 0.5, lengths, min_run)


def _permute_columns(targets: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``out[b, :, k] = targets[b, :, order[b, k]]``. Shape: (B, T, K), (B, K) -> (B, T, K)"""
    batch, frames, speakers = targets.shape
    return targets.gather(2, order[:, None, :].expand(batch, frames, speakers))


def sort_targets(
    targets: torch.Tensor,
    lengths: torch.Tensor,
    probs: torch.Tensor | None = None,
    min_run: int = 1,
) -> torch.Tensor:
    """Targets with columns in arrival order (the Sort-loss targets).

    Column k becomes the k-th speaker to start; absent speakers go last. Speakers starting on
    the same frame are ordered to match ``probs`` best (Hungarian on inner products), or keep
    their column order when ``probs`` is None.

    Shape:
        targets (B, T, K), lengths (B,), probs (B, T, K) -> (B, T, K)
    """
    onsets = first_active(targets, lengths, min_run)
    order = torch.argsort(onsets, dim=1, stable=True)
    if probs is not None:
        order = _break_ties(targets, lengths, probs, onsets, order)
    return _permute_columns(targets, order)


def _break_ties(targets, lengths, probs, onsets, order) -> torch.Tensor:
    from scipy.optimize import linear_sum_assignment  # here: 0.4 s off every command's start

    frames = targets.shape[1]
    order = order.clone()
    sorted_onsets = onsets.gather(1, order).cpu().numpy()
    valid = lengths_mask(lengths, frames)[..., None]
    # inner products <target column i, prediction column j> over valid frames: (B, K, K)
    scores = torch.einsum("bti,btj->bij", (targets * valid).float(), (probs * valid).float())
    scores = scores.detach().cpu().numpy()
    order_np = order.cpu().numpy()
    for b in range(targets.shape[0]):
        start = 0
        row = sorted_onsets[b]
        while start < len(row):
            stop = start + 1
            while stop < len(row) and row[stop] == row[start]:
                stop += 1
            # absent speakers (key 2T) are all-zero columns: their order cannot matter
            if stop - start > 1 and row[start] < 2 * frames:
                group = order_np[b, start:stop]
                rows, cols = linear_sum_assignment(
                    scores[b][np.ix_(group, np.arange(start, stop))], maximize=True
                )
                order_np[b, start + cols] = group[rows]
            start = stop
    return torch.as_tensor(order_np, device=order.device)


def pil_cost(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """BCE summed over valid frames for every (target column, prediction column) pair.

    Shape:
        logits (B, T, K), targets (B, T, K), lengths (B,) -> cost (B, K, K)
    """
    valid = lengths_mask(lengths, logits.shape[1])[..., None].float()
    logits = logits.float()
    log_p = torch.nn.functional.logsigmoid(logits) * valid
    log_not_p = torch.nn.functional.logsigmoid(-logits) * valid
    targets = targets.float()
    return -(
        torch.einsum("bti,btj->bij", targets, log_p)
        + torch.einsum("bti,btj->bij", 1 - targets, log_not_p)
    )


def pil_targets(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Targets permuted to the prediction columns under the lowest-BCE assignment.

    Shape:
        logits (B, T, K), targets (B, T, K), lengths (B,) -> (B, T, K)
    """
    from scipy.optimize import linear_sum_assignment  # here: 0.4 s off every command's start

    cost = pil_cost(logits.detach(), targets, lengths).cpu().numpy()
    order = np.empty(cost.shape[:2], dtype=np.int64)
    for b, matrix in enumerate(cost):
        rows, cols = linear_sum_assignment(matrix)
        order[b, cols] = rows  # prediction column cols[i] is matched with target column rows[i]
    return _permute_columns(targets, torch.as_tensor(order, device=targets.device))


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the valid frames and all speakers.

    Shape:
        logits (B, T, K), targets (B, T, K), lengths (B,) -> ()
    """
    valid = lengths_mask(lengths, logits.shape[1])[..., None].expand_as(logits)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits.float(), targets.float(), reduction="none"
    )
    return (losses * valid).sum() / valid.sum().clamp(min=1)


@dataclass(frozen=True)
class LossTerms:
    """The hybrid loss and its parts (all scalars)."""

    loss: torch.Tensor
    sort_loss: torch.Tensor
    pil_loss: torch.Tensor
    intermediate_loss: torch.Tensor


def hybrid_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    lengths: torch.Tensor,
    sort_weight: float = 0.5,
    pil_weight: float = 0.5,
    intermediate_logits: list[torch.Tensor] | tuple = (),
    intermediate_weight: float = 0.0,
    min_run: int = 1,
) -> LossTerms:
    """``sort_weight * Sort + pil_weight * PIL + intermediate_weight * mean(block Sort losses)``,
    divided by the sum of the weights in use, so the weights are shares and the loss keeps the
    scale of one BCE whatever they are (learning rates carry over between settings).

    Args:
        logits: the network's output logits (columns in arrival order).
        targets: frame targets in any column order.
        lengths: valid frames per sample.
        intermediate_logits: earlier blocks' sorted logits (for the intermediate Sort losses).

    Shape:
        logits (B, T, K), targets (B, T, K), lengths (B,) -> scalars
    """
    if sort_weight < 0 or pil_weight < 0 or sort_weight + pil_weight <= 0:
        raise ValueError("sort_weight and pil_weight must be >= 0, not both 0")
    probs = torch.sigmoid(logits.detach().float())
    sort_loss = masked_bce(logits, sort_targets(targets, lengths, probs, min_run), lengths)
    pil_loss = (
        masked_bce(logits, pil_targets(logits, targets, lengths), lengths)
        if pil_weight > 0
        else logits.new_zeros((), dtype=torch.float32)
    )
    intermediate = logits.new_zeros((), dtype=torch.float32)
    if intermediate_weight > 0 and intermediate_logits:
        parts = []
        for block_logits in intermediate_logits:
            block_probs = torch.sigmoid(block_logits.detach().float())
            block_targets = sort_targets(targets, lengths, block_probs, min_run)
            parts.append(masked_bce(block_logits, block_targets, lengths))
        intermediate = torch.stack(parts).mean()
        total = sort_weight + pil_weight + intermediate_weight
    else:
        intermediate_weight, total = 0.0, sort_weight + pil_weight
    loss = sort_weight * sort_loss + pil_weight * pil_loss + intermediate_weight * intermediate
    return LossTerms(loss / total, sort_loss, pil_loss, intermediate)


def frame_errors(
    probs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor
) -> dict[str, float]:
    """Frame-level diarization error counts after the best (PIL) column assignment.

    ``der = (missed + false_alarm + confusion) / speech`` counted in speaker-frames, as
    md-eval does without collar; ``tp/fp/fn`` give the frame-level F1.

    Shape:
        probs (B, T, K), targets (B, T, K), lengths (B,) -> counts
    """
    logits = torch.logit(probs.float().clamp(1e-6, 1 - 1e-6))
    aligned = pil_targets(logits, targets, lengths) > 0.5
    valid = lengths_mask(lengths, probs.shape[1])[..., None]
    hyp = (probs > 0.5) & valid
    ref = aligned & valid
    n_ref, n_hyp = ref.sum(2), hyp.sum(2)
    correct = (ref & hyp).sum(2)
    return {
        "speech": float(n_ref.sum()),
        "missed": float((n_ref - n_hyp).clamp(min=0).sum()),
        "false_alarm": float((n_hyp - n_ref).clamp(min=0).sum()),
        "confusion": float((torch.minimum(n_ref, n_hyp) - correct).sum()),
        "tp": float(correct.sum()),
        "fp": float((hyp & ~ref).sum()),
        "fn": float((ref & ~hyp).sum()),
    }
