"""Real single-speaker recordings found offline, cut into utterances of a few seconds.

- klettres-data (Debian): letters and syllables read by one person per language folder
  (``/usr/share/klettres/<lang>/{alpha,syllab}/*.ogg``); clips are joined into ~4 s utterances.
- codec2-examples (Debian): the codec's reference speech (8 kHz raw and wav, some over HF radio).
- pocketsphinx source archive (PyPI sdist): test audio (LibriVox reader, AN4, TIDIGITS, ...).

Writes ``<out>/real_src/<voice_id>/<n>.wav`` (16 kHz) and ``<out>/real_voices.jsonl``: base voices
of engine ``real`` whose ``params.segments`` list those files, for synth.py to perturb.

Usage:
    python -m recipes.voicebank.local.real --out data/voicebank \
        --pocketsphinx data/voicebank/downloads/pocketsphinx-5.1.1.tar.gz
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

import numpy as np

from diarize.audio.io import SAMPLE_RATE
from diarize.audio.vad import VadParams, speech_regions
from recipes.voicebank.local.common import Voice, log, safe_id, write_lines_atomic
from recipes.voicebank.local.voices import limit_per_source

KLETTRES = Path("/usr/share/klettres")
CODEC2 = Path("/usr/share/codec2")
# codec2 speech files: file -> speaker. Codec outputs (f2400, m2400), compilations (all.wav,
# hts.raw), excerpts of longer files (hts1a, hts2a, ve9qrp_10s) and modem signals (david4.wav,
# vk2tpm_004.wav: FreeDV modem audio, no speech) are left out.
CODEC2_FILES = {
    "raw/ve9qrp.raw": "ve9qrp",
    "raw/vk5qi.raw": "vk5qi",
    "raw/hts1.raw": "hts1",
    "raw/hts2.raw": "hts2",
    "raw/mmt1.raw": "mmt1",
    "raw/cq_ref.raw": "cq_ref",
    "raw/g3plx.raw": "g3plx",
    "raw/kristoff.raw": "kristoff",
    "raw/speech_orig_16k.wav": "speech_orig",
    "raw/forig.raw": "forig",
    "raw/morig.raw": "morig",
    "raw/big_dog.raw": "big_dog",
    "raw/cross.raw": "cross",
}
# pocketsphinx test audio: path under test/ -> speaker (raw files are 16 kHz 16-bit).
# goforward/numbers/something are likely one developer's voice: one split group for the three.
POCKETSPHINX_FILES = {
    "data/librivox/": ("librivox-austen", "librivox-austen"),
    "data/cards/": ("cards", "cards"),
    "data/forever/": ("forever", "forever"),
    "data/goforward.raw": ("goforward", "ps-dev"),
    "data/numbers.raw": ("numbers", "ps-dev"),
    "data/something.raw": ("something", "ps-dev"),
    "data/tidigits/dhd.2934z.raw": ("tidigits-dhd", "tidigits-dhd"),
    "regression/chan3.raw": ("an4-chan3", "an4-chan3"),
    "data/vad/leak-test.wav": ("vad-leak-test", "vad-leak-test"),
}


def speech_runs(
    samples: np.ndarray, sample_rate: int, min_pause: float = 0.25, frame: float = 0.02
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech by frame energy, pauses shorter than ``min_pause`` bridged.

    The library's energy VAD with its threshold 35 % of the way from the noise floor
    (10th-percentile frame) to the loudest frame, which works for clean studio audio and for
    noisy radio alike; signals with under 6 dB of contrast (a tone, noise, silence) have none.

    Shape:
        samples: (num_samples,)
    """
    params = VadParams(
        threshold_db=float("inf"),
        floor_margin=0.35,
        min_pause=min_pause,
        min_speech=0.0,
        pad=0.0,
        frame=frame,
        min_contrast_db=6.0,
    )
    return [(round(s, 3), round(e, 3)) for s, e in speech_regions(samples, params, sample_rate)]


def pack_runs(
    runs: list[tuple[float, float]], min_len: float, max_len: float, pad: float = 0.1
) -> list[tuple[float, float]]:
    """Group speech runs into utterances of at most ``max_len`` seconds, cut in pauses.

    A run longer than ``max_len`` is cut into equal pieces. Utterances under ``min_len`` are
    dropped. ``pad`` seconds of context are kept on each side (clipped at 0).
    """
    pieces: list[tuple[float, float]] = []
    for start, end in runs:
        parts = max(1, int(np.ceil((end - start) / max_len)))
        step = (end - start) / parts
        pieces += [(start + i * step, start + (i + 1) * step) for i in range(parts)]
    utterances: list[list[float]] = []
    for start, end in pieces:
        if utterances and end - utterances[-1][0] <= max_len:
            utterances[-1][1] = end
        else:
            utterances.append([start, end])
    return [
        (round(max(0.0, s - pad), 3), round(e + pad, 3)) for s, e in utterances if e - s >= min_len
    ]


def group_clips(names: list[str], per_group: int) -> list[list[str]]:
    """Consecutive runs of ``per_group`` clip names (the last group may be shorter)."""
    return [names[i : i + per_group] for i in range(0, len(names), per_group)]


