"""The ``diarize`` command line: one module per subcommand, wired up in :mod:`diarize.cli.main`."""

from __future__ import annotations

import argparse


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision auto|fp32|bf16`` (see :func:`diarize.inference.resolve.resolve_bf16`)."""
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="CAM++ and segmentation-3.0 in bfloat16 (a stream's CAM++ stays float32 on a "
        "CPU), on CUDA the SortFormer blocks too (auto: on CUDA and on CPUs with native bf16)",
    )
