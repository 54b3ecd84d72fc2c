"""A tiny generated source pool: fake speakers made of tone bursts separated by silences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diarize.audio.io import SAMPLE_RATE, write_audio

NUM_SPEAKERS = 6
UTTERANCES_PER_SPEAKER = 4


def make_pool(folder: Path, num_speakers: int = NUM_SPEAKERS, seed: int = 0) -> Path:
    """Write ``num_speakers`` fake speakers (a pitch each) and their source manifest.

    Every utterance is 0.3 s of silence, 2-4 bursts of 0.3-1.2 s tone separated by 0.1-0.2 s or
    0.4-0.6 s pauses, then 0.4 s of silence; the burst times are recorded under ``bursts`` so tests can
    compare them with what the VAD finds. Half the speakers are ``source: a``, half ``b``.
    """
    rng = np.random.default_rng(seed)
    lines = []
    for speaker in range(num_speakers):
        pitch = 120.0 + 40.0 * speaker
        for number in range(UTTERANCES_PER_SPEAKER):
            pieces, bursts, time = [np.zeros(int(0.3 * SAMPLE_RATE))], [], 0.3
            for burst in range(int(rng.integers(2, 5))):
                if burst:
                    # clear of vad.min_pause (0.3 s): short pauses bridged, long ones split
                    pause = float(
                        rng.uniform(0.1, 0.2) if rng.random() < 0.5 else rng.uniform(0.4, 0.6)
                    )
                    pieces.append(np.zeros(int(pause * SAMPLE_RATE)))
                    time += pause
                length = float(rng.uniform(0.3, 1.2))
                t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
                tone = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.1 * np.sin(2 * np.pi * 3 * pitch * t)
                pieces.append(tone * np.hanning(len(t)) ** 0.1)
                bursts.append([round(time, 3), round(time + length, 3)])
                time += length
            pieces.append(np.zeros(int(0.4 * SAMPLE_RATE)))
            samples = np.concatenate(pieces).astype(np.float32)
            path = folder / "wav" / f"spk{speaker}" / f"{number:03d}.wav"
            write_audio(path, samples)
            lines.append(
                {
                    "audio_filepath": str(path.relative_to(folder)),
                    "offset": 0.0,
                    "duration": round(len(samples) / SAMPLE_RATE, 4),
                    "speaker_id": f"spk{speaker}",
                    "source": "a" if speaker % 2 == 0 else "b",
                    "bursts": bursts,
                }
            )
    manifest = folder / "sources.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest


@pytest.fixture(scope="session")
def source_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pool(tmp_path_factory.mktemp("pool"))
