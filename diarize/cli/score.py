"""``diarize score``: DER/JER of RTTM hypotheses against RTTM references, as NIST md-eval-22."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from diarize.data.rttm import Turn, load_rttms
from diarize.data.uem import read_uem
from diarize.errors import DiarizeError
from diarize.io_utils import atomic_write_text, check_writable_file

if TYPE_CHECKING:
    from diarize.metrics.scoring import ScoreReport

# md-eval's customary collar; the same value as diarize.metrics.scoring.DEFAULT_COLLAR, kept here
# so that building the parser does not import pyannote.metrics (1.5 s on every diarize command).
DEFAULT_COLLAR = 0.25

DESCRIPTION = """\
Score diarization output (RTTM) against a reference (RTTM) with the semantics of NIST
md-eval-22, so that the numbers compare with published results:
  - --collar is md-eval's -c: seconds removed on EACH side of every reference turn boundary
    (turns as written); the speaker mapping is chosen before collars are removed;
  - overlapping turns of one speaker count once;
  - --skip-overlap scores only where at most one reference turn is active (md-eval -1).
Without --uem, each file is scored from its earliest to its latest turn of reference and
hypothesis together (dscore's convention). A uri found in only one of REF/HYP is scored (all
missed, or all false alarm, where md-eval would ignore it) and listed.
DER = (missed + false alarm + confusion) / total reference speaker time; the overall line is
time-weighted over files. JER is computed without collar, with overlap."""

EPILOG = """\
examples:
  diarize score --ref data/ref.rttm --hyp out/diarization.rttm
  diarize score --ref data/rttm/ --hyp out/ --uem data/all.uem --collar 0 --json scores.json
  diarize score --ref ref.rttm --hyp hyp.rttm --collar 0.25 --skip-overlap

--json FILE writes {"overall": {...}, "files": {uri: {...}}} with "der" and "jer" in percent
and "missed", "false_alarm", "confusion", "total" in seconds."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "score",
        help="DER/JER of RTTM output against a reference (md-eval-22 compatible)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--ref",
        required=True,
        type=Path,
        metavar="REF",
        help="reference: one RTTM file (any number of uris) or a folder of .rttm",
    )
    parser.add_argument(
        "--hyp",
        required=True,
        type=Path,
        metavar="HYP",
        help="hypothesis: one RTTM file or a folder of .rttm",
    )
    parser.add_argument(
        "--uem",
        type=Path,
        metavar="UEM",
        help="scoring regions (UEM file); default: extent of each file's turns",
    )
    parser.add_argument(
        "--collar",
        type=float,
        default=DEFAULT_COLLAR,
        metavar="SEC",
        help=f"seconds on each side of reference boundaries (default {DEFAULT_COLLAR})",
    )
    parser.add_argument(
        "--skip-overlap",
        action="store_true",
        help="score only where at most one reference turn is active (md-eval -1)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the scores as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.collar >= 0:
        raise DiarizeError(f"--collar must be >= 0, got {args.collar}")
    if args.json is not None:
        check_writable_file(args.json)  # before scoring, not after the report printed
    reference = load_rttms(args.ref)
    hypothesis = load_rttms(args.hyp)
    uem = read_uem(args.uem) if args.uem is not None else None
    if not reference and not hypothesis:
        raise DiarizeError(f"{args.ref}: no SPEAKER turn in reference or hypothesis")
    from diarize.metrics.scoring import score

    report = score(reference, hypothesis, uem, collar=args.collar, skip_overlap=args.skip_overlap)
    print_report(report, sys.stdout, uem_given=uem is not None)
    for name, turns in (("reference", reference), ("hypothesis", hypothesis)):
        _note_channels(name, turns)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
    return 0


def print_report(report: ScoreReport, out: TextIO, uem_given: bool = True) -> None:
    """The per-file table, the overall line and notes on how the files were scored."""
    header = (
        f"{'uri':<24} {'DER%':>7} {'missed':>9} {'FA':>9} {'confusion':>9} "
        f"{'total':>10} {'JER%':>7} {'#ref/#hyp':>9}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for uri, values in report.files.items():
        print(
            _row(uri, values, f"{values['num_ref_speakers']}/{values['num_hyp_speakers']}"),
            file=out,
        )
    print("-" * len(header), file=out)
    overall = report.overall
    print(_row("OVERALL", overall, "").rstrip(), file=out)
    print(
        f"speaker-count accuracy: {overall['speaker_count_accuracy']:.1f}% of "
        f"{int(overall['num_files'])} files",
        file=out,
    )
    overlap = ", overlap skipped (md-eval -1)" if report.skip_overlap else ", overlap scored"
    print(f"collar: {report.collar:g} s on each side of reference boundaries{overlap}", file=out)
    if report.derived_uem:
        which = "all files" if not uem_given else ", ".join(report.derived_uem)
        print(
            f"note: no UEM for {which}: scored from the earliest to the latest turn of "
            f"reference and hypothesis",
            file=out,
        )
    if report.ref_only:
        print(
            f"note: missing from the hypothesis (all missed): {', '.join(report.ref_only)}",
            file=out,
        )
    if report.hyp_only:
        print(
            f"note: missing from the reference (all false alarm; md-eval would skip them): "
            f"{', '.join(report.hyp_only)}",
            file=out,
        )


def _note_channels(name: str, turns_by_uri: dict[str, list[Turn]]) -> None:
    """Say when a uri has turns on several RTTM channels: they are scored as one recording."""
    for uri, turns in turns_by_uri.items():
        channels = sorted({turn.channel for turn in turns})
        if len(channels) > 1:
            print(
                f"note: {name} {uri!r} has turns on channels {', '.join(channels)}: scored as one "
                "recording (md-eval scores each channel apart)"
            )


def _row(name: str, values: dict[str, Any], speakers: str) -> str:
    return (
        f"{name:<24} {values['der']:>7.2f} {values['missed']:>9.2f} "
        f"{values['false_alarm']:>9.2f} {values['confusion']:>9.2f} {values['total']:>10.2f} "
        f"{values['jer']:>7.2f} {speakers:>9}"
    )
