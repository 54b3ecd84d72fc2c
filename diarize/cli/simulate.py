"""``diarize simulate``: simulated multi-speaker conversations from single-speaker utterances."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Simulate conversations for training and evaluating diarization. Reads a single-speaker source
manifest (JSON lines: audio_filepath, offset, duration, speaker_id, optional source), finds the
speech in every utterance with an energy VAD, plans the sessions (speakers, turns, overlaps,
pauses, backchannels, acoustics; seeded, written to OUT_DIR/plan.json) and renders them:
  OUT_DIR/audio/<uri>.wav   16 kHz mono 16-bit
  OUT_DIR/rttm/<uri>.rttm   where each speaker's speech is
  OUT_DIR/manifest.json     NeMo diarization manifest (rttm_filepath, duration, num_speakers)
  OUT_DIR/stats.json        achieved overlap/silence ratios vs targets (also printed)
Settings come from the structured defaults, then --config YAML, then key=value overrides
(OmegaConf dotlist); unknown keys are an error. Same seed and inputs: byte-identical output."""

EPILOG = """\
examples:
  diarize simulate source_manifest=data/voicebank/train.json out_dir=data/sim/train
  diarize simulate --config conf/simulate.yaml source_manifest=vb/dev.json out_dir=sim/dev \\
      num_sessions=60 session_length=90 seed=2000
  diarize simulate source_manifest=vb/train.json out_dir=sim/x num_speakers=2-4 \\
      overlap_ratio=0.2 silence_ratio=0.1 augment.noise.prob=1 augment.noise.snr_db=[0,20]
  diarize simulate source_manifest=vb/train.json out_dir=sim/x num_speakers=[2,2,3] --plan-only

conf/simulate.yaml documents every key."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate multi-speaker conversations (audio + RTTM + manifest)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="YAML",
        help="YAML config merged over the defaults (e.g. conf/simulate.yaml)",
    )
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="write plan.json and the planned statistics, render nothing",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (OmegaConf dotlist)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from diarize.simulate.config import load_config
    from diarize.simulate.render import simulate
    from diarize.simulate.stats import format_summary

    config = load_config(args.config, args.overrides)
    summary = simulate(config, progress=not args.no_progress, plan_only=args.plan_only)
    what = "planned" if args.plan_only else "rendered"
    print(f"{what} {summary['sessions']} sessions in {config.out_dir}")
    print(format_summary(summary))
    return 0
