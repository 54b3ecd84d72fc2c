"""Speaker-count confusion: how many speakers each file has (reference) against how many the
system found, as a table, plus the share of files counted right.

    python scripts/speaker_counts.py --ref data/sim/test/rttm --hyp out/test
"""

from __future__ import annotations

import argparse
from collections import Counter

from diarize.data.rttm import load_rttms


def counts(path: str) -> dict[str, int]:
    return {uri: len({turn.speaker for turn in turns}) for uri, turns in load_rttms(path).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True)
    parser.add_argument("--hyp", required=True)
    args = parser.parse_args()
    ref, hyp = counts(args.ref), counts(args.hyp)
    pairs = Counter((ref[uri], hyp.get(uri, 0)) for uri in ref)
    found = sorted({h for _, h in pairs} | set(ref.values()))
    print("ref \\ found " + " ".join(f"{h:>4}" for h in found))
    for r in sorted(set(ref.values())):
        print(f"{r:>11} " + " ".join(f"{pairs.get((r, h), 0):>4}" for h in found))
    right = sum(n for (r, h), n in pairs.items() if r == h)
    print(f"speaker count right: {right}/{len(ref)} ({100 * right / max(len(ref), 1):.1f}%)")


if __name__ == "__main__":
    main()
