"""Is each real voice of the voice bank one person? How ``MIXED_VOICES`` was found.

The voice bank names a real voice by its recording (a KLettres language folder, a codec2
file, a pocketsphinx test recording). Some of those hold two people, and a mix that uses one
then scores a right answer as an error (two speakers found where the reference has one). Per
voice this cuts its utterances into 2-s windows (1 s apart), embeds each with CAM++, splits the
windows in two by average-linkage clustering, and prints the two parts' sizes, the cosine
similarity of their centroids, and each part's median pitch (pYIN). One person's two parts
are alike (0.54-0.94 here); two people's are as unlike as two voices of the bank (95% of the
pairs of these voices' centroids are below 0.41), often with a pitch an octave apart. A voice
is flagged when both parts hold at least 3 windows and a tenth of them and their centroids
are less than ``SPLIT_BELOW`` alike (a lone odd window, or two of noise, is not a person).

    python -m recipes.campplus.local.voice_purity data/campplus/real_test.json \\
        data/campplus/real_dev.json

Measured on 2026-12-02 (``heldout_real.py``'s ``MIXED_VOICES`` quotes it), three voices are
flagged: KLettres German (parts of 23 / 20 windows, centroid similarity 0.12, 109 / 215 Hz)
and Danish (10 / 43, 0.39; its alphabet folder's median pitch 225 Hz, its syllables' 125 Hz):
in both the alphabet and the syllables were read by different people; and codec2's
``speech_orig_16k.wav`` (4 / 3, 0.38, 237 / 132 Hz: a compilation of voices). Every other
voice split 0.54 or more alike, or only a window or two off (AN4's two: a silent tail).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from diarize.audio.fbank import KaldiFbank
from diarize.audio.io import SAMPLE_RATE, load_audio
from diarize.inference.clustering import label_centroids
from diarize.models.campplus import EMBEDDING_SIZE, CAMPPlus
from diarize.models.config import EncoderConfig
from recipes.campplus.local.heldout_real import read_rows

WINDOW = 2 * SAMPLE_RATE
HOP = SAMPLE_RATE
BATCH = 64  # windows embedded at once
SPLIT_BELOW = 0.45  # centroid cosine: the two parts are two people
WEIGHTS = Path(EncoderConfig.pretrained).expanduser()  # scripts/fetch_campplus.py writes it


def voice_windows(paths: list[str]) -> list[np.ndarray]:
    """2-s windows, 1 s apart, of every utterance (one window for a shorter one)."""
    windows = []
    for path in sorted(set(paths)):
        audio = load_audio(path)
        for start in range(0, max(1, len(audio) - WINDOW + 1), HOP):
            windows.append(audio[start : start + WINDOW])
    return windows


@torch.inference_mode()
def embed(model: CAMPPlus, fbank: KaldiFbank, windows: list[np.ndarray]) -> np.ndarray:
    """Unit CAM++ embeddings, one per window, in batches of windows of one length (all 2 s but
    a shorter utterance's). Shape: -> (W, 192)"""
    rows = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float32)
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, window in enumerate(windows):
        by_length[len(window)].append(index)
    for indices in by_length.values():
        for first in range(0, len(indices), BATCH):
            batch = indices[first : first + BATCH]
            audio = torch.from_numpy(np.stack([windows[i] for i in batch]).astype(np.float32))
            features = fbank(audio)
            rows[batch] = model(features - features.mean(1, keepdim=True)).numpy()
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def median_pitch(windows: list[np.ndarray]) -> float:
    """Median F0 (Hz) of the voiced frames of ``windows`` (pYIN, 60-400 Hz); nan if none."""
    import librosa

    voiced = []
    for window in windows:
        f0, flags, _ = librosa.pyin(window, fmin=60, fmax=400, sr=SAMPLE_RATE)
        voiced.extend(f0[flags & ~np.isnan(f0)])
    return float(np.median(voiced)) if voiced else float("nan")


def split_in_two(embeddings: np.ndarray) -> tuple[np.ndarray, float]:
    """Average-linkage split of the windows in two: (labels 0/1, cosine of the centroids)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = fcluster(linkage(embeddings, "average", "cosine"), 2, "maxclust") - 1
    a, b = label_centroids(embeddings, labels)
    return labels, float(a @ b)


def two_people(labels: np.ndarray, similarity: float) -> bool:
    """Whether a split (:func:`split_in_two`) looks like two people: both parts at least 3
    windows and a tenth of them, their centroids less than ``SPLIT_BELOW`` alike."""
    smaller = min(int((labels == 0).sum()), int((labels == 1).sum()))
    return similarity < SPLIT_BELOW and smaller >= max(3, len(labels) / 10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifests", nargs="+", type=Path, help="source manifests (JSON lines)")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="CAM++ weights")
    args = parser.parse_args(argv)
    paths: dict[str, list[str]] = defaultdict(list)
    for manifest in args.manifests:
        for row in read_rows(manifest):
            paths[row["speaker_id"]].append(row["audio_filepath"])
    model = CAMPPlus().eval()
    model.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
    fbank = KaldiFbank()
    print(f"{'voice':40s} windows  parts    centroid cos  F0 of the parts (Hz)")
    flagged = []
    for voice, files in sorted(paths.items()):
        windows = voice_windows(files)
        if len(windows) < 4:
            print(f"{voice:40s} {len(windows):7d}  (too few to split)")
            continue
        labels, similarity = split_in_two(embed(model, fbank, windows))
        parts = [[w for w, k in zip(windows, labels, strict=True) if k == part] for part in (0, 1)]
        pitch = " / ".join(f"{median_pitch(part):.0f}" for part in parts)
        sizes = f"{len(parts[0])} / {len(parts[1])}"
        two = two_people(labels, similarity)
        flagged += [voice] if two else []
        mark = "  two people?" if two else ""
        print(f"{voice:40s} {len(windows):7d}  {sizes:8s} {similarity:12.2f}  {pitch}{mark}")
    print(f"flagged: {', '.join(flagged) or 'none'}")


if __name__ == "__main__":
    main()