def _load(path: Path) -> np.ndarray:
    if path.suffix == ".raw":
        rate = 16000 if ("pocketsphinx" in str(path) or "16k" in path.name) else 8000
        samples = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
        from diarize.audio.io import to_mono_16k

        return to_mono_16k(samples, rate)
    from diarize.audio.io import load_audio

    return load_audio(path)


def _cut(voice_id: str, samples: np.ndarray, out: Path, text: str = "") -> list[dict]:
    from diarize.audio.io import write_audio

    segments = []
    runs = speech_runs(samples, SAMPLE_RATE)
    for start, end in pack_runs(runs, min_len=1.0, max_len=8.0):
        piece = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        path = out / "real_src" / voice_id / f"{len(segments):04d}.wav"
        write_audio(path, piece, SAMPLE_RATE)
        segments.append({"path": str(path.resolve()), "text": text})
    return segments


def klettres_voices(out: Path) -> list[Voice]:
    voices = []
    gap = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    for folder in sorted(p for p in KLETTRES.glob("*") if p.is_dir()):
        clips = sorted(folder.glob("*/*.ogg"))
        if len(clips) < 5:
            continue
        voice_id = f"real-klettres.{safe_id(folder.name)}"
        segments = []
        for group in group_clips([str(c) for c in clips], per_group=4):
            pieces = []
            for clip in group:
                samples = _load(Path(clip))
                runs = speech_runs(samples, SAMPLE_RATE, min_pause=1.0)
                if runs:  # trim each clip to its speech, keep 50 ms around it
                    start = max(0, int((runs[0][0] - 0.05) * SAMPLE_RATE))
                    pieces += [samples[start : int((runs[-1][1] + 0.05) * SAMPLE_RATE)], gap]
            if not pieces:
                continue
            from diarize.audio.io import write_audio

            path = out / "real_src" / voice_id / f"{len(segments):04d}.wav"
            write_audio(path, np.concatenate(pieces[:-1]), SAMPLE_RATE)
            text = " ".join(Path(c).stem for c in group)
            segments.append({"path": str(path.resolve()), "text": text})
        voices.append(Voice(voice_id, "real-klettres", "real", voice_id, {"segments": segments}))
    return voices


def codec2_voices(out: Path) -> list[Voice]:
    voices = []
    for relative, speaker in CODEC2_FILES.items():
        path = CODEC2 / relative
        if not path.is_file():
            continue
        voice_id = f"real-codec2.{speaker}"
        segments = _cut(voice_id, _load(path), out)
        if segments:
            voices.append(Voice(voice_id, "real-codec2", "real", voice_id, {"segments": segments}))
    return voices


def pocketsphinx_voices(archive: Path, out: Path) -> list[Voice]:
    extract = out / "downloads" / "pocketsphinx"
    if not extract.exists():
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if "/test/" in m.name and m.isfile()]
            tar.extractall(extract, members=members, filter="data")
    roots = list(extract.glob("*/test"))
    if not roots:
        return []
    root = roots[0]
    voices = []
    for relative, (speaker, group) in POCKETSPHINX_FILES.items():
        target = root / relative
        files = sorted(target.glob("*.wav")) if relative.endswith("/") else [target]
        voice_id = f"real-pocketsphinx.{speaker}"
        segments = []
        for path in files:
            if not path.is_file():
                continue
            transcript = path.with_suffix(".txt")
            text = transcript.read_text().strip() if transcript.is_file() else ""
            segments += _cut(f"{voice_id}/{path.stem}", _load(path), out, text)
        if segments:
            voices.append(
                Voice(
                    voice_id,
                    "real-pocketsphinx",
                    "real",
                    f"real-pocketsphinx.{group}",
                    {"segments": segments},
                )
            )
    return voices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--pocketsphinx", type=Path, default=None, help="pocketsphinx sdist .tar.gz"
    )
    parser.add_argument("--max-per-source", type=int, default=None, help="speakers (smoke runs)")
    parser.add_argument("--max-segments", type=int, default=None, help="utterances per speaker")
    args = parser.parse_args(argv)
    voices: list[Voice] = []
    if KLETTRES.is_dir():
        voices += klettres_voices(args.out)
    else:
        log(f"{KLETTRES} missing (apt-get install klettres-data)")
    if CODEC2.is_dir():
        voices += codec2_voices(args.out)
    else:
        log(f"{CODEC2} missing (apt-get install codec2-examples)")
    if args.pocketsphinx and args.pocketsphinx.is_file():
        voices += pocketsphinx_voices(args.pocketsphinx, args.out)
    else:
        log("pocketsphinx source archive missing: no pocketsphinx test audio")
    voices = limit_per_source(voices, args.max_per_source)
    if args.max_segments is not None:
        voices = [
            Voice(
                v.voice_id,
                v.source,
                v.engine,
                v.group,
                {"segments": v.params["segments"][: args.max_segments]},
            )
            for v in voices
        ]
    write_lines_atomic(args.out / "real_voices.jsonl", (v.to_json() for v in voices))
    count = sum(len(v.params["segments"]) for v in voices)
    log(f"{len(voices)} real speakers, {count} utterances -> {args.out / 'real_voices.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
