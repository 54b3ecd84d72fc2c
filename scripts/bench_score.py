"""Benchmark: ``diarize.metrics.scoring.score`` vs one plain pyannote.metrics DER call.

Generates a seeded synthetic conversation (4 speakers, ~1,150 turns per hour, some overlap) and a
hypothesis with boundary jitter, missed turns, speaker confusions and false alarms, then times one
``DiarizationErrorRate(collar=0)(ref, hyp, uem=...)`` call against ``score(..., collar=0)`` on
the same pair and prints both times, their ratio and both DERs (equal at collar 0, since the
synthetic turns of one speaker never overlap each other).

Usage:
    python scripts/bench_score.py               # 8 hours
    python scripts/bench_score.py --hours 1 --seed 3
"""

from __future__ import annotations

import argparse
import random
import time

from pyannote.core import Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from diarize.data.rttm import Turn, turns_to_annotation
from diarize.metrics.scoring import score


def synthetic_pair(hours: float, seed: int, num_speakers: int = 4) -> tuple[list[Turn], list[Turn]]:
    """A reference conversation and a flawed hypothesis of it (no same-speaker overlap)."""
    rng = random.Random(seed)
    uri, stop = "session", hours * 3600.0
    ref: list[Turn] = []
    busy_until = dict.fromkeys(range(num_speakers), 0.0)
    t = 0.0
    while t < stop:
        speaker = rng.randrange(num_speakers)
        start = max(t, busy_until[speaker])
        end = start + rng.uniform(0.5, 5.0)
        ref.append(Turn(uri, round(start, 3), round(end, 3), f"spk{speaker}"))
        busy_until[speaker] = end
        # mostly a pause, sometimes the next speaker starts before this one finishes
        t = end + (rng.uniform(-1.0, -0.1) if rng.random() < 0.15 else rng.uniform(0.0, 0.8))
    relabel = {f"spk{k}": f"sys{(k + 1) % num_speakers}" for k in range(num_speakers)}
    hyp: list[Turn] = []
    hyp_busy: dict[str, float] = {}
    for turn in ref:
        if rng.random() < 0.05:
            continue  # missed turn
        label = relabel[turn.speaker]
        if rng.random() < 0.07:
            label = f"sys{rng.randrange(num_speakers)}"  # confusion
        start = max(turn.start + rng.uniform(-0.3, 0.3), hyp_busy.get(label, 0.0), 0.0)
        end = turn.end + rng.uniform(-0.3, 0.3)
        if end - start > 0.05:
            hyp.append(Turn(uri, round(start, 3), round(end, 3), label))
            hyp_busy[label] = round(end, 3)
    for _ in range(int(40 * hours)):  # false alarms, in pauses or over speech
        start = rng.uniform(0, stop)
        end = start + rng.uniform(0.2, 1.0)
        hyp.append(Turn(uri, round(start, 3), round(end, 3), f"sys{rng.randrange(num_speakers)}"))
    # keep each hypothesis speaker free of self-overlap, which plain pyannote would count twice
    kept: list[Turn] = []
    last_end: dict[str, float] = {}
    for turn in sorted(hyp, key=lambda h: (h.start, h.end)):
        if turn.start >= last_end.get(turn.speaker, 0.0):
            kept.append(turn)
            last_end[turn.speaker] = turn.end
    return ref, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="length of the file (8)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ref, hyp = synthetic_pair(args.hours, args.seed)
    start, end = min(t.start for t in ref + hyp), max(t.end for t in ref + hyp)
    print(f"{args.hours:g} h file: {len(ref)} reference turns, {len(hyp)} hypothesis turns")

    tic = time.perf_counter()
    ours = score({"session": ref}, {"session": hyp}, {"session": [(start, end)]}, collar=0.0)
    ours_seconds = time.perf_counter() - tic

    reference, hypothesis = turns_to_annotation(ref), turns_to_annotation(hyp)
    uem = Timeline([Segment(start, end)])
    tic = time.perf_counter()
    plain_der = DiarizationErrorRate(collar=0.0)(reference, hypothesis, uem=uem)
    plain_seconds = time.perf_counter() - tic

    print(
        f"plain pyannote DiarizationErrorRate(collar=0): {plain_seconds:8.2f} s  DER {100 * plain_der:.4f} %"
    )
    print(
        f"diarize score(collar=0):                       {ours_seconds:8.2f} s  DER {ours.overall['der']:.4f} %"
    )
    print(
        f"speed-up: {plain_seconds / ours_seconds:.1f}x   |DER difference|: "
        f"{abs(100 * plain_der - ours.overall['der']):.6f} points"
    )


if __name__ == "__main__":
    main()
