"""The speaker counts a source pool can fill: ``num_speakers`` without the counts above its size.

A small pool (the smoke-size voice bank has 2 dev speakers) cannot fill a 4-speaker session, and
``diarize simulate`` refuses such a request; run.sh simulates with the counts that fit.

Usage:
    python -m recipes.simulated.local.pool_counts data/voicebank/dev.free.json "[1,2,2,3,3,4]"
    [1,2,2]
Prints the counts as ``num_speakers=`` takes them; exits 1 with a message when none fits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from diarize.data.manifest import read_manifest
from diarize.errors import DiarizeError
from diarize.simulate.config import num_speakers_choices


def pool_size(manifest: str | Path) -> int:
    """Distinct ``speaker_id`` values of a source manifest."""
    entries = read_manifest(manifest, fill_duration=False)
    return len({entry.extra.get("speaker_id") for entry in entries} - {None})


def counts_that_fit(num_speakers: str, pool: int) -> list[int]:
    """The choices of ``num_speakers`` (``3``, ``[2,3,3]`` or ``2-4``) that ``pool`` speakers fill."""
    choices = num_speakers_choices(yaml.safe_load(num_speakers))
    return [count for count in choices if count <= pool]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="single-speaker source manifest")
    parser.add_argument("num_speakers", help="as diarize simulate takes it, e.g. '[1,2,3]'")
    args = parser.parse_args(argv)
    try:
        pool = pool_size(args.manifest)
        counts = counts_that_fit(args.num_speakers, pool)
    except DiarizeError as error:
        print(f"pool_counts: {error}", file=sys.stderr)
        return 1
    if not counts:
        print(
            f"{args.manifest}: {pool} speakers, too few for num_speakers={args.num_speakers}",
            file=sys.stderr,
        )
        return 1
    print("[" + ",".join(str(count) for count in counts) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
