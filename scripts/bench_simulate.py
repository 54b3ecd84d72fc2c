"""Benchmark ``diarize simulate``: CPU seconds per rendered session, in one process.

Usage:
    python scripts/bench_simulate.py                      # 100 sessions x 90 s, synthetic pool
    python scripts/bench_simulate.py --sessions 20 --length 60 --keep /tmp/bench_sim

The source pool is generated: 12 fake speakers whose utterances are harmonic tones with a
syllable-rate envelope and pauses (no download, no TTS needed). The goal (issue 4): rendering
100 sessions x 90 s takes well under a minute of CPU per core.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from diarize.audio.io import SAMPLE_RATE, write_audio
from diarize.simulate.config import load_config
from diarize.simulate.plan import make_plan
from diarize.simulate.render import render_plan
from diarize.simulate.sources import VadParams, load_sources


def make_pool(folder: Path, num_speakers: int = 12, per_speaker: int = 10) -> Path:
    rng = np.random.default_rng(0)
    lines = []
    for speaker in range(num_speakers):
        pitch = 90.0 + 15.0 * speaker
        for number in range(per_speaker):
            length = rng.uniform(1.5, 6.0)
            t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
            voice = sum(np.sin(2 * np.pi * k * pitch * t) / k for k in range(1, 8))
            envelope = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None) ** 0.5
            pause = (t > length * 0.5) & (t < length * 0.5 + rng.uniform(0.0, 0.6))
            samples = 0.1 * voice * envelope * ~pause
            padded = np.concatenate([np.zeros(4000), samples, np.zeros(4000)]).astype(np.float32)
            path = folder / "wav" / f"spk{speaker:02d}_{number:02d}.wav"
            write_audio(path, padded)
            record = {
                "audio_filepath": str(path.relative_to(folder)),
                "speaker_id": f"spk{speaker:02d}",
            }
            lines.append(json.dumps({**record, "source": "tones"}))
    manifest = folder / "sources.json"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--length", type=float, default=90.0)
    parser.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        manifest = make_pool(root / "pool")
        config = load_config(
            None,
            [
                f"source_manifest={manifest}",
                f"out_dir={root / 'sim'}",
                f"num_sessions={args.sessions}",
                f"session_length={args.length}",
            ],
        )
        start = time.process_time()
        sources = load_sources(manifest, VadParams(**config.vad))
        vad_cpu = time.process_time() - start
        start = time.process_time()
        plan = make_plan(sources, config)
        plan_cpu = time.process_time() - start
        start, wall = time.process_time(), time.perf_counter()
        summary = render_plan(plan, root / "sim", num_workers=0)
        render_cpu, render_wall = time.process_time() - start, time.perf_counter() - wall
    audio_hours = args.sessions * args.length / 3600
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pool: {len(sources)} utterances, VAD {vad_cpu:.2f} s CPU")
    print(f"plan: {args.sessions} sessions x {args.length:g} s in {plan_cpu:.2f} s CPU")
    print(
        f"render: {render_cpu:.1f} s CPU ({render_cpu / args.sessions * 1000:.0f} ms per session, "
        f"{render_wall:.1f} s wall), real-time factor {render_cpu / (audio_hours * 3600):.4f}"
    )
    print(f"peak memory: {peak_mb:.0f} MB; achieved overlap {summary['overlap_ratio']['mean']:.3f}")
    print(f"silence {summary['silence_ratio']['mean']:.3f} ({audio_hours:.2f} h)")


if __name__ == "__main__":
    main()
