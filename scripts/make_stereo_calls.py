"""Simulated telephone calls recorded per leg, from the 2-speaker sessions of simulated sets.

Each session of two speakers is rendered again with each speaker on a channel of its own: the
speaker's planned turns (as ``diarize simulate`` placed them), pink noise at 30 dB SNR, then a
telephone channel (8 kHz, band-pass, mu-law); each channel also carries the other leg ``--echo-db``
down (echo or bleed), and the file is written as 2-channel 16-bit WAV at 8 kHz, as call
recorders store calls. Reverb and the plan's noise are left out. ``OUT/all.rttm`` holds the
plan's turns and ``OUT/manifest.json`` one line per call (``num_speakers: 2``).

    python scripts/make_stereo_calls.py --sets real_dev real_test dev test --out data/calls
    diarize infer data/calls/manifest.json --out out/calls      # prints DER
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from diarize.audio.channel import telephone
from diarize.audio.io import SAMPLE_RATE
from diarize.simulate import augment
from diarize.simulate.render import _add_piece, session_turns
from diarize.simulate.schema import read_plan

CALL_RATE = 8000


def render_call(session, echo_db: float) -> np.ndarray:
    """The call's two legs at 8 kHz, peak 0.5. Shape: -> (samples, 2)"""
    count = int(round(session.duration * SAMPLE_RATE))
    rng = np.random.default_rng(session.index)
    legs = []
    for speaker in session.speakers:
        track = np.zeros(count, dtype=np.float32)
        for segment in session.segments:
            if segment.speaker == speaker:
                _add_piece(track, segment, segment.gain_db, segment.speech)
        noise = augment.colored_noise(rng, count, "pink")
        legs.append(telephone(augment.add_at_snr(track, noise, 30.0, np.abs(track) > 0)))
    echo = 10 ** (echo_db / 20)
    stereo = np.stack([legs[0] + echo * legs[1], legs[1] + echo * legs[0]], axis=1)
    stereo *= 0.5 / (np.abs(stereo).max() + 1e-9)
    return np.stack([soxr.resample(leg, SAMPLE_RATE, CALL_RATE) for leg in stereo.T], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", required=True, help="sets under --sim")
    parser.add_argument("--sim", type=Path, default=Path("data/campplus/sim"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--echo-db", type=float, default=-25.0, help="the other leg's level")
    args = parser.parse_args()
    for folder in ("audio", "rttm"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    lines, manifest = [], []
    for name in args.sets:
        for session in read_plan(args.sim / name / "plan.json").sessions:
            if len(session.speakers) != 2:
                continue
            uri = f"{name}_{session.uri}"
            path = (args.out / "audio" / f"{uri}.wav").resolve()
            rttm = (args.out / "rttm" / f"{uri}.rttm").resolve()
            sf.write(path, render_call(session, args.echo_db), CALL_RATE, subtype="PCM_16")
            own = [
                f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
                for t in session_turns(session)
            ]
            rttm.write_text("\n".join(own) + "\n")
            lines += own
            manifest.append(
                {"audio_filepath": str(path), "offset": 0.0, "duration": session.duration,
                 "rttm_filepath": str(rttm), "uniq_id": uri, "num_speakers": 2}
            )  # fmt: skip
    (args.out / "all.rttm").write_text("\n".join(lines) + "\n")
    (args.out / "manifest.json").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    print(f"{len(manifest)} calls in {args.out}")


if __name__ == "__main__":
    main()
