"""Record what the networks say about each file once, then replay the offline decisions in seconds.

Offline experiments that change only what is decided after the networks have run (the
clustering of the windows, the labelling of frames, the second speakers of overlap, the
post-processing) do not need CAM++ and segmentation-3.0 again: ``diarize infer`` splits a
file's work into :func:`~diarize.inference.voices.gather_evidence` (the networks) and
:func:`~diarize.inference.voices.decide_speakers`. ``record`` runs ``diarize infer`` on a
manifest with the bundled settings and stores every file's evidence (about 1 MB per 90 s);
``replay`` runs the same command with ``--longform`` changes (and another
``--postprocessing``, if given) and the evidence played back
(the real conversations' 15 files: 1.5 s against 27 s), and writes the RTTMs. A replay with no
change reproduces the recorded run byte for byte.

    python scripts/dev/cluster_replay.py record data/campplus/sim/dev/manifest.json exp/ev/dev.pkl
    python scripts/dev/cluster_replay.py replay data/campplus/sim/dev/manifest.json \\
        exp/ev/dev.pkl exp/replay/dev --longform merge_threshold=0.7
    diarize score --ref data/campplus/sim/dev/all.rttm --hyp exp/replay/dev

The evidence holds segmentation-3.0's local speakers per frame, so ``overlap_name_threshold``
and ``overlap_voice_seconds`` replay too. Settings that change the evidence itself
(``GATHERED``) need a new recording and are refused.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path

import yaml

import diarize.inference.voices as voices
from diarize.cli.main import main as diarize_main

BUNDLED_LONGFORM = Path(voices.__file__).parents[1] / "pretrained" / "longform.yaml"
# settings that change what the networks' pass leaves (see gather_evidence)
GATHERED = {
    "chunk_seconds", "overlap_seconds", "min_audio_seconds", "speech_source", "speech_threshold",
    "window_seconds", "hop_seconds", "solo_fallback", "resegment_seconds", "local_speakers",
    "segmentation_hop_seconds", "silence_floor_db", "level_rms", "min_embed_seconds",
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("record", "replay"))
    parser.add_argument("manifest", type=Path)
    parser.add_argument("evidence", type=Path, help="the recorded evidence (a pickle)")
    parser.add_argument("out", type=Path, nargs="?", help="RTTM folder (replay: required)")
    parser.add_argument(
        "--longform", nargs="*", default=[], metavar="KEY=VALUE", help="LongformConfig changes"
    )
    parser.add_argument(
        "--postprocessing", type=Path, metavar="YAML", help="post-processing (default: bundled)"
    )
    for hint in ("num", "min", "max"):
        parser.add_argument(f"--{hint}-speakers", type=int, help="a speaker-count hint, as infer")
    args = parser.parse_args()
    if args.mode == "replay" and args.out is None:
        parser.error("replay writes RTTMs: give OUT")
    settings = yaml.safe_load(BUNDLED_LONGFORM.read_text())
    for item in args.longform:
        key, value = item.split("=", 1)
        if key in GATHERED and args.mode == "replay":
            parser.error(f"{key} changes the recorded evidence: record again with it")
        settings[key] = yaml.safe_load(value)
    recording = args.mode == "record"
    store: dict = {} if recording else pickle.loads(args.evidence.read_bytes())
    gather = voices.gather_evidence

    def played(model, source, windows, config, voices=True):
        key = (str(getattr(source, "path", "")), getattr(source, "offset", 0.0), source.num_samples)
        if recording:  # a speech-only pass (a call per leg) is kept unless a whole one comes
            if voices or key not in store:
                store[key] = gather(model, source, windows, config, voices)
        elif key not in store:
            raise SystemExit(f"{key[0]}: not in {args.evidence}; record it first")
        return store[key]

    voices.gather_evidence = played
    try:
        with tempfile.TemporaryDirectory() as temp:
            config = Path(temp) / "longform.yaml"
            config.write_text(yaml.safe_dump(settings))
            out = args.out or Path(temp) / "out"
            command = ["infer", str(args.manifest), "--out", str(out), "--longform", str(config)]
            for hint in ("num", "min", "max"):
                if getattr(args, f"{hint}_speakers") is not None:
                    command += [f"--{hint}-speakers", str(getattr(args, f"{hint}_speakers"))]
            if args.postprocessing is not None:
                command += ["--postprocessing", str(args.postprocessing)]
            code = diarize_main([*command, "--overwrite", "--quiet"])
    finally:
        voices.gather_evidence = gather
    if recording:
        args.evidence.parent.mkdir(parents=True, exist_ok=True)
        args.evidence.write_bytes(pickle.dumps(store, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{args.mode}: {len(store)} files' evidence")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
