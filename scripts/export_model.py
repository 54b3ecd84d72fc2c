"""Export a training checkpoint to the compact model file used by ``diarize infer``.

Usage:
    python scripts/export_model.py exp/cpu/checkpoints/best.ckpt model.pt [--note TEXT]

The output holds the network config and fp16 weights (``{"config", "state_dict", "meta"}``);
``diarize.models.load_model`` reads it back as float32 without importing Lightning.
"""

from __future__ import annotations

import argparse
import sys

from diarize.errors import DiarizeError
from diarize.models import export_model, load_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="Lightning .ckpt written by diarize train")
    parser.add_argument("out", help="model file to write (.pt)")
    parser.add_argument("--note", default=None, help="free text stored in the file's meta")
    args = parser.parse_args()
    try:
        path = export_model(
            args.checkpoint, args.out, meta={"note": args.note} if args.note else None
        )
        network = load_model(path)
    except DiarizeError as error:
        print(f"export_model: error: {error}", file=sys.stderr)
        return 1
    size = sum(p.numel() for p in network.parameters())
    print(f"wrote {path} ({size / 1e6:.2f}M parameters, max_speakers={network.max_speakers})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
