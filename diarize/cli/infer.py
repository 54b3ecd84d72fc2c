"""``diarize infer``: diarize files, folders or a manifest into RTTM (and JSON / PNG)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from diarize.cli import add_precision_argument

EPILOG = """\
examples:
  diarize infer meeting.wav --out rttm/
  diarize infer recordings/ --out rttm/ --num-speakers 2 --json
  diarize infer calls/ --out rttm/ --min-speakers 2 --max-speakers 4 --model exp/model.pt
  diarize infer stereo_calls/ --out rttm/ --mix-channels   # not by their channels
  diarize infer dev/manifest.json --out rttm/ --postprocessing exp/postprocess.yaml --plot
  diarize infer talk.mp3 --out rttm/ --device cuda --overwrite
  diarize infer dev/manifest.json --out out/ --html     # then open out/index.html
  diarize infer calls/ --out rttm/ --device cpu --devices 2       # 2 CPU processes
  srun --ntasks-per-node 4 diarize infer calls/ --out rttm/ --devices 4 --num-nodes 2

Writes DIR/<uri>.rttm per recording (uri = file stem, or the manifest's uniq_id; an empty file
when nobody speaks) and DIR/diarization.rttm with all of them. Recordings whose outputs already
exist are skipped unless --overwrite. A broken file is reported on one line and the run goes on;
the exit status is 1 when any recording failed. Audio shorter than 1 s gets no speakers.
When a manifest gives rttm_filepath, the run ends with the DER (collar 0.25 and 0).
--html adds review pages (see 'diarize review'), with the manifest's reference when it has one.
With --devices N (x --num-nodes M, or under torchrun/srun) the recordings are shared out by
duration among N worker processes per machine (Lightning DDP; CPU processes split the cores).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer",
        help="diarize audio files, folders or a manifest",
        description="Diarize audio files, folders (searched recursively) or a NeMo manifest.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file, folder or .json")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--model", default=None, help="model .pt/.ckpt (default: bundled model)")
    hints = parser.add_argument_group("speaker count (optional)")
    hints.add_argument("--num-speakers", type=int, metavar="N", help="exact number of speakers")
    hints.add_argument("--min-speakers", type=int, metavar="A", help="at least A speakers")
    hints.add_argument("--max-speakers", type=int, metavar="B", help="at most B speakers")
    hints.add_argument(
        "--oracle-num-speakers",
        action="store_true",
        help="a manifest's num_speakers per recording (NeMo's oracle_num_speakers); "
        "recordings without one take the other hints",
    )
    parser.add_argument(
        "--postprocessing",
        type=Path,
        metavar="YAML",
        help="post-processing parameters (default: the model's tuned YAML, else 0.5 threshold)",
    )
    parser.add_argument(
        "--longform",
        type=Path,
        metavar="YAML",
        help="long-audio settings (chunk_seconds, cache_frames, ...; default: built in)",
    )
    parser.add_argument(
        "--mix-channels",
        action="store_true",
        help="average a recording's channels even when each holds a talker of its own "
        "(a call recorded per leg is otherwise diarized by its channels)",
    )
    parser.add_argument("--device", default="auto", choices=("cpu", "cuda", "auto"))
    add_precision_argument(parser)
    parser.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="short files per batch (GPU)"
    )
    parallel = parser.add_argument_group("many processes and machines")
    parallel.add_argument(
        "--devices", type=int, default=1, metavar="N", help="worker processes per machine"
    )
    parallel.add_argument("--num-nodes", type=int, default=1, metavar="M", help="machines")
    parser.add_argument("--json", action="store_true", help="also write DIR/<uri>.json")
    parser.add_argument("--plot", action="store_true", help="also write DIR/<uri>.png")
    parser.add_argument("--html", action="store_true", help="also DIR/<uri>.html, DIR/index.html")
    parser.add_argument("--html-embed-audio", action="store_true", help="audio inside the pages")
    parser.add_argument("--overwrite", action="store_true", help="redo finished recordings")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diarize.inference.diarizer import Diarizer, resolve_model
    from diarize.inference.inputs import expand_inputs
    from diarize.inference.postprocess import check_speaker_hints
    from diarize.io_utils import check_writable_dir

    # everything that needs no model is checked before the model loads (seconds)
    hints = dict(
        num_speakers=args.num_speakers,
        min_speakers=args.min_speakers,
        max_speakers=args.max_speakers,
    )
    check_speaker_hints(**hints, model_max_speakers=sys.maxsize)
    resolve_model(args.model)
    check_writable_dir(args.out)
    items = expand_inputs(args.inputs)
    diarizer = Diarizer.from_pretrained(
        args.model,
        postprocessing=args.postprocessing,
        longform=args.longform,
        device=args.device,
        bf16=args.precision,
    )
    if args.mix_channels:
        diarizer.longform = replace(diarizer.longform, channel_gap_db=None)
    summary = diarizer.diarize_folder(
        items,
        args.out,
        **hints,
        oracle_num_speakers=args.oracle_num_speakers,
        overwrite=args.overwrite,
        json=args.json,
        plot=args.plot,
        batch_size=args.batch_size,
        devices=args.devices,
        num_nodes=args.num_nodes,
        start_method="popen",  # workers re-run this command line
        progress=not args.quiet,
        error_prefix="diarize infer: ",
        **_review_options(args),
    )
    if not summary.is_main:
        return 0 if summary.ok else 1
    print("\n".join(summary.report()))
    if summary.failed:
        names = ", ".join(sorted(f.uri for f in summary.failed))
        print(
            f"diarize infer: {len(summary.failed)} of {len(summary.files)} recordings failed: "
            + names,
            file=sys.stderr,
        )
    return 0 if summary.ok else 1


def _review_options(args: argparse.Namespace) -> dict:
    """The review pages' steps, imported only when asked for (pyannote.metrics and the page
    code add a second and a half to every command's start)."""
    if not (args.html or args.html_embed_audio):
        return {}
    from diarize.review.batch import review_options

    return review_options(args.html, embed_audio=args.html_embed_audio)
