"""Which past frames to keep in an arrival-order speaker cache (a pure function), and the
training batches that show the network such a cache.

The streaming-Sortformer idea: a cache of pre-encoder embeddings, grouped speaker by speaker
in arrival order, prepended to a chunk, so the first cached speaker takes column 0 again, and
so on. Inference no longer uses a cache: long files and streams link chunk speakers through
speaker embeddings (``diarize.inference.linking``, issue 12). What remains here serves
training (``cache_training``), which models trained so far were built with.
"""

from __future__ import annotations

import numpy as np
import torch


def select_cache_frames(
    probs: torch.Tensor | np.ndarray, budget: int, threshold: float = 0.5
) -> torch.Tensor:
    """Frame indices to cache: each speaker's most confident single-speaker frames.

    Speakers are visited in arrival order (first frame above ``threshold``). Each keeps up to
    ``budget // K`` frames where it alone is above ``threshold``,
    ranked by the probability that it alone speaks (``p_k * prod_{j != k} (1 - p_j)``). The
    result is speaker-major (the first speaker's frames first, each speaker's in time order).

    Args:
        probs: speaker activities (targets or predictions), columns = speakers.
        budget: the most frames returned.
        threshold: activity threshold.

    Shape:
        probs (T, K) -> (S,) with S <= budget
    """
    p = torch.as_tensor(np.asarray(probs) if not torch.is_tensor(probs) else probs)
    p = p.detach().float().cpu()
    frames, speakers = p.shape
    if frames == 0 or speakers == 0 or budget <= 0:
        return torch.zeros(0, dtype=torch.long)
    quota = budget // speakers
    active = p > threshold
    first = torch.where(active.any(0), active.int().argmax(0), frames)
    clipped = p.clamp(1e-6, 1 - 1e-6)
    log_off = torch.log1p(-clipped)
    # log P(only k speaks) = log p_k + sum_{j != k} log(1 - p_j)
    alone = torch.log(clipped) + log_off.sum(1, keepdim=True) - log_off
    alone_active = active.sum(1) == 1  # overlapped frames would blur the speaker's identity
    chosen: list[torch.Tensor] = []
    for k in torch.argsort(first, stable=True).tolist():
        if first[k] == frames or quota == 0:
            continue
        candidates = torch.nonzero(active[:, k] & alone_active).flatten()
        if len(candidates) > quota:
            candidates = _best_spread(candidates, alone[candidates, k], quota)
        chosen.append(candidates)
    if not chosen:
        return torch.zeros(0, dtype=torch.long)
    return torch.cat(chosen).long()


def _best_spread(candidates: torch.Tensor, scores: torch.Tensor, quota: int) -> torch.Tensor:
    """The ``quota`` best-scoring candidates; ties at the cut are taken evenly spread in time.

    Binary targets score all single-speaker frames alike: spreading the pick over the whole
    span shows the model more of the speaker than the first ``quota`` frames would.
    """
    cut = torch.topk(scores, quota).values[-1]
    sure = candidates[scores > cut + 1e-6]
    tied = candidates[(scores - cut).abs() <= 1e-6]
    need = quota - len(sure)
    picks = torch.linspace(0, len(tied) - 1, need).round().long() if need > 0 else tied[:0]
    return torch.sort(torch.cat([sure, tied[picks]])).values


def cache_training_batch(
    emb: torch.Tensor,
    lengths: torch.Tensor,
    targets: torch.Tensor,
    prob: float,
    budget: int,
    min_split_frames: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn some windows into ``[speaker cache ; rest of window]`` inputs, as inference sees.

    With probability ``prob`` a sample is split at a random frame ``s``; its cache frames are
    picked from the targets of ``[0, s)`` (:func:`select_cache_frames`) and the sample becomes
    the cached embeddings followed by the embeddings after ``s``, with the matching target
    rows. The others are kept whole. The inputs are not changed.

    Shape:
        emb (B, T, D), lengths (B,), targets (B, T, K) -> (B, T', D), (B,), (B, T', K)
    """
    pieces_emb, pieces_targets = [], []
    for b in range(emb.shape[0]):
        length = int(lengths[b])
        split_room = length - 2 * min_split_frames
        draw = torch.rand((), generator=generator)
        if prob > 0 and split_room > 0 and float(draw) < prob:
            split = min_split_frames + int(torch.randint(0, split_room, (), generator=generator))
            chosen = select_cache_frames(targets[b, :split], budget).to(emb.device)
            pieces_emb.append(torch.cat([emb[b, chosen], emb[b, split:length]]))
            pieces_targets.append(torch.cat([targets[b, chosen], targets[b, split:length]]))
        else:
            pieces_emb.append(emb[b, :length])
            pieces_targets.append(targets[b, :length])
    new_lengths = torch.tensor([len(piece) for piece in pieces_emb], device=lengths.device)
    padded_emb = torch.nn.utils.rnn.pad_sequence(pieces_emb, batch_first=True)
    padded_targets = torch.nn.utils.rnn.pad_sequence(pieces_targets, batch_first=True)
    return padded_emb, new_lengths, padded_targets
