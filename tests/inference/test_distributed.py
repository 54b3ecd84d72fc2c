"""``diarize infer --devices 2``: two CPU worker processes (Lightning DDP, gloo).

Runs the real command line in a subprocess, because the workers re-run it.
"""

import os
import subprocess
import sys

import numpy as np
import soundfile as sf


def _speechy(seconds, seed=0, sr=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    voice = np.sin(2 * np.pi * (140 + 40 * np.sin(3 * t)) * t) * (np.sin(0.7 * t) > -0.3)
    return (0.3 * voice + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def _infer(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "diarize", "infer", *map(str, args), "--quiet"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_two_processes_match_one_and_report_failures_and_skips(tmp_path, model_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for seed, seconds in enumerate((6.0, 2.0, 3.0, 4.0)):
        sf.write(folder / f"f{seed}.wav", _speechy(seconds, seed), 16000)
    (folder / "broken.wav").write_text("not audio")
    common = ("--model", model_path, "--device", "cpu")

    one = _infer(folder, "--out", tmp_path / "one", *common)
    two = _infer(folder, "--out", tmp_path / "two", *common, "--devices", "2")
    assert one.returncode == 1 and two.returncode == 1, two.stderr
    for uri in ("f0", "f1", "f2", "f3"):
        name = f"{uri}.rttm"
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()
    combined = (tmp_path / "two" / "diarization.rttm").read_text()
    assert combined == (tmp_path / "one" / "diarization.rttm").read_text()
    errors = [line for line in two.stderr.splitlines() if "broken.wav" in line]
    assert len(errors) == 1 and errors[0].startswith("diarize infer: error:")
    assert "Traceback" not in two.stderr
    assert "4 diarized" in two.stdout and "on 2 processes" in two.stdout
    assert "1 failed" in two.stdout

    (folder / "broken.wav").unlink()
    again = _infer(folder, "--out", tmp_path / "two", *common, "--devices", "2")
    assert again.returncode == 0, again.stderr
    assert "4 skipped (already done)" in again.stdout and "0 failed" in again.stdout
