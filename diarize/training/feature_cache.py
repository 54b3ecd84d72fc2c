"""Fill the on-disk feature cache of a frozen pretrained front end before training.

Each manifest entry is loaded once, run through the front end in chunks (a whole number of
the front end's windows, so chunking changes nothing) and written as fp16 ``.npy``; entries
already cached are skipped, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diarize.audio.features import HOP_LENGTH, SUBSAMPLING
from diarize.audio.io import load_audio
from diarize.data.feature_cache import feature_path
from diarize.data.manifest import ManifestEntry
from diarize.io_utils import atomic_path
from diarize.models.sortformer import SortformerNetwork

CHUNK_WINDOWS = 10  # front-end windows per forward pass
SILENCE_BANK_SIZE = 256  # noise-only front-end windows for silence splicing


def front_end_key(network: SortformerNetwork) -> str:
    """What identifies the cached features: the front end's type and windowing."""
    encoder = network.config.encoder
    return f"{encoder.type}:{encoder.window_sec}:{encoder.context_sec}"


@torch.no_grad()
def cache_features(
    network: SortformerNetwork, entries: list[ManifestEntry], folder: str | Path, desc: str = ""
) -> list[Path]:
    """Front-end features of every entry under ``folder`` (computed where missing)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = front_end_key(network)
    paths = [feature_path(folder, entry, key) for entry in entries]
    missing = [
        (entry, path) for entry, path in zip(entries, paths, strict=True) if not path.is_file()
    ]
    if not missing:
        return paths
    front_end = network.campplus
    was_training = front_end.training
    front_end.eval()
    chunk = CHUNK_WINDOWS * front_end.window * 160  # samples
    for entry, path in tqdm(missing, desc=f"caching features {desc}".strip(), unit="file"):
        audio = load_audio(entry.audio_filepath, entry.offset, entry.duration)
        parts = []
        for start in range(0, max(len(audio), 1), chunk):
            piece = torch.from_numpy(np.ascontiguousarray(audio[start : start + chunk]))
            emb, lengths = front_end(piece[None], torch.tensor([len(piece)]))
            parts.append(emb[0, : int(lengths[0])].numpy().astype(np.float16))
        _save_atomic(path, np.concatenate(parts))
    front_end.train(was_training)
    return paths


@torch.no_grad()
def silence_bank(
    network: SortformerNetwork, folder: str | Path, count: int = SILENCE_BANK_SIZE, seed: int = 0
) -> np.ndarray:
    """Front-end features of ``count`` noise-only windows (built once, kept in
    ``folder/silence``).

    Each is the middle window of a 3-window noise clip (:func:`diarize.data.silence.noise_clip`),
    so its context is noise too: what the front end gives the inside of a long pause.

    Shape:
        -> (count, W, D) float32, W frames per front-end window
    """
    from diarize.data.silence import noise_clip

    folder = Path(folder) / "silence"  # beside, not among, the recordings' features
    digest = hashlib.sha1(f"{front_end_key(network)}|{count}|{seed}".encode()).hexdigest()[:12]
    path = folder / f"bank-{digest}.npy"
    if not path.is_file():
        front_end = network.campplus
        was_training = front_end.training
        front_end.eval()
        width = front_end.window // SUBSAMPLING
        rng = np.random.default_rng(seed)
        windows = []
        for _ in tqdm(range(count), desc="caching silence", unit="window"):
            clip = torch.from_numpy(noise_clip(rng, 3 * width * SUBSAMPLING * HOP_LENGTH))
            emb, _ = front_end(clip[None], torch.tensor([len(clip)]))
            windows.append(emb[0, width : 2 * width].numpy().astype(np.float16))
        front_end.train(was_training)
        folder.mkdir(parents=True, exist_ok=True)
        _save_atomic(path, np.stack(windows))
    return np.load(path).astype(np.float32)


def _save_atomic(path: Path, array: np.ndarray) -> None:
    # through a file object: np.save given a name would add ".npy" to the temporary one
    with atomic_path(path) as temp, open(temp, "wb") as file:
        np.save(file, array)


def attach_feature_cache(data, network: SortformerNetwork, train_ds, validation_ds) -> None:
    """Point the data module's datasets at cached features when the front end allows it.

    Only a frozen pretrained front end can be cached (a trained one changes every step);
    each split uses its own ``feature_cache`` folder (None: no caching for that split).
    """
    encoder = network.config.encoder
    if not (network.pretrained_front_end and encoder.freeze):
        return
    splits = [
        ("train", data.train_set, train_ds),
        ("validation", data.validation_set, validation_ds),
    ]
    for name, dataset, config in splits:
        if dataset is not None and config.feature_cache:
            dataset.feature_files = cache_features(
                network, dataset.entries, config.feature_cache, desc=name
            )
            if dataset.silence_prob > 0:
                dataset.silence_bank = silence_bank(network, config.feature_cache)
