"""``diarize review``: self-contained HTML pages to see and hear diarization output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diarize.errors import DiarizeError

# the value of diarize.metrics.scoring.DEFAULT_COLLAR, kept here so that building the parser
# does not import pyannote.metrics
DEFAULT_COLLAR = 0.25

DESCRIPTION = """\
Write one self-contained HTML page per recording (DIR/<uri>.html) and an index of them all
(DIR/index.html). A page shows the signal, one lane per speaker with overlapped speech shaded,
and plays the audio with a cursor that follows playback; click a turn to hear it. With a
reference, the reference speakers get lanes of their own, missed speech, false alarm and speaker
confusion are marked on the timeline (optimal speaker mapping, as 'diarize score') and the
page gives the file's DER. Pages work offline from file:// (no server, nothing fetched).

AUDIO: audio files, folders (searched recursively) or a NeMo manifest; uri = file stem (or
uniq_id). A manifest's rttm_filepath is used as reference when --ref is not given. The audio is
linked by its path relative to DIR unless --embed-audio embeds it (Ogg/Vorbis, ~25 kbit/s)."""

EPILOG = """\
examples:
  diarize review meeting.wav --hyp out/ --out review/
  diarize review audio/ --hyp out/diarization.rttm --ref ref_rttm/ --out review/
  diarize review dev/manifest.json --hyp out/ --out review/ --embed-audio
then open review/index.html in a browser."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "review",
        help="HTML pages to see and hear diarization output (with a reference: its errors)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files, folders, manifest")
    parser.add_argument(
        "--hyp", required=True, type=Path, metavar="RTTM_OR_DIR", help="system output (RTTM)"
    )
    parser.add_argument("--ref", type=Path, metavar="RTTM_OR_DIR", help="reference RTTM")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--embed-audio", action="store_true", help="embed the audio in each page (Ogg/Vorbis)"
    )
    parser.add_argument(
        "--collar",
        type=float,
        default=DEFAULT_COLLAR,
        metavar="SEC",
        help=f"DER collar on each side of reference boundaries (default {DEFAULT_COLLAR})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from diarize.data.rttm import load_rttms
    from diarize.inference.inputs import expand_inputs, reference_turns
    from diarize.review import review_pages, write_review_index, write_review_page

    if not args.collar >= 0:
        raise DiarizeError(f"--collar must be >= 0, got {args.collar}")
    items = expand_inputs(args.inputs)
    hypothesis = load_rttms(args.hyp)
    reference = load_rttms(args.ref) if args.ref is not None else None
    if args.out.exists() and not args.out.is_dir():
        raise DiarizeError(f"{args.out}: exists and is not a folder")
    failed: dict[str, str] = {}
    pages = []
    for item in tqdm(items, unit="file", disable=args.quiet, file=sys.stderr):
        audio = _audio_path(item)
        try:
            if item.uri not in hypothesis:
                raise DiarizeError(f"{audio}: no turns for uri {item.uri!r} in {args.hyp}")
            if reference is not None:
                ref = reference.get(item.uri)
            else:
                ref = reference_turns(item)
            pages.append(
                write_review_page(
                    audio,
                    hypothesis[item.uri],
                    args.out,
                    ref=ref,
                    uri=item.uri,
                    embed_audio=args.embed_audio,
                    collar=args.collar,
                )
            )
        except DiarizeError as error:
            message = str(error)
            if str(audio) not in message:
                message = f"{audio}: {message}"
            failed[item.uri] = message
            tqdm.write(f"diarize review: error: {message}", file=sys.stderr)
    # pages of earlier runs in the same folder stay listed
    index = write_review_index(sorted(set(pages) | set(review_pages(args.out))), args.out)
    print(f"wrote {len(pages)} review page(s) and {index}")
    if failed:
        print(
            f"diarize review: {len(failed)} of {len(items)} recording(s) failed: "
            f"{', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _audio_path(item: object) -> Path:
    # the input items are manifest entries (audio_filepath); older ones called it path
    return Path(getattr(item, "audio_filepath", None) or item.path)
