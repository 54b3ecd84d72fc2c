"""The CAM++ ablation table (Markdown): each arm's validation figures, mean and spread over seeds.

Reads the last validation row of ``<exp_root>/<arm>_seed<seed>/metrics.csv`` (what
``diarize train`` logs): frame DER of the network's own output and its parts.

Usage:
    python -m recipes.campplus.local.ablation_table exp/ablation_campplus \
        --arms "sortformer nemo" --seeds "1 2"
    python -m recipes.campplus.local.ablation_table exp/ablation_campplus/nemo_seed1 --done 400
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ARM_NAMES = {
    "sortformer": "SortFormer blocks (permutation encoding), hybrid loss (bundled design)",
    "sorted_plain": "plain Transformer + sorted final output, hybrid loss",
    "nemo": "plain Transformer, NeMo head, unsorted output, hybrid loss (NeMo's design)",
    "pe_sort": "SortFormer blocks (permutation encoding), Sort loss",
    "plain_sort": "plain Transformer, NeMo head, Sort loss",
}
FIGURES = ("val_der", "val_missed", "val_false_alarm", "val_confusion")


def last_validation(run: Path) -> dict[str, float] | None:
    """The last row of ``run/metrics.csv`` with validation figures (with its step), or None."""
    path = run / "metrics.csv"
    if not path.exists():
        return None
    last = None
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("val_der"):
                last = {key: float(row[key]) for key in (*FIGURES, "step")}
    return last


def _cell(values: list[float]) -> str:
    if not values:
        return "n/m"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def ablation_table(exp_root: Path, arms: Sequence[str], seeds: Sequence[str]) -> str:
    """One row per arm: mean ± sample standard deviation over the seeds, per figure."""
    lines = [
        "| model | runs | DER % | missed % | false alarm % | confusion % | DER per seed |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for arm in arms:
        rows = [last_validation(exp_root / f"{arm}_seed{seed}") for seed in seeds]
        rows = [row for row in rows if row is not None]
        cells = [_cell([row[key] for row in rows]) for key in FIGURES]
        per_seed = ", ".join(f"{row['val_der']:.2f}" for row in rows)
        lines.append(
            f"| {ARM_NAMES.get(arm, arm)} | {len(rows)} | " + " | ".join(cells) + f" | {per_seed} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_root", type=Path)
    parser.add_argument("--arms", default="sortformer sorted_plain nemo pe_sort plain_sort")
    parser.add_argument("--seeds", default="1 2")
    parser.add_argument(
        "--done",
        type=int,
        metavar="STEPS",
        default=None,
        help="exit 0 when exp_root (one run) has validated at STEPS, else 1",
    )
    args = parser.parse_args(argv)
    if args.done is not None:
        row = last_validation(args.exp_root)
        return 0 if row is not None and row["step"] + 1 >= args.done else 1
    sys.stdout.write(ablation_table(args.exp_root, args.arms.split(), args.seeds.split()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
