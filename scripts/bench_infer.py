"""Benchmark: real-time factor and peak memory of the whole ``diarize infer`` command.

Builds 15, 60 and 120-minute 16 kHz test recordings once (espeak-ng speech of four voices taking
turns with pauses and a little overlap, over low background noise; a 5-minute conversation
tiled), then runs ``diarize infer FILE --out DIR`` for each as a fresh subprocess, so start-up
(imports, model loading) is included, and reads the child's wall time and peak RSS from
``os.wait4``. RTF = wall time / audio duration. Goal on a 2-core CPU with the default model:
RTF <= 0.02 and peak memory <= 1.5 GB on the 60-minute file, both flat per hour. The table
also gives the CPU seconds used (user + system; "CPU RTF" = CPU s / audio s), which do not
depend on how busy the machine is: on an idle N-core machine wall time is about CPU s / N.

Usage:
    python scripts/bench_infer.py                              # bundled model
    python scripts/bench_infer.py --model exp/model.pt --minutes 15 60
    python scripts/bench_infer.py --random-model conf/train.yaml   # speed of an untrained net
    python scripts/bench_infer.py --device cuda
    python scripts/bench_infer.py --stream 1.04 --minutes 15 60     # diarize stream instead
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from diarize.audio.io import SAMPLE_RATE
from diarize.cli import add_precision_argument
from diarize.io_utils import atomic_path

VOICES = ("en+m3", "en-us+f2", "en-gb-scotland+m1", "en+f4")
SENTENCES = (
    "I think we should move the release to next week, the tests are not green yet.",
    "That works for me, but the customer asked for a demo on Thursday.",
    "Can we show them the old build and explain what changed since then?",
    "We could, although the new dashboard is the part they really care about.",
    "Let me check with the design team whether the charts are ready.",
    "Honestly, the charts were done on Monday, only the export is missing.",
    "Then the plan is simple: demo on Thursday, release on Tuesday.",
    "Fine. I will write the notes and send them around after lunch.",
)


def base_conversation(seconds: float = 300.0, seed: int = 0) -> np.ndarray:
    """A seeded conversation of four espeak-ng voices, about ``seconds`` long."""
    import soxr

    rng = np.random.default_rng(seed)
    clips = {}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in VOICES:
            for index, sentence in enumerate(SENTENCES):
                path = Path(tmp) / f"{voice}_{index}.wav"
                subprocess.run(
                    [
                        "espeak-ng",
                        "-v",
                        voice,
                        "-s",
                        str(150 + 10 * index % 40),
                        "-w",
                        path,
                        sentence,
                    ],
                    check=True,
                )
                audio, sr = sf.read(path, dtype="float32")
                clips[voice, index] = soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)
    total = int(seconds * SAMPLE_RATE)
    out = (0.003 * rng.standard_normal(total)).astype(np.float32)  # room noise
    cursor = 0
    while True:
        voice = VOICES[rng.integers(len(VOICES))]
        clip = clips[voice, rng.integers(len(SENTENCES))]
        if cursor + len(clip) > total:
            break
        out[cursor : cursor + len(clip)] += 0.6 * clip
        # mostly a pause, sometimes the next voice cuts in
        gap = rng.uniform(-0.6, 0.0) if rng.random() < 0.15 else rng.uniform(0.2, 1.5)
        cursor = max(0, cursor + len(clip) + int(gap * SAMPLE_RATE))
    return out


def make_recording(path: Path, minutes: float, base: np.ndarray) -> None:
    """Tile ``base`` to ``minutes`` of audio, written block by block (never whole in memory)."""
    if path.is_file() and abs(sf.info(str(path)).duration - minutes * 60) < 1:
        return
    remaining = int(minutes * 60 * SAMPLE_RATE)
    with (
        atomic_path(path) as tmp,
        sf.SoundFile(tmp, "w", SAMPLE_RATE, 1, "PCM_16", format="WAV") as handle,
    ):
        while remaining > 0:
            block = base[:remaining]
            handle.write(block)
            remaining -= len(block)


def random_model(config: str, path: Path) -> Path:
    """Export a randomly initialised network of ``config`` (speed is that of a trained one)."""
    code = (
        "import sys; from diarize.models import build_network_from_config, save_model; "
        "save_model(build_network_from_config(sys.argv[1]), sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", code, config, str(path)], check=True)
    return path


def run_infer(
    audio: Path,
    out: Path,
    model: str | None,
    device: str,
    stream: float | None = None,
    precision: str = "auto",
) -> tuple[float, float, float, int]:
    """Run the whole command once; returns (wall s, CPU s, peak RSS in MB, exit status).

    CPU seconds (user + system) tell what the run would take on an idle machine when the
    benchmark shares its cores with other work: about CPU s / cores. With ``stream`` (a
    latency in seconds) the command is ``diarize stream`` instead of ``diarize infer``.
    """
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "diarize", "infer", str(audio), "--out", str(out)]
    if stream is not None:
        command[3] = "stream"
        command += ["--latency", f"{stream:g}"]
    command += ["--device", device, "--precision", precision, "--quiet"]
    command += ["--model", model] if model else []
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    peak_mb = usage.ru_maxrss / 1024  # kB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, peak_mb, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[15, 60, 120])
    parser.add_argument("--model", default=None, help="model file (default: bundled)")
    parser.add_argument("--random-model", metavar="CONFIG", help="export a random net of CONFIG")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument(
        "--stream", type=float, metavar="LATENCY", help="time diarize stream at this latency"
    )
    add_precision_argument(parser)  # passed on to the command, as its own option
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench_infer")
    args = parser.parse_args()

    model = args.model
    if args.random_model:
        model = str(random_model(args.random_model, args.workdir / "random_model.pt"))
    base_path = args.workdir / "base.wav"
    if not base_path.is_file():
        base_path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(base_path, base_conversation(), SAMPLE_RATE, subtype="PCM_16")
    base, _ = sf.read(base_path, dtype="float32")

    command = f"diarize stream --latency {args.stream:g}" if args.stream else "diarize infer"
    print(
        f"{command}; model: {model or 'bundled default'}; device: {args.device}; "
        f"precision: {args.precision}; cpus: {os.cpu_count()}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    header = ("minutes", "wall s", "RTF", "CPU s", "CPU RTF", "peak MB", "exit")
    print(" ".join(f"{h:>8}" for h in header))
    worst = 0
    for minutes in args.minutes:
        audio = args.workdir / f"bench_{minutes:g}min.wav"
        make_recording(audio, minutes, base)
        wall, cpu, peak, code = run_infer(
            audio, args.workdir / f"out_{minutes:g}", model, args.device, args.stream,
            args.precision,
        )  # fmt: skip
        seconds = minutes * 60
        print(
            f"{minutes:8g} {wall:8.1f} {wall / seconds:8.4f} {cpu:8.1f} {cpu / seconds:8.4f} "
            f"{peak:8.0f} {code:8d}"
        )
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
