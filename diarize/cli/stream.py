"""``diarize stream``: diarize a file or stdin as if it arrived live, turn by turn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diarize.cli import add_precision_argument

EPILOG = """\
examples:
  diarize stream meeting.wav --out rttm/                   # 1.04 s latency (default)
  diarize stream meeting.wav --out rttm/ --latency 0.32    # ultra low latency
  diarize stream meeting.wav --out rttm/ --latency 10      # high latency, best labels
  arecord -f S16_LE -r 16000 -c 1 -t raw | diarize stream - --out rttm/ --uri mic
  ffmpeg -i talk.mp4 -f s16le -ac 1 -ar 16000 - | diarize stream - --out rttm/ --uri talk

Reads the audio in blocks of one step and prints each turn as an RTTM line as soon as it is
final (it will not change); labels are stable for the whole stream. At the end writes
DIR/<uri>.rttm (uri = file stem, or --uri; 'stdin' for -). '-' reads raw 16-bit little-endian
mono 16 kHz PCM from stdin and gives the same RTTM as the same samples in a file. A two-channel
file whose channels hold a talker each (a call recorded per leg) is diarized by its channels,
as 'diarize infer' does.
Latency presets (seconds): 0.32 (3 frames + 1 lookahead), 1.04 (11 + 2), 10 (11 + 2, and
111 frames held back and labelled again by voice before they are final).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stream",
        help="diarize a file or stdin live, printing turns as they become final",
        description="Streaming diarization of a file or of raw PCM on stdin.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("audio", metavar="AUDIO|-", help="audio file, or - for raw PCM on stdin")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--latency", type=float, default=1.04, metavar="SEC", help="seconds (default 1.04)"
    )
    parser.add_argument("--model", default=None, help="model .pt/.ckpt (default: bundled model)")
    parser.add_argument("--uri", default=None, help="recording name (default: file stem)")
    parser.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    parser.add_argument(
        "--postprocessing", type=Path, metavar="YAML", help="post-processing parameters"
    )
    parser.add_argument(
        "--mix-channels",
        action="store_true",
        help="average a two-channel file's channels even when each holds a talker of its own",
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    add_precision_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="do not print turns")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diarize.data.rttm import format_rttm_line, write_rttm
    from diarize.errors import DiarizeError
    from diarize.inference.channels import LEGS
    from diarize.inference.diarizer import Diarizer, resolve_model
    from diarize.inference.inputs import safe_uri
    from diarize.inference.stream_legs import LegStream
    from diarize.inference.streaming import StreamingDiarizer, latency_frames
    from diarize.io_utils import check_writable_dir

    try:
        block, _, _ = latency_frames(args.latency)
    except ValueError as error:
        raise DiarizeError(f"--latency: {error}") from None
    if args.max_speakers is not None and args.max_speakers < 1:
        raise DiarizeError("--max-speakers must be >= 1")
    from_stdin = args.audio == "-"
    source = None
    if not from_stdin:
        from diarize.inference.sources import FileSource

        source = FileSource(args.audio)
    uri = safe_uri(args.uri or ("stdin" if from_stdin else Path(args.audio).stem))
    resolve_model(args.model)
    check_writable_dir(args.out)
    diarizer = Diarizer.from_pretrained(
        args.model, postprocessing=args.postprocessing, device=args.device, bf16=args.precision
    )
    # a two-channel file may be a call recorded per leg: its channels go in as they are
    legs = source is not None and source.channels == LEGS and not args.mix_channels
    stream = (LegStream if legs else StreamingDiarizer)(
        diarizer.network,
        args.latency,
        longform=diarizer.longform,
        postprocessing=diarizer.postprocessing,
        uri=uri,
        max_speakers=args.max_speakers,
        device=diarizer.device,
        bf16=diarizer.bf16,
    )
    step = block * 1280
    blocks = _stdin_blocks(step) if from_stdin else _file_blocks(source, step, legs)
    for samples in blocks:
        _print(stream.feed(samples).turns, args.quiet, format_rttm_line)
    _print(stream.finish().turns, args.quiet, format_rttm_line)
    write_rttm(args.out / f"{uri}.rttm", stream.turns)
    return 0


def _print(turns, quiet: bool, format_line) -> None:
    if quiet:
        return
    for turn in turns:
        print(format_line(turn), flush=True)


def _file_blocks(source, step: int, channels: bool = False):
    read = source.read_channels if channels else source.read
    for start in range(0, source.num_samples, step):
        yield read(start, min(start + step, source.num_samples))


def _stdin_blocks(step: int):
    """Raw 16-bit mono PCM from stdin, ``step`` samples at a time (the last may be shorter)."""
    import numpy as np

    stdin = sys.stdin.buffer
    pending = b""
    while True:
        data = stdin.read(2 * step - len(pending))
        if not data:
            break
        pending += data
        if len(pending) >= 2 * step:
            yield np.frombuffer(pending, dtype="<i2").astype(np.float32) / 32768.0
            pending = b""
    usable = len(pending) // 2 * 2
    if usable:
        yield np.frombuffer(pending[:usable], dtype="<i2").astype(np.float32) / 32768.0
