"""Render the pseudo-speakers: every base voice x its perturbations, N utterances each.

A pseudo-speaker is written as ``<out>/wav/<speaker_id>/<n>.wav`` (16 kHz mono 16-bit) plus
``<out>/parts/<speaker_id>.jsonl`` (its manifest rows). The parts file is written last, so it
marks the speaker as done: a re-run skips finished speakers and redoes half-finished ones.

Base voices come from voices.py (TTS engines; each utterance reads a different sentence) and
real.py (recorded speakers, engine ``real``; every pseudo-speaker re-uses the same recordings).

Usage:
    python -m recipes.voicebank.local.synth --voices data/voicebank/voices.jsonl \
        --sentences data/voicebank/text/sentences.txt --out data/voicebank \
        --utts-per-speaker 12 --slow-utts-per-speaker 5 --perturbations 4 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from recipes.voicebank.local.common import (
    Perturbation,
    Voice,
    log,
    perturbations,
    postprocess,
    pseudo_speaker_id,
    read_voices,
    stable_hash,
    write_lines_atomic,
)
from recipes.voicebank.local.engines import ENGINES, speaker_settings

MIN_DURATION = 0.5  # seconds; shorter results (failed synthesis, all silence) are dropped
# Neural engines take seconds per sentence on a shared CPU core (espeak-ng: milliseconds), so
# their pseudo-speakers get fewer utterances (--slow-utts-per-speaker).
SLOW_ENGINES = {"kokoro", "piper"}


def sentence_indices(speaker_id: str, num_sentences: int, count: int) -> list[int]:
    """Which sentences a pseudo-speaker reads: ``count`` distinct ones, seeded by its id."""
    if num_sentences <= 0:
        return []
    rng = random.Random(stable_hash(speaker_id, "sentences"))
    return rng.sample(range(num_sentences), min(count, num_sentences))


def plan_speakers(
    voices: list[Voice], num_perturbations: int
) -> list[tuple[Voice, Perturbation, str]]:
    """(voice, perturbation, speaker_id) for every pseudo-speaker, in a stable order."""
    plan = []
    for voice in voices:
        for perturbation in perturbations(voice.voice_id, num_perturbations):
            plan.append((voice, perturbation, pseudo_speaker_id(voice.voice_id, perturbation)))
    return plan


def render_speaker(job: tuple) -> tuple[str, int, float]:
    """Render one pseudo-speaker; returns (speaker_id, utterances, seconds)."""
    voice, perturbation, speaker_id, texts, out = job
    out = Path(out)
    part = out / "parts" / f"{speaker_id}.jsonl"
    rows = []
    settings = speaker_settings(voice, speaker_id)
    with tempfile.TemporaryDirectory(prefix="voicebank-") as tmp:
        for index, (text, recording) in enumerate(texts):
            wav = out / "wav" / speaker_id / f"{index:06d}.wav"
            if recording is not None:  # a real recording: cut at pauses already, keep its noise
                duration = postprocess(Path(recording), wav, perturbation, trim=False)
            else:
                raw = Path(tmp) / "raw.wav"
                try:
                    ENGINES[voice.engine](voice, settings, text, raw)
                except Exception as error:  # noqa: BLE001 - one bad sentence must not stop the bank
                    log(f"{speaker_id}: {voice.engine} failed on {text[:40]!r}: {error}")
                    continue
                duration = postprocess(raw, wav, perturbation, trim=True)
            if duration < MIN_DURATION:
                wav.unlink(missing_ok=True)
                continue
            rows.append(
                {
                    "audio_filepath": f"wav/{speaker_id}/{index:06d}.wav",
                    "offset": 0.0,
                    "duration": round(duration, 3),
                    "speaker_id": speaker_id,
                    "base_voice": voice.voice_id,
                    "group": voice.group,
                    "source": voice.source,
                    "text": text,
                    "perturbation": {
                        "semitones": perturbation.semitones,
                        "tempo": perturbation.tempo,
                    },
                    "engine_settings": settings,
                }
            )
    write_lines_atomic(part, (json.dumps(row, ensure_ascii=False) for row in rows))
    return speaker_id, len(rows), sum(row["duration"] for row in rows)


def build_jobs(
    voices: list[Voice],
    sentences: list[str],
    out: Path,
    utts_per_speaker: int,
    num_perturbations: int,
    slow_utts_per_speaker: int | None = None,
) -> list[tuple]:
    jobs = []
    for voice, perturbation, speaker_id in plan_speakers(voices, num_perturbations):
        if (out / "parts" / f"{speaker_id}.jsonl").exists():
            continue
        if voice.engine == "real":
            texts = [(seg["text"], seg["path"]) for seg in voice.params["segments"]]
        else:
            count = utts_per_speaker
            if voice.engine in SLOW_ENGINES and slow_utts_per_speaker is not None:
                count = min(count, slow_utts_per_speaker)
            indices = sentence_indices(speaker_id, len(sentences), count)
            texts = [(sentences[i], None) for i in indices]
        jobs.append((voice, perturbation, speaker_id, texts, str(out)))
    return jobs


def _run_jobs(jobs: list[tuple], num_jobs: int) -> Iterator[tuple[str, int, float]]:
    """render_speaker over the jobs, in ``num_jobs`` processes (results in completion order)."""
    if num_jobs <= 1 or len(jobs) <= 1:
        yield from map(render_speaker, jobs)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(num_jobs) as pool:
        yield from pool.imap_unordered(render_speaker, jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", type=Path, nargs="+", required=True)
    parser.add_argument("--sentences", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--utts-per-speaker", type=int, default=12)
    parser.add_argument(
        "--perturbations", type=int, default=4, help="pseudo-speakers per base voice"
    )
    parser.add_argument("--slow-utts-per-speaker", type=int, default=None, help="kokoro, piper")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    voices = [voice for path in args.voices for voice in read_voices(path)]
    sentences = args.sentences.read_text().splitlines()
    jobs = build_jobs(
        voices,
        sentences,
        args.out,
        args.utts_per_speaker,
        args.perturbations,
        args.slow_utts_per_speaker,
    )
    total = len(plan_speakers(voices, args.perturbations))
    log(f"{total} pseudo-speakers, {total - len(jobs)} already done, rendering {len(jobs)}")
    # Slow engines first, so the two workers do not end on one long kokoro speaker each.
    jobs.sort(key=lambda job: (job[0].engine not in SLOW_ENGINES, job[2]))
    done_utts, done_seconds = 0, 0.0
    for number, (_, count, seconds) in enumerate(_run_jobs(jobs, args.jobs), start=1):
        done_utts, done_seconds = done_utts + count, done_seconds + seconds
        if number % 25 == 0 or number == len(jobs):
            log(f"  {number}/{len(jobs)} speakers, {done_utts} utts, {done_seconds / 3600:.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
