"""Record a stream's network outputs once, then replay the stream's linking in seconds.

Streaming experiments that change only how speakers are linked and frames labelled do not need
the networks again: CAM++, segmentation-3.0 and the SortFormer network give the same outputs at
every step whatever the linking decides. ``record`` streams the first N files of a manifest at
1.04 s with the SortFormer network at every step and stores, per file, every step's network
outputs (``TAPES/<uri>.pt``, about 6 MB per 90 s); ``replay`` runs the real
:class:`StreamingDiarizer` code with those outputs played back (RTF about 0.005 against
0.08-0.2) and writes the RTTMs, by default with the network's shipped schedule
(``--network-seconds``); where a replay runs the network at a step the tape has no output for
(a tape recorded with the shipped schedule, replayed with settings that call the network at
other steps), the network runs live. A replay with ``--network-seconds 0`` and no other
option reproduces the recorded run byte for byte; changing a module that the networks' outputs
depend on (the window model, CAM++, the latency split) needs a new recording.

    python scripts/dev/stream_replay.py record data/campplus/sim/dev/manifest.json 36 exp/tape/dev
    python scripts/dev/stream_replay.py replay data/campplus/sim/dev/manifest.json 36 \\
        exp/tape/dev exp/replay/dev --longform change_penalty=0.25
    diarize score --ref REF.rttm --hyp exp/replay/dev

The recorded calls are private methods of :class:`StreamingDiarizer` and :class:`WindowModel`
(``StreamAudio.embed``, ``_start_speech``, ``probs``): keep this script in step when they change.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import Future
from pathlib import Path

import torch

from diarize.audio.io import SAMPLE_RATE, load_audio
from diarize.data.rttm import write_rttm
from diarize.inference.diarizer import Diarizer
from diarize.inference.streaming import NETWORK_SECONDS, StreamingDiarizer
from diarize.inference.window_model import SAMPLES_PER_FRAME

CALLS = {"steps": 0, "network": 0}  # steps and network runs replayed (the schedule's cost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("record", "replay"))
    parser.add_argument("manifest", type=Path)
    parser.add_argument("files", type=int, help="the manifest's first N files")
    parser.add_argument("tapes", type=Path, help="folder of the recorded outputs")
    parser.add_argument("out", type=Path, nargs="?", help="RTTM folder (replay: required)")
    parser.add_argument(
        "--longform", nargs="*", default=[], metavar="KEY=VALUE", help="LongformConfig changes"
    )
    parser.add_argument(
        "--postprocessing", type=Path, metavar="YAML", help="post-processing (default: bundled)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=1.04,
        help="replay: a latency whose engine steps as 1.04 s does (1.04 or longer: the rest is "
        "held), default 1.04",
    )
    parser.add_argument(
        "--network-seconds",
        type=float,
        help="the network's schedule (default: record at every "
        "step, so that any schedule replays; replay as shipped)",
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32"),
        default="auto",
        help="record: segmentation-3.0 in bfloat16 where the CPU has it (auto, as shipped) or not",
    )
    args = parser.parse_args()
    if args.network_seconds is None:
        args.network_seconds = 0.0 if args.mode == "record" else NETWORK_SECONDS
    if args.mode == "replay" and args.out is None:
        parser.error("replay writes RTTMs: give OUT")
    bf16 = False if args.precision == "fp32" else None
    diarizer = Diarizer.from_pretrained(None, postprocessing=args.postprocessing, bf16=bf16)
    longform = diarizer.longform
    for item in args.longform:
        key, value = item.split("=", 1)
        current = getattr(longform, key)
        cast = float if current is None else type(current)
        longform = dataclasses.replace(longform, **{key: cast(value)})
    args.tapes.mkdir(parents=True, exist_ok=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    entries = [json.loads(line) for line in args.manifest.open()][: args.files]
    heard = spent = 0.0
    for entry in entries:
        audio = load_audio(args.manifest.parent / entry["audio_filepath"])
        uri = entry.get("uniq_id") or Path(entry["audio_filepath"]).stem
        stream = StreamingDiarizer(
            diarizer.network, args.latency, longform=longform, postprocessing=diarizer.postprocessing,
            uri=uri, device=diarizer.device, bf16=diarizer.bf16,
            network_seconds=args.network_seconds,
        )  # fmt: skip
        path = args.tapes / f"{uri}.pt"
        recording = args.mode == "record"
        tape = {} if recording else torch.load(path, weights_only=False)
        _wire(stream, tape, recording)
        start = time.perf_counter()
        step = stream.block * SAMPLES_PER_FRAME
        for i in range(0, len(audio), step):
            stream.feed(audio[i : i + step])
        stream.finish()
        spent += time.perf_counter() - start
        heard += len(audio) / SAMPLE_RATE
        if recording:
            torch.save(tape, path)
        if args.out:
            write_rttm(args.out / f"{uri}.rttm", stream.turns)
    share = CALLS["network"] / max(CALLS["steps"], 1)
    print(
        f"{args.mode}: {len(entries)} files, RTF {spent / max(heard, 1e-9):.4f}, "
        f"the network at {share:.0%} of the steps"
    )


def _wire(stream: StreamingDiarizer, tape: dict, recording: bool) -> None:
    """Route the stream's network calls through ``tape``: computed and stored when recording,
    read back when replaying, keyed by the step (its first frame). What the linking computes
    from them (CAM++ pooling of speaker and frame embeddings) runs live: it is cheap, and it
    depends on which frames are linked when."""
    model = stream.model
    probs, embed, start_speech = model.probs, stream.audio.embed, stream._start_speech

    def take(key, compute):
        if recording:
            tape[key] = compute()
        # a schedule other than the recorded one: the network runs live where the tape has none
        return tape[key] if key in tape else compute()

    def done(value):
        future = Future()
        future.set_result(value)
        return future

    def taped_speech(first, stop):
        def compute():
            pending = start_speech(first, stop)
            return None if pending is None else pending.result()

        value = take(("speech", first), compute)
        return None if value is None else done(value)

    def taped_probs(window):
        CALLS["network"] += 1
        return take(("probs", stream._final), lambda: probs(window)).copy()

    def taped_embed(first, stop):
        CALLS["steps"] += 1
        return take(("embed", first), lambda: embed(first, stop))

    model.probs = taped_probs
    stream.audio.embed = taped_embed
    stream._start_speech = taped_speech


if __name__ == "__main__":
    main()
