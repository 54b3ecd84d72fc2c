"""The ``diarize`` console script: one parser, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` (which registers its
arguments and sets ``func``) and keeps its work in the library; this file only
dispatches and turns :class:`DiarizeError` into a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from diarize import __version__
from diarize.errors import DiarizeError

SUBCOMMANDS = ("infer", "stream", "score", "train", "simulate", "manifest", "tune", "review")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diarize",
        description="Speaker diarization with SortFormer: who spoke when.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'diarize COMMAND --help' for the options and examples of each command.",
    )
    parser.add_argument("--version", action="version", version=f"diarize {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"diarize.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"diarize.cli.{name}":
                raise
            continue  # subcommand not built yet
        module.add_parser(subparsers)
    return parser


# OpenMP worker threads spin this many times waiting for work before they sleep (libgomp's
# default: 300,000). When another program keeps a core busy, the spinning of torch's threads
# made `diarize infer` up to 8x slower (a 5.5-min file on 2 cores beside one busy process:
# 54.9 s; 17.3 s with 10,000); on an idle machine it made no measurable difference. Read when
# torch loads, which the subcommands do after this is set; a value in the environment wins.
SPINCOUNT = "10000"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GOMP_SPINCOUNT", SPINCOUNT)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # train/simulate take key=value overrides anywhere, also after a flag
        # (`--print-config exp_dir=x`); argparse stops collecting positionals at the first flag
        if not hasattr(args, "overrides") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return code
    except DiarizeError as error:
        print(f"diarize {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:
        detail = f"; {interrupt}" if str(interrupt) else ""  # e.g. where training was saved
        print(f"diarize {args.command}: interrupted{detail}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`diarize score ... | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so that flushing it at exit raises nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
