"""Assign speakers to train/dev/test by split group and write the manifests.

Splits are disjoint by *group* (a base voice, or voices sharing one timbre; see voices.py), so
every perturbed copy of a voice lands where the voice does and test speakers are truly unseen.
About 80/10/10 of the groups by a hash of their name; then every source gets at least one group in
train, and, when there are at least 5 real speakers' groups, dev and test get one each.

Writes ``{train,dev,test}.json`` and ``{train,dev,test}.free.json``, the latter without the
non-free MBROLA voices (see ``common.is_free``), and ``all.json``.

Usage:
    python -m recipes.voicebank.local.split --out data/voicebank
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recipes.voicebank.local.common import is_free, log, stable_hash, write_lines_atomic

SPLITS = ("train", "dev", "test")


def _unit(group: str) -> float:
    return (stable_hash(group, "split") % 1_000_000) / 1_000_000


def assign_splits(
    group_sources: dict[str, set[str]], dev_fraction: float = 0.1, test_fraction: float = 0.1
) -> dict[str, str]:
    """Split of each group: deterministic, about ``1 - dev - test`` of them in train.

    Args:
        group_sources: each split group and the sources (espeak-ng, real-codec2, ...) it has.

    Returns:
        group -> "train" | "dev" | "test". Every source has a group in train; with at least
        5 groups of real recordings (sources named ``real-*``), dev and test get one each.
    """
    split = {}
    for group in group_sources:
        u = _unit(group)
        split[group] = (
            "dev" if u < dev_fraction else "test" if u < dev_fraction + test_fraction else "train"
        )
    by_hash = sorted(group_sources, key=_unit)
    for source in sorted({s for sources in group_sources.values() for s in sources}):
        owners = [g for g in by_hash if source in group_sources[g]]
        if not any(split[g] == "train" for g in owners):
            split[owners[-1]] = "train"  # the one farthest from the dev/test hash range
    real = [g for g in by_hash if any(s.startswith("real-") for s in group_sources[g])]
    if len(real) >= 5:
        for target in ("dev", "test"):
            if any(split[g] == target for g in real):
                continue
            for group in real:
                if split[group] == "train" and _others_in_train(group, group_sources, split):
                    split[group] = target
                    break
    return split


def _others_in_train(group: str, group_sources: dict[str, set[str]], split: dict[str, str]) -> bool:
    """Whether every source of ``group`` keeps a train group if ``group`` leaves train."""
    return all(
        any(split[g] == "train" and source in group_sources[g] for g in group_sources if g != group)
        for source in group_sources[group]
    )


def read_parts(out: Path) -> list[dict]:
    rows = []
    for part in sorted((out / "parts").glob("*.jsonl")):
        rows += [json.loads(line) for line in part.read_text().splitlines() if line.strip()]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)
    rows = read_parts(args.out)
    if not rows:
        log(f"no rendered speakers under {args.out / 'parts'}")
        return 1
    group_sources: dict[str, set[str]] = {}
    for row in rows:
        group_sources.setdefault(row["group"], set()).add(row["source"])
    split = assign_splits(group_sources, args.dev_fraction, args.test_fraction)
    ordered = sorted(rows, key=lambda r: (r["speaker_id"], r["audio_filepath"]))
    for row in ordered:
        row["split"] = split[row["group"]]
    for name in SPLITS:
        chosen = [r for r in ordered if r["split"] == name]
        write_lines_atomic(
            args.out / f"{name}.json", (json.dumps(r, ensure_ascii=False) for r in chosen)
        )
        free = (json.dumps(r, ensure_ascii=False) for r in chosen if is_free(r))
        write_lines_atomic(args.out / f"{name}.free.json", free)
        speakers = len({r["speaker_id"] for r in chosen})
        hours = sum(r["duration"] for r in chosen) / 3600
        log(f"{name}: {speakers} speakers, {len(chosen)} utterances, {hours:.2f} h")
    write_lines_atomic(args.out / "all.json", (json.dumps(r, ensure_ascii=False) for r in ordered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
