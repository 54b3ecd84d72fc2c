"""The ``diarize`` console script: one parser, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` (which registers its
arguments and sets ``func``) and keeps its work in the library; this file only
dispatches and turns :class:`DiarizeError` into a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from diarize import __version__
from diarize.errors import DiarizeError

SUBCOMMANDS = ("infer", "score", "train", "simulate", "manifest", "tune")


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DiarizeError as error:
        print(f"diarize {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"diarize {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
