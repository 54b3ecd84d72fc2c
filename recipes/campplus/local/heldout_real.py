"""Hold real voices out of training: source manifests for the real-voice test and for training.

The voice bank's real recordings (klettres, codec2, pocketsphinx) are the only real speech
here. About a third of their voices (every base voice whose name hashes into the held-out
third, plus those the voice bank already put in test) are kept out of train and dev entirely;
their *unperturbed* utterances are the source pool of the real-voice test mixes.

Writes ``OUT/{train,dev,test}.json`` (the voice bank's free splits without the held-out voices)
and ``OUT/real_test.json`` (held-out real voices, unperturbed), and prints the counts.

``real_test.json`` names each voice by its recording's name, as the voice bank does. Some of
those names are not one person, which its mixes then score as speaker errors that are not:
pocketsphinx's goforward, numbers and something recordings are one developer's voice (one
voice-bank group, ``ps-dev``), and KLettres' Brazilian Portuguese letters were recorded by a
father and his son (KLettres' credits); the German and Danish folders hold two people each
(their alphabets and syllables were read by different people) and codec2's ``speech_orig``
is a compilation of voices (``voice_purity.py`` measures it). ``OUT/real_test_clean.json`` is
the same pool with every voice named by its group and the recordings of more than one person
left out (:data:`MIXED_VOICES`).

    python recipes/campplus/local/heldout_real.py --voicebank data/voicebank --out data/campplus
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

# real recordings known to hold more than one person's voice, and where that is documented or
# measured (voice_purity.py: CAM++ windows split in two, centroid cosine, median pitch)
MIXED_VOICES = {
    "real-klettres.pt_BR": "KLettres credits: Lindonjohnson Monte (father) and Michelle Monte (son)",
    "real-klettres.de": "alphabet and syllables read by two people: cosine 0.12, 109 / 215 Hz",
    "real-klettres.da": "alphabet and syllables read by two people: cosine 0.39, 225 / 125 Hz",
    "real-codec2.speech_orig": "a compilation of voices: cosine 0.38, 237 / 132 Hz",
}


def clean_identities(rows: list[dict]) -> list[dict]:
    """One name per person: voices named by their group, mixed recordings left out."""
    return [
        {**row, "speaker_id": row["group"]} for row in rows if row["base_voice"] not in MIXED_VOICES
    ]


def held_out(group: str) -> bool:
    return int(hashlib.sha1(f"{group}|real-test".encode()).hexdigest(), 16) % 3 == 0


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_rows(path: Path, rows: list[dict], folder: Path) -> None:
    lines = []
    for row in rows:
        row = dict(row)
        audio = Path(row["audio_filepath"])
        row["audio_filepath"] = str(audio if audio.is_absolute() else (folder / audio).resolve())
        lines.append(json.dumps(row, ensure_ascii=False))
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text("\n".join(lines) + "\n")
    temp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voicebank", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    splits = {
        name: read_rows(args.voicebank / f"{name}.free.json") for name in ("train", "dev", "test")
    }
    real = {r["group"] for rows in splits.values() for r in rows if r["source"].startswith("real-")}
    test_real = {r["group"] for r in splits["test"] if r["source"].startswith("real-")}
    heldout = {group for group in real if held_out(group)} | test_real
    for name, rows in splits.items():
        kept = [r for r in rows if r["group"] not in heldout]
        write_rows(args.out / f"{name}.json", kept, args.voicebank)
        print(f"{name}: {len({r['speaker_id'] for r in kept})} speakers, {len(kept)} utterances")
    pool = [
        r
        for rows in splits.values()
        for r in rows
        if r["group"] in heldout and r["speaker_id"] == r["base_voice"]
    ]
    write_rows(args.out / "real_test.json", pool, args.voicebank)
    clean = clean_identities(pool)
    write_rows(args.out / "real_test_clean.json", clean, args.voicebank)
    sources = sorted({r["source"] for r in pool})
    print(
        f"real_test: {len(heldout)} held-out real voices of {len(real)} ({', '.join(sources)}), "
        f"{len(pool)} utterances, {sum(r['duration'] for r in pool) / 60:.1f} min; "
        f"real_test_clean: {len({r['speaker_id'] for r in clean})} voices, {len(clean)} utterances"
    )


if __name__ == "__main__":
    main()
