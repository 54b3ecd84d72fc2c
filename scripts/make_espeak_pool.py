"""Quick espeak-ng single-speaker pool used to train the bundled default model (see MODEL_CARD.md).

Usage: python scripts/make_espeak_pool.py OUT_DIR NUM_SPEAKERS UTTERANCES_PER_SPEAKER
   e.g. python scripts/make_espeak_pool.py data/quickpool 160 30
recipes/voicebank/ is the full, staged voice bank; this is the fast subset it replaces.
"""

import gzip
import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(0)
text = ""
for p in sorted(Path("/usr/share/common-licenses").glob("*"))[:40]:
    try:
        text += p.read_text(errors="ignore") + "\n"
    except Exception:
        pass
for p in sorted(Path("/usr/share/man/man1").glob("*.gz"))[:300]:
    t = gzip.open(p, "rt", errors="ignore").read()
    t = re.sub(r"^\..*$", "", t, flags=re.M)
    t = re.sub(r"\\f.|\\\(..|\\.", "", t)
    text += t + "\n"
sents = []
for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
    s = re.sub(r"[^A-Za-z0-9 ,.'?!-]", "", s).strip()
    if 4 <= len(s.split()) <= 22 and s.isascii():
        sents.append(s)
sents = sorted(set(sents))
rng.shuffle(sents)
print(len(sents), "sentences")
langs = [
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pl",
    "pt",
    "sv",
    "hi",
    "ru",
    "cs",
    "da",
    "fi",
    "hu",
    "tr",
    "vi",
    "el",
    "ro",
    "id",
]
variants = [
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "croak",
    "Andy",
    "Annie",
    "Denis",
    "Gene",
    "Jacky",
    "Lee",
    "Mr serious",
    "Storm",
    "Tweaky",
    "max",
    "michel",
    "norbert",
    "quincy",
    "steph",
    "anika",
    "belinda",
    "edward",
    "iven",
    "john",
    "kaukovalta",
    "linda",
    "robert",
    "victor",
    "rob",
]
speakers = []
for _ in range(int(sys.argv[2])):
    speakers.append(
        (
            rng.choice(langs),
            rng.choice(variants),
            rng.randint(120, 185),
            rng.randint(25, 75),
            rng.choice([-3, -2, -1, 0, 0, 1, 2, 3]),
        )
    )
lines = []
per = int(sys.argv[3])
for i, (lang, var, speed, pitch, semis) in enumerate(speakers):
    spk = f"es{i:03d}_{lang}+{var.replace(' ', '')}_s{speed}p{pitch}"
    h = int(hashlib.md5(spk.encode()).hexdigest(), 16) % 10
    split = "test" if h == 0 else "dev" if h == 1 else "train"
    d = out / "wav" / spk
    d.mkdir(parents=True, exist_ok=True)
    for j in range(per):
        s = sents[rng.randrange(len(sents))]
        if rng.random() < 0.5:
            s += " " + sents[rng.randrange(len(sents))]
        wav = subprocess.run(
            ["espeak-ng", "-v", f"{lang}+{var}", "-s", str(speed), "-p", str(pitch), "--stdout", s],
            capture_output=True,
        ).stdout
        if len(wav) < 1000:
            continue
        tmp = d / "tmp.wav"
        tmp.write_bytes(wav)
        x, sr = sf.read(tmp, dtype="float32")
        tmp.unlink()
        if semis:
            import librosa

            x = librosa.effects.pitch_shift(x, sr=sr, n_steps=semis)
        x = soxr.resample(x, sr, 16000).astype(np.float32)
        x = x / (np.abs(x).max() + 1e-6) * 0.7
        f = d / f"{j:04d}.wav"
        sf.write(f, x, 16000, subtype="PCM_16")
        lines.append(
            {
                "audio_filepath": str(f.relative_to(out)),
                "offset": 0.0,
                "duration": round(len(x) / 16000, 3),
                "speaker_id": spk,
                "source": "espeak-ng",
                "split": split,
            }
        )
    print(i, spk, flush=True)
for split in ["train", "dev", "test"]:
    with open(out / f"{split}.json", "w") as fh:
        for line in lines:
            if line["split"] == split:
                fh.write(json.dumps(line) + "\n")
