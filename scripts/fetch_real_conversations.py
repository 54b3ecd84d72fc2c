"""Fetch real recorded conversations with references (build time only; evaluation only).

    python scripts/fetch_real_conversations.py            # -> data/real_conversations/
    diarize infer data/real_conversations/manifest.json --out out/real_conversations
    python scripts/fetch_real_conversations.py --source pyaudioanalysis
                                                          # -> data/pyaudioanalysis_examples/

``--source pyannote`` (the default): the pyannote.audio 3.1.1 source distribution on PyPI (MIT)
ships, for its own tests and tutorial, 30-s excerpts of real recordings with manual references:
- ``tests/data/{trn00..trn09,dev00,dev01,tst00,tst01}.wav``: 14 excerpts of AMI meetings
  (speaker names such as MEE009 / FEO066 are AMI's; the AMI corpus is CC BY 4.0), 1-4 speakers,
  some with little speech (0.7 s in trn02) and heavy overlap (61 s of speech in tst00's 30 s);
- ``tutorials/assets/sample.wav``: a 2-speaker conversation with 6.7 s of near-silence first.

``--source pyaudioanalysis``: the pyAudioAnalysis 0.1.3 source distribution (Apache-2.0) ships
two diarization examples with hand-made references (``start,end,speaker`` at 0.1 s that tile
the whole file, pauses included; no overlap); where the audio was recorded is not documented:
- ``diarizationExample.wav``: 42 s, four voices, one of them back twice (it sounds like a
  broadcast excerpt: a steady noise floor under every voice);
- ``diarizationExample2.wav``: 22 s, six voices that speak once each (3.2-5.3 s), with a
  near-silence between them: single-speaker recordings joined, not a conversation.

They are the only real recordings with references that this project can reach, so they are
never used for training or for choosing settings unless said so. Each archive is fetched from
PyPI's file host and checked against its SHA-256; each file is written with its RTTM and a UEM
covering the whole file (silence and sparse speech are scored too).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

HOST = "https://files.pythonhosted.org/packages"


@dataclass(frozen=True)
class Source:
    """A source distribution on PyPI, where its recordings are inside and how they are read
    (``reader``: the archive's member reader -> audio per uri, RTTM lines)."""

    url: str
    sha256: str
    root: str  # the archive's top folder
    reader: Callable[[Callable[[str], bytes]], tuple[dict[str, bytes], list[str]]]
    folder: str  # the default output folder, under data/


AMI = [f"trn{i:02d}" for i in range(10)] + ["dev00", "dev01", "tst00", "tst01"]
EXAMPLES = ["diarizationExample", "diarizationExample2"]  # pyAudioAnalysis' data folder


def fetch(out: Path, archive: Path | None = None, source: str = "pyannote") -> Path:
    """Write ``audio/<uri>.wav``, ``rttm/<uri>.rttm``, ``uem/<uri>.uem`` and ``manifest.json``
    for the recordings of ``source`` (a key of :data:`SOURCES`)."""
    sdist = SOURCES[source]
    with tempfile.TemporaryDirectory() as temp:
        if archive is None:
            archive = Path(temp) / "sdist.tar.gz"
            urllib.request.urlretrieve(sdist.url, archive)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != sdist.sha256:
            raise SystemExit(f"{archive}: unexpected SHA-256 {digest} (expected {sdist.sha256})")
        with tarfile.open(archive) as tar:
            audio, rttm_lines = sdist.reader(
                lambda member: tar.extractfile(f"{sdist.root}/{member}").read()
            )
    return _write(out, audio, rttm_lines)


def _pyannote(read) -> tuple[dict[str, bytes], list[str]]:
    """The 14 AMI excerpts and the tutorial's sample, with their RTTM lines."""
    audio = {uri: read(f"tests/data/{uri}.wav") for uri in AMI}
    audio["sample"] = read("tutorials/assets/sample.wav")
    rttm_lines = [
        line
        for split in ("train", "development", "test")
        for line in read(f"tests/data/debug.{split}.rttm").decode().splitlines()
    ]
    rttm_lines += read("tutorials/assets/sample.rttm").decode().splitlines()
    return audio, rttm_lines


def _pyaudioanalysis(read) -> tuple[dict[str, bytes], list[str]]:
    """pyAudioAnalysis' two examples, their ``start,end,speaker`` references as RTTM lines."""
    audio, rttm_lines = {}, []
    for uri in EXAMPLES:
        audio[uri] = read(f"pyAudioAnalysis/data/{uri}.wav")
        for number, line in enumerate(
            read(f"pyAudioAnalysis/data/{uri}.segments").decode().splitlines(), 1
        ):
            if not line.strip():
                continue
            try:
                start, end, speaker = line.strip().split(",")
                start, end = float(start), float(end)
            except ValueError:
                raise SystemExit(
                    f"{uri}.segments:{number}: expected start,end,speaker: {line!r}"
                ) from None
            rttm_lines.append(
                f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>"
            )
    return audio, rttm_lines


SOURCES = {
    "pyannote": Source(
        f"{HOST}/cf/8d/c6920c1c1fe439bee72c591297c69d32fe27218a96fd708e4d2274d5462c/"
        "pyannote.audio-3.1.1.tar.gz",
        "b6562d46b5d5d616c1887cafd5aab3f7d19ecf6b3312fc6c4f72f37332fcd408",
        "pyannote.audio-3.1.1",
        _pyannote,
        "real_conversations",
    ),
    "pyaudioanalysis": Source(
        f"{HOST}/e4/92/c3d26ceeef8f9f960224a8286114988db2cec6f342ad98a0031285ec364d/"
        "pyAudioAnalysis-0.1.3.tar.gz",
        "58333557990b4503493fa2d2806591699f5651034086b241e170d2a2e75bac98",
        "pyAudioAnalysis-0.1.3",
        _pyaudioanalysis,
        "pyaudioanalysis_examples",
    ),
}


def _write(out: Path, audio: dict[str, bytes], rttm_lines: list[str]) -> Path:
    entries = []
    for folder in ("audio", "rttm", "uem"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for uri, blob in audio.items():
        duration = sf.info(io.BytesIO(blob)).duration
        (out / "audio" / f"{uri}.wav").write_bytes(blob)
        lines = [line for line in rttm_lines if line.split()[1] == uri]
        (out / "rttm" / f"{uri}.rttm").write_text("\n".join(lines) + "\n")
        (out / "uem" / f"{uri}.uem").write_text(f"{uri} 1 0.000 {duration:.3f}\n")
        entries.append(
            {
                "audio_filepath": f"audio/{uri}.wav",
                "offset": 0.0,
                "duration": round(duration, 3),
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
    parser.add_argument("--source", choices=tuple(SOURCES), default="pyannote")
    parser.add_argument(
        "--out",
        type=Path,
        help="default: data/real_conversations (pyannote), "
        "data/pyaudioanalysis_examples (pyaudioanalysis)",
    )
    parser.add_argument("--archive", type=Path, help="the sdist, already downloaded")
    args = parser.parse_args()
    out = args.out or Path("data") / SOURCES[args.source].folder
    print(fetch(out, args.archive, args.source))


if __name__ == "__main__":
    main()
