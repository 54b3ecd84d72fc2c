"""The ablation table (Markdown): DER at collar 0.25 and 0 of every arm on every test set.

Reads ``<exp_root>/<arm>/<test>_c0.25.json`` and ``..._c0.json`` (``diarize score --json``).

Usage:
    python -m recipes.simulated.local.ablation_table exp/ablation "pe sort pil" simulated_test
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ARM_NAMES = {
    "pe": "SortFormer (permutation encoding) + Sort loss",
    "sort": "Transformer + Sort loss",
    "pil": "Transformer + PIL",
    "hybrid": "SortFormer (permutation encoding) + 0.5 Sort + 0.5 PIL",
}
COLLARS = ("0.25", "0")


def ablation_table(exp_root: Path, arms: Sequence[str], tests: Sequence[str]) -> str:
    """One row per arm, one ``DER c0.25 / c0`` column per test set."""
    head = " | ".join(f"{test} DER c0.25 / c0" for test in tests)
    lines = [f"| model | {head} |", "|---|" + "---:|" * len(tests)]
    for arm in arms:
        cells = []
        for test in tests:
            der = [
                json.loads((exp_root / arm / f"{test}_c{collar}.json").read_text())["overall"][
                    "der"
                ]
                for collar in COLLARS
            ]
            cells.append(f"{der[0]:.2f}% / {der[1]:.2f}%")
        lines.append(f"| {ARM_NAMES.get(arm, arm)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_root", type=Path)
    parser.add_argument("arms", help="space-separated, e.g. 'pe sort pil'")
    parser.add_argument("tests", nargs="+", help="test-set names as ablation.sh writes them")
    args = parser.parse_args(argv)
    sys.stdout.write(ablation_table(args.exp_root, args.arms.split(), args.tests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
