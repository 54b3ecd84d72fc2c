"""What a perfect part of the offline pipeline would be worth: one part replaced by the reference.

``diarize infer`` clusters CAM++ embeddings of windows of solo speech that the SortFormer network
finds, then labels every frame against the clusters (``diarize.inference.voices``). Two oracles
measure what each of those parts costs, on a manifest whose reference RTTM is known:

- ``windows``: the windows are cut from the reference's own solo speech (where exactly one
  reference speaker talks) instead of the network's; everything else as shipped. A live run of
  the networks (``cluster_replay.py record``), so it writes evidence too.
- ``clusters``: each of the network's windows is labelled by the reference speaker most of its
  frames hold (a window over no reference speech joins the nearest such centroid); the frame
  labels, overlap and post-processing as shipped. A replay of recorded evidence.

    python scripts/dev/oracle_replay.py windows data/campplus/sim/real_dev/manifest.json \\
        data/campplus/sim/real_dev/all.rttm exp/ev_oracle/real_dev.pkl exp/oracle/windows
    python scripts/dev/oracle_replay.py clusters data/campplus/sim/real_dev/manifest.json \\
        data/campplus/sim/real_dev/all.rttm exp/ev/real_dev.pkl exp/oracle/clusters
    diarize score --ref data/campplus/sim/real_dev/all.rttm --hyp exp/oracle/clusters

A file's reference turns are those of the RTTM's uri equal to the audio file's name without its
extension. Measured in the sixteenth session (``docs/results_history.md``): better windows do not
help; a perfect clustering counts the real-voice mixes right but loses on real meetings.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import numpy as np

import diarize.inference.longform as longform
import diarize.inference.voices as voices
from diarize.audio.features import FRAME_SHIFT
from diarize.data.rttm import load_rttms
from diarize.inference.clustering import label_centroids, unit_rows

REPLAY = Path(__file__).with_name("cluster_replay.py")


def activity(turns, frames: int) -> np.ndarray:
    """Per 80-ms frame, which reference speakers talk (speakers in order of arrival).
    Shape: -> (frames, speakers) bool"""
    names = sorted(
        {t.speaker for t in turns}, key=lambda s: min(t.start for t in turns if t.speaker == s)
    )
    active = np.zeros((frames, len(names)), dtype=bool)
    for turn in turns:
        active[
            round(turn.start / FRAME_SHIFT) : round(turn.end / FRAME_SHIFT),
            names.index(turn.speaker),
        ] = True
    return active


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("oracle", choices=("windows", "clusters"))
    parser.add_argument("manifest", type=Path)
    parser.add_argument("reference", type=Path, help="an RTTM file or folder with every file")
    parser.add_argument("evidence", type=Path, help="windows: written; clusters: read")
    parser.add_argument("out", type=Path, help="RTTM folder")
    parser.add_argument("--longform", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    reference = load_rttms(args.reference)
    file: dict = {}  # the file being diarized: its reference activity, its chunks

    decide = voices.clustered_posteriors

    def clustered_posteriors(model, source, windows, config, *rest):
        turns = reference.get(Path(source.path).stem, [])
        file["active"] = activity(turns, max(w.stop for w in windows) + 1)
        file["chunks"] = iter(windows)
        return decide(model, source, windows, config, *rest)

    def oracle_windows(probs, level, overlap, heard, config, own):
        chunk = next(file["chunks"])
        active = file["active"][chunk.start : chunk.start + len(probs)]
        return voices.column_windows(active.sum(axis=1) == 1, active, config, own)

    def oracle_clusters(evidence, config, *hints):
        active = file["active"]
        held = np.stack([active[a:b].sum(axis=0) for a, b in evidence.spans])
        heard = held.any(axis=1)
        if not heard.any():  # no window over reference speech: one speaker
            return np.zeros(len(evidence.speech), dtype=np.int64), 1
        labels = np.zeros(len(held), dtype=np.int64)
        _, labels[heard] = np.unique(held[heard].argmax(axis=1), return_inverse=True)
        count = int(labels.max()) + 1
        if not heard.all():  # windows over no reference speech: the nearest speaker's
            x = unit_rows(evidence.vectors.astype(np.float64))
            centroids = label_centroids(x[heard], labels[heard])
            labels[~heard] = np.argmax(x[~heard] @ centroids.T, axis=1)
        return voices.frames_by_voice(evidence, config, labels), count

    replaced = {
        (voices, "clustered_posteriors"): clustered_posteriors,
        (longform, "clustered_posteriors"): clustered_posteriors,
    }
    if args.oracle == "windows":
        replaced[voices, "solo_windows"] = oracle_windows
    else:
        replaced[voices, "_by_voice"] = oracle_clusters
    saved = {key: getattr(*key) for key in replaced}
    for (module, name), function in replaced.items():
        setattr(module, name, function)
    mode = "record" if args.oracle == "windows" else "replay"
    extra = ["--longform", *args.longform] if args.longform else []
    sys.argv = [str(REPLAY), mode, str(args.manifest), str(args.evidence), str(args.out), *extra]
    try:
        runpy.run_path(str(REPLAY), run_name="__main__")
    finally:  # diarize's own functions again (tests run this in-process)
        for (module, name), function in saved.items():
            setattr(module, name, function)


if __name__ == "__main__":
    main()
