"""Shared pieces of the voice-bank recipe: naming, hashing, perturbation grid, sox post-processing.

Everything here but ``postprocess``/``probe_duration`` is pure and tested without TTS engines
(tests/recipes/test_voicebank.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from diarize.audio.io import SAMPLE_RATE
from diarize.io_utils import atomic_write_text

# Semitone offsets of the pseudo-speakers, in the order they are used: the unperturbed voice first,
# then shifts at least 3 semitones apart, so two pseudo-speakers of one base voice never sound alike.
PITCH_STEPS = (0, -3, 3, -6, 6, -9, 9)
TEMPO_CHOICES = (0.9, 0.94, 0.97, 1.0, 1.03, 1.06, 1.1)
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.+-]+")


def is_free(row: dict) -> bool:
    """Whether an utterance's voice may be used without restriction: not an MBROLA database.

    MBROLA's diphone databases (the ``mbrola`` source and festival's ``*_mbrola`` voices) are
    Debian non-free, for non-commercial use only; a model trained on them would inherit that.
    """
    return row["source"] != "mbrola" and "mbrola" not in row["base_voice"]


def log(message: str) -> None:
    """One timestamped progress line on stderr (same look as run.sh's log())."""
    print(f"{time.strftime('%F %T')} [voicebank] {message}", file=sys.stderr, flush=True)


def stable_hash(*parts: object) -> int:
    """A hash that, unlike ``hash()``, is the same in every process and Python version."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def safe_id(text: str) -> str:
    """``text`` reduced to characters safe in file names and RTTM speaker fields."""
    cleaned = _SAFE_ID.sub("-", text.strip()).strip("-")
    return cleaned or "x"


@dataclass(frozen=True)
class Perturbation:
    """Pitch shift (semitones) and tempo factor that turn a base voice into a pseudo-speaker."""

    semitones: int = 0
    tempo: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.semitones == 0 and abs(self.tempo - 1.0) < 1e-9

    @property
    def suffix(self) -> str:
        """``""`` for the unperturbed voice, else e.g. ``"_p+3_t097"``."""
        if self.is_identity:
            return ""
        return f"_p{self.semitones:+d}_t{round(self.tempo * 100):03d}"


def perturbations(base_voice: str, count: int) -> list[Perturbation]:
    """The ``count`` perturbations of one base voice: distinct pitch steps, seeded tempos.

    The first is always the unperturbed voice. Tempos are drawn per (voice, index) from a hash, so
    the grid is reproducible and does not depend on which other voices exist.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if count > len(PITCH_STEPS):
        raise ValueError(f"at most {len(PITCH_STEPS)} perturbations per voice, got {count}")
    result = [Perturbation()]
    for index in range(1, count):
        tempo = TEMPO_CHOICES[stable_hash(base_voice, "tempo", index) % len(TEMPO_CHOICES)]
        result.append(Perturbation(PITCH_STEPS[index], tempo))
    return result


def pseudo_speaker_id(base_voice: str, perturbation: Perturbation) -> str:
    """Speaker id of ``base_voice`` under ``perturbation`` (the base id when unperturbed)."""
    return safe_id(base_voice) + perturbation.suffix


@dataclass(frozen=True)
class Voice:
    """One base voice: how to make it speak, and which split group it belongs to.

    ``group`` is the unit of the train/dev/test split: voices that share a timbre (the same
    MBROLA database through espeak-ng and festival, the same espeak-ng variant in several accents)
    share a group, so a test speaker is never a re-voicing of a training one.
    """

    voice_id: str
    source: str
    engine: str
    group: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(line: str) -> Voice:
        data = json.loads(line)
        return Voice(
            data["voice_id"], data["source"], data["engine"], data["group"], data["params"]
        )


def read_voices(path: Path) -> list[Voice]:
    return [Voice.from_json(line) for line in path.read_text().splitlines() if line.strip()]


def write_lines_atomic(path: Path, lines: Iterable[str]) -> None:
    """Write text lines to ``path`` through a temp file and rename (never half-written)."""
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def sox_effects(perturbation: Perturbation, trim: bool) -> list[str]:
    """sox effect chain: trim silence at both ends, perturb, resample to 16 kHz, normalise.

    ``silence 1 0.02 0.3%`` drops leading audio until 20 ms stay above 0.3 % of full scale (about
    -50 dBFS): clean synthetic silence goes, speech onsets stay. Real recordings are not trimmed
    this way (their noise floor is above that); they are cut at pauses by ``real.py`` instead.
    """
    effects: list[str] = []
    if trim:
        effects += ["silence", "1", "0.02", "0.3%", "reverse", "silence", "1", "0.02", "0.3%"]
        effects += ["reverse"]
    if perturbation.semitones:
        effects += ["pitch", str(perturbation.semitones * 100)]
    if abs(perturbation.tempo - 1.0) > 1e-9:
        effects += ["tempo", "-s", f"{perturbation.tempo:.3f}"]
    effects += ["rate", "-v", str(SAMPLE_RATE), "gain", "-n", "-3"]
    return effects


def postprocess(src: Path, dst: Path, perturbation: Perturbation, trim: bool = True) -> float:
    """Write ``src`` as 16 kHz mono 16-bit ``dst`` (atomic) after trimming and perturbing.

    Returns:
        The duration of ``dst`` in seconds (0.0 when nothing was left after trimming; then
        ``dst`` is not written).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.tmp.wav")
    command = ["sox", "-V1", str(src), "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp)]
    subprocess.run(command + sox_effects(perturbation, trim), check=True, capture_output=True)
    duration = probe_duration(tmp)
    if duration <= 0.0:
        tmp.unlink(missing_ok=True)
        return 0.0
    os.replace(tmp, dst)
    return duration


def probe_duration(path: Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate
