"""``diarize manifest``: a NeMo-style manifest from a folder of audio (and RTTM/UEM folders)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diarize.data.manifest import match_by_stem, write_manifest
from diarize.io_utils import check_writable_file

DESCRIPTION = """\
Write a NeMo-style JSON-lines manifest for every audio file under AUDIO_DIR (searched
recursively), matching <stem>.rttm and <stem>.uem files by file stem. Each line has
audio_filepath (relative to the manifest's folder when inside it, else absolute), offset 0,
duration (read from the audio), rttm_filepath, uem_filepath, num_speakers (distinct speakers
of the RTTM) and uniq_id (the stem). Audio without RTTM and RTTM without audio are listed on
stderr; the manifest is still written."""

EPILOG = """\
examples:
  diarize manifest data/wav --rttm-dir data/rttm --out data/train.json
  diarize manifest recordings/ --rttm-dir refs/ --uem-dir uems/ --out eval.json
  diarize manifest new_audio/ --out to_diarize.json      # for diarize infer"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "manifest",
        help="build a NeMo-style manifest from audio, RTTM and UEM folders",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("audio_dir", type=Path, metavar="AUDIO_DIR", help="folder of audio files")
    parser.add_argument("--rttm-dir", type=Path, metavar="D", help="folder of <stem>.rttm files")
    parser.add_argument("--uem-dir", type=Path, metavar="D", help="folder of <stem>.uem files")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="manifest.json",
        help="manifest to write (JSON lines)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    check_writable_file(args.out)
    matched = match_by_stem(
        args.audio_dir, args.rttm_dir, args.uem_dir, progress=sys.stderr.isatty()
    )
    write_manifest(args.out, matched.entries)
    for warning in matched.warnings:
        print(f"diarize manifest: warning: {warning}", file=sys.stderr)
    _list("audio without RTTM", matched.audio_without_rttm)
    _list("RTTM without audio", matched.rttm_without_audio)
    _list("UEM without audio", matched.uem_without_audio)
    with_rttm = sum(entry.rttm_filepath is not None for entry in matched.entries)
    hours = sum(entry.duration or 0.0 for entry in matched.entries) / 3600
    print(f"wrote {args.out}: {len(matched.entries)} files ({hours:.2f} h), {with_rttm} with RTTM")
    return 0


def _list(what: str, paths: list[Path]) -> None:
    if paths:
        print(f"diarize manifest: {len(paths)} {what}:", file=sys.stderr)
        for path in paths:
            print(f"  {path}", file=sys.stderr)
