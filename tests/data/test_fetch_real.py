"""scripts/fetch_real_conversations.py writes manifests, RTTM and UEM from an sdist's files
(checked on a small archive made here in the sdist's layout; nothing is downloaded)."""

import dataclasses
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def fetch_module(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "fetch_real", ROOT / "scripts/fetch_real_conversations.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def _archive(path: Path, root: str, segments: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for uri, text in segments.items():
            wav = io.BytesIO()
            sf.write(wav, np.zeros(16000 * 3, dtype=np.float32), 16000, format="WAV")
            for name, blob in ((f"{uri}.wav", wav.getvalue()), (f"{uri}.segments", text.encode())):
                info = tarfile.TarInfo(f"{root}/pyAudioAnalysis/data/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    return path


def _use(module, archive: Path) -> None:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    source = module.SOURCES["pyaudioanalysis"]
    module.SOURCES["pyaudioanalysis"] = dataclasses.replace(source, sha256=digest)


def test_pyaudioanalysis_segments_become_rttm_uem_and_manifest(fetch_module, tmp_path):
    root = fetch_module.SOURCES["pyaudioanalysis"].root
    segments = {
        "diarizationExample": "0,1.5,speakerA\n1.5,3,speakerB\n",
        "diarizationExample2": "0,1,speakerA\n1,2,speakerB\n2,3,speakerC\n\n",
    }
    archive = _archive(tmp_path / "sdist.tar.gz", root, segments)
    _use(fetch_module, archive)
    out = fetch_module.fetch(tmp_path / "out", archive, "pyaudioanalysis")
    rows = [json.loads(line) for line in (out / "manifest.json").read_text().splitlines()]
    assert [(r["uniq_id"], r["num_speakers"], r["duration"]) for r in rows] == [
        ("diarizationExample", 2, 3.0),
        ("diarizationExample2", 3, 3.0),
    ]
    rttm = (out / "rttm/diarizationExample.rttm").read_text().split()
    assert rttm[:9] == "SPEAKER diarizationExample 1 0.000 1.500 <NA> <NA> speakerA <NA>".split()
    uem = (out / "uem/diarizationExample2.uem").read_text()
    assert uem == "diarizationExample2 1 0.000 3.000\n"


def test_bad_segments_line_names_file_and_line(fetch_module, tmp_path):
    root = fetch_module.SOURCES["pyaudioanalysis"].root
    segments = {"diarizationExample": "0,1,speakerA\n1;2;speakerB\n", "diarizationExample2": ""}
    archive = _archive(tmp_path / "sdist.tar.gz", root, segments)
    _use(fetch_module, archive)
    with pytest.raises(SystemExit, match=r"diarizationExample\.segments:2: expected start,end"):
        fetch_module.fetch(tmp_path / "out", archive, "pyaudioanalysis")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_archive_with_another_digest_is_refused(fetch_module, tmp_path):
    archive = _archive(tmp_path / "sdist.tar.gz", fetch_module.SOURCES["pyaudioanalysis"].root, {})
    with pytest.raises(SystemExit, match="unexpected SHA-256"):
        fetch_module.fetch(tmp_path / "out", archive, "pyaudioanalysis")
