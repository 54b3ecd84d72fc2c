"""``diarize infer``: diarize files, folders or a manifest into RTTM (and JSON / PNG)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from diarize.errors import DiarizeError

EPILOG = """\
examples:
  diarize infer meeting.wav --out rttm/
  diarize infer recordings/ --out rttm/ --num-speakers 2 --json
  diarize infer calls/ --out rttm/ --min-speakers 2 --max-speakers 4 --model exp/model.pt
  diarize infer dev/manifest.json --out rttm/ --postprocessing exp/postprocess.yaml --plot
  diarize infer talk.mp3 --out rttm/ --device cuda --overwrite

Writes DIR/<uri>.rttm per recording (uri = file stem, or the manifest's uniq_id; an empty file
when nobody speaks) and DIR/diarization.rttm with all of them. Recordings whose outputs already
exist are skipped unless --overwrite. A broken file is reported on one line and the run goes on;
the exit status is 1 when any recording failed. Audio shorter than 1 s gets no speakers.
When a manifest gives rttm_filepath, the run ends with the DER (collar 0.25 and 0).
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
    parser.add_argument("--device", default="auto", choices=("cpu", "cuda", "auto"))
    parser.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="short files per batch (GPU)"
    )
    parser.add_argument("--json", action="store_true", help="also write DIR/<uri>.json")
    parser.add_argument("--plot", action="store_true", help="also write DIR/<uri>.png")
    parser.add_argument("--overwrite", action="store_true", help="redo finished recordings")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diarize.inference.inputs import expand_inputs
    from diarize.inference.outputs import is_done

    started = time.perf_counter()
    hints = _hints(args)
    if args.batch_size < 1:
        raise DiarizeError(f"--batch-size must be >= 1, got {args.batch_size}")
    items = expand_inputs(args.inputs)
    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        raise DiarizeError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)

    todo = [
        item
        for item in items
        if args.overwrite or not is_done(out_dir, item.uri, args.json, args.plot)
    ]
    failed: dict[str, str] = {}
    results = {}
    if todo:
        results, failed = _diarize(todo, args, hints)
    return _finish(items, todo, results, failed, out_dir, started, args.quiet)


def _diarize(todo: list, args: argparse.Namespace, hints: dict) -> tuple[dict, dict]:
    from tqdm import tqdm

    from diarize.inference.diarizer import Diarizer
    from diarize.inference.inputs import reference_turns
    from diarize.inference.outputs import write_outputs
    from diarize.inference.postprocess import check_speaker_hints

    diarizer = Diarizer.from_pretrained(
        args.model, postprocessing=args.postprocessing, longform=args.longform, device=args.device
    )
    check_speaker_hints(**hints, model_max_speakers=diarizer.max_speakers)
    model = str(diarizer.model_path) if diarizer.model_path else None
    results, failed = {}, {}
    hours = 0.0
    bar = tqdm(
        total=len(todo), unit="file", disable=args.quiet, dynamic_ncols=True, file=sys.stderr
    )
    try:
        for item, outcome in diarizer.diarize_items(todo, args.batch_size, **hints):
            if isinstance(outcome, DiarizeError):
                failed[item.uri] = _report(item.path, outcome, bar)
            else:
                try:
                    reference = reference_turns(item) if args.plot else None
                    write_outputs(
                        args.out, outcome, args.json, args.plot, reference, extra={"model": model}
                    )
                    results[item.uri] = outcome
                    hours += outcome.duration / 3600
                except DiarizeError as error:
                    failed[item.uri] = _report(item.path, error, bar)
            bar.set_postfix_str(f"{hours:.2f} h audio", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return results, failed


def _finish(items, todo, results, failed, out_dir: Path, started: float, quiet: bool) -> int:
    from diarize.inference.outputs import rttm_path, write_combined_rttm

    done = [
        item for item in items if item.uri not in failed and rttm_path(out_dir, item.uri).is_file()
    ]
    combined = write_combined_rttm(out_dir, [item.uri for item in done])
    skipped = len(items) - len(todo)
    hours = sum(r.duration for r in results.values()) / 3600
    elapsed = time.perf_counter() - started
    print(f"Wrote {len(done)} RTTM files to {out_dir} ({combined})")
    rtf = f", RTF {elapsed / (hours * 3600):.4f}" if hours > 0 else ""
    print(
        f"{len(results)} diarized ({hours:.3f} h of audio in {elapsed:.1f} s{rtf}), "
        f"{skipped} skipped (already done), {len(failed)} failed"
    )
    scored = [item for item in done if item.rttm is not None]
    if scored:
        _print_der(scored, out_dir)
    if failed:
        print(
            f"diarize infer: {len(failed)} of {len(items)} recordings failed: "
            + ", ".join(sorted(failed)),
            file=sys.stderr,
        )
        return 1
    return 0


def _print_der(items: list, out_dir: Path) -> None:
    from diarize.data.rttm import read_rttm
    from diarize.inference.inputs import reference_turns, scoring_uem
    from diarize.inference.outputs import rttm_path
    from diarize.metrics.scoring import score

    reference, hypothesis, uem = {}, {}, {}
    for item in items:
        reference[item.uri] = reference_turns(item)
        hypothesis[item.uri] = read_rttm(rttm_path(out_dir, item.uri))
        uem[item.uri] = scoring_uem(item)
    parts = []
    for collar in (0.25, 0.0):
        report = score(reference, hypothesis, uem=uem, collar=collar)
        parts.append(f"{report.overall['der']:.2f}% (collar {collar:g})")
    print(f"DER over {len(items)} recordings with reference: " + ", ".join(parts))


def _hints(args: argparse.Namespace) -> dict:
    if args.num_speakers is not None and (
        args.min_speakers is not None or args.max_speakers is not None
    ):
        raise DiarizeError("give either --num-speakers or --min-speakers/--max-speakers, not both")
    for name in ("num_speakers", "min_speakers", "max_speakers"):
        value = getattr(args, name)
        if value is not None and value < (1 if name != "min_speakers" else 0):
            raise DiarizeError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return {
        "num_speakers": args.num_speakers,
        "min_speakers": args.min_speakers,
        "max_speakers": args.max_speakers,
    }


def _report(path: Path, error: Exception, bar) -> str:
    message = str(error)
    if not message.startswith(str(path)):
        message = f"{path}: {message}"
    bar.write(f"diarize infer: error: {message}", file=sys.stderr)
    return message
