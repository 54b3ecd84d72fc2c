"""Fetch 15 real recorded conversations with references (build time only; evaluation only).

    python scripts/fetch_real_conversations.py            # -> data/real_conversations/
    diarize infer data/real_conversations/manifest.json --out out/real_conversations

The pyannote.audio 3.1.1 source distribution on PyPI (MIT) ships, for its own tests and
tutorial, 30-s excerpts of real recordings with manual references:
- ``tests/data/{trn00..trn09,dev00,dev01,tst00,tst01}.wav``: 14 excerpts of AMI meetings
  (speaker names such as MEE009 / FEO066 are AMI's; the AMI corpus is CC BY 4.0), 1-4 speakers,
  some with little speech (0.7 s in trn02) and heavy overlap (61 s of speech in tst00's 30 s);
- ``tutorials/assets/sample.wav``: a 2-speaker conversation with 6.7 s of near-silence first.
They are the only real conversations with references that this project can reach, so they are
never used for training or for choosing settings unless said so. The archive (14.8 MB) is
fetched from PyPI's file host and checked against its SHA-256; each file is written with its
RTTM and a UEM covering the whole file (silence and sparse speech are scored too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
import tempfile
import urllib.request
from pathlib import Path

URL = (
    "https://files.pythonhosted.org/packages/cf/8d/"
    "c6920c1c1fe439bee72c591297c69d32fe27218a96fd708e4d2274d5462c/pyannote.audio-3.1.1.tar.gz"
)
SHA256 = "b6562d46b5d5d616c1887cafd5aab3f7d19ecf6b3312fc6c4f72f37332fcd408"
ROOT = "pyannote.audio-3.1.1"
AMI = [f"trn{i:02d}" for i in range(10)] + ["dev00", "dev01", "tst00", "tst01"]
DURATION = 30.0


def fetch(out: Path, archive: Path | None = None) -> Path:
    """Write ``audio/<uri>.wav``, ``rttm/<uri>.rttm``, ``uem/<uri>.uem`` and ``manifest.json``."""
    with tempfile.TemporaryDirectory() as temp:
        if archive is None:
            archive = Path(temp) / "sdist.tar.gz"
            urllib.request.urlretrieve(URL, archive)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != SHA256:
            raise SystemExit(f"{archive}: unexpected SHA-256 {digest} (expected {SHA256})")
        with tarfile.open(archive) as tar:

            def read(member: str) -> bytes:
                return tar.extractfile(f"{ROOT}/{member}").read()

            audio = {uri: read(f"tests/data/{uri}.wav") for uri in AMI}
            audio["sample"] = read("tutorials/assets/sample.wav")
            rttm_lines = [
                line
                for split in ("train", "development", "test")
                for line in read(f"tests/data/debug.{split}.rttm").decode().splitlines()
            ]
            rttm_lines += read("tutorials/assets/sample.rttm").decode().splitlines()
    entries = []
    for folder in ("audio", "rttm", "uem"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for uri, blob in audio.items():
        (out / "audio" / f"{uri}.wav").write_bytes(blob)
        lines = [line for line in rttm_lines if line.split()[1] == uri]
        (out / "rttm" / f"{uri}.rttm").write_text("\n".join(lines) + "\n")
        (out / "uem" / f"{uri}.uem").write_text(f"{uri} 1 0.000 {DURATION:.3f}\n")
        entries.append(
            {
                "audio_filepath": f"audio/{uri}.wav",
                "offset": 0.0,
                "duration": DURATION,
                "rttm_filepath": f"rttm/{uri}.rttm",
                "uem_filepath": f"uem/{uri}.uem",
                "num_speakers": len({line.split()[7] for line in lines}),
                "uniq_id": uri,
            }
        )
    (out / "manifest.json").write_text("".join(json.dumps(e) + "\n" for e in entries))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/real_conversations"))
    parser.add_argument("--archive", type=Path, help="the sdist, already downloaded")
    args = parser.parse_args()
    print(fetch(args.out, args.archive))


if __name__ == "__main__":
    main()
