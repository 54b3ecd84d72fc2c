"""Fetch a real recorded 2-speaker conversation with its reference (build time only).

    python scripts/fetch_real_sample.py                  # -> data/real_sample/
    diarize infer data/real_sample/manifest.json --out out/real_sample

The pyannote.audio wheel on PyPI (MIT) ships a 30-s excerpt of a real conversation,
``pyannote/audio/sample/sample.wav`` (16 kHz mono), with its reference ``sample.rttm`` (two
speakers, overlap, and 6.7 s of near-silence before the first word). It is the only real
conversation with a reference that this project can reach, so it is an evaluation file, never
training data. ``pip download --no-deps pyannote.audio==3.3.2`` brings the wheel (about 1 MB);
both files are checked against their SHA-256 and written with a manifest whose UEM covers the
whole file (the silence is scored too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "pyannote.audio==3.3.2"
WHEEL = "pyannote_audio-3.3.2-*.whl"
MEMBERS = {
    "sample.wav": "c319b4abca767b124e41432d364fd7df006cb26bb79d09326c487d606a134e6e",
    "sample.rttm": "d78fe62c69d8e6dcbb42c26adfce83faccb374c5a1e6d987fe37f85f1c173c87",
}
DURATION = 30.0


def fetch(out: Path, wheel_dir: Path | None = None) -> Path:
    """Write ``sample.wav``, ``sample.rttm``, ``sample.uem`` and ``manifest.json`` to ``out``."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(wheel_dir or temp)
        wheels = sorted(folder.glob(WHEEL))
        if not wheels:
            command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", PACKAGE]
            subprocess.run([*command, "-d", str(folder)], check=True)
            wheels = sorted(folder.glob(WHEEL))
        with zipfile.ZipFile(wheels[0]) as wheel:
            blobs = {name: wheel.read(f"pyannote/audio/sample/{name}") for name in MEMBERS}
    out.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        digest = hashlib.sha256(blob).hexdigest()
        if digest != MEMBERS[name]:
            raise SystemExit(f"{name}: unexpected SHA-256 {digest} (expected {MEMBERS[name]})")
        (out / name).write_bytes(blob)
    (out / "sample.uem").write_text(f"sample 1 0.000 {DURATION:.3f}\n")
    entry = {
        "audio_filepath": "sample.wav",
        "offset": 0.0,
        "duration": DURATION,
        "rttm_filepath": "sample.rttm",
        "uem_filepath": "sample.uem",
        "num_speakers": 2,
        "uniq_id": "sample",
    }
    (out / "manifest.json").write_text(json.dumps(entry) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/real_sample"))
    parser.add_argument("--wheel-dir", type=Path, help="a folder that already holds the wheel")
    args = parser.parse_args()
    print(fetch(args.out, args.wheel_dir))


if __name__ == "__main__":
    main()
