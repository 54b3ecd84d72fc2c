"""The single-speaker source pool: manifest entries plus where each one actually has speech.

Source utterances carry leading/trailing silence and internal pauses. The planner places speech,
not files, so every utterance is scanned once with a cheap energy VAD on 10 ms frames; its speech
regions are what the RTTM will say, and pauses longer than ``min_pause`` split turns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diarize.audio.io import SAMPLE_RATE, load_audio
from diarize.audio.vad import VadParams, speech_regions
from diarize.data.manifest import read_manifest
from diarize.errors import DiarizeError


@dataclass(frozen=True)
class SourceUtterance:
    """One single-speaker utterance of the pool.

    ``speech`` holds (start, end) seconds relative to ``offset``, sorted and disjoint.
    """

    audio_filepath: str
    offset: float
    duration: float
    speaker_id: str
    source: str
    speech: tuple[tuple[float, float], ...]

    @property
    def speech_duration(self) -> float:
        return sum(end - start for start, end in self.speech)


def load_sources(
    manifest_path: str | Path,
    vad: VadParams,
    num_workers: int = 0,
    progress: bool = False,
) -> list[SourceUtterance]:
    """Read a single-speaker source manifest and find the speech in every utterance.

    Each line needs ``audio_filepath`` and ``speaker_id``; ``offset``/``duration`` select a part
    of the file; ``source`` (e.g. ``espeak-ng``) groups speakers by how they were made. Utterances
    without detectable speech are left out with a warning naming them.

    Raises:
        DiarizeError: a malformed manifest, a line without ``speaker_id``, an unreadable audio file,
            an offset past the end of its file, or no speech at all.
    """
    manifest_path = Path(manifest_path)
    entries = read_manifest(manifest_path, fill_duration=True)
    if not entries:
        raise DiarizeError(f"{manifest_path}: source manifest is empty")
    jobs = []
    for number, entry in enumerate(entries, start=1):
        speaker = entry.extra.get("speaker_id")
        if speaker is None or str(speaker).strip() == "" or any(c.isspace() for c in str(speaker)):
            raise DiarizeError(
                f"{manifest_path}: entry {number} ({entry.audio_filepath.name}) needs a "
                f"'speaker_id' without whitespace, got {speaker!r}"
            )
        jobs.append(
            (
                str(entry.audio_filepath),
                float(entry.offset),
                float(entry.duration),
                str(speaker),
                str(entry.extra.get("source", "")),
                vad,
            )
        )
    results = parallel_map(_scan_one, jobs, num_workers, progress, "finding speech in sources")
    for number, (entry, result) in enumerate(zip(entries, results, strict=True), start=1):
        if result.duration == 0:  # offset past the end of the file: nothing was read
            raise DiarizeError(
                f"{manifest_path}:{number}: {entry.audio_filepath.name} has no audio at offset "
                f"{entry.offset:g} s (past the end of the file?)"
            )
    silent = [
        str(entries[i].audio_filepath) for i, result in enumerate(results) if not result.speech
    ]
    if silent:
        print(
            f"diarize simulate: warning: no speech found in {len(silent)} source utterance(s), "
            f"left out: {silent[0]}{', ...' if len(silent) > 1 else ''}",
            file=sys.stderr,
        )
    sources = [source for source in results if source.speech]
    if not sources:
        raise DiarizeError(f"{manifest_path}: no speech found in any source utterance")
    return sources


def group_by_speaker(sources: Sequence[SourceUtterance]) -> dict[str, list[int]]:
    """Indices into ``sources`` of each speaker's utterances, speakers sorted by id."""
    grouped: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        grouped.setdefault(source.speaker_id, []).append(index)
    return {speaker: grouped[speaker] for speaker in sorted(grouped)}


def _scan_one(job: tuple[str, float, float, str, str, VadParams]) -> SourceUtterance:
    path, offset, duration, speaker, source, vad = job
    samples = load_audio(path, offset=offset, duration=duration)
    return SourceUtterance(
        audio_filepath=path,
        offset=offset,
        duration=len(samples) / SAMPLE_RATE,
        speaker_id=speaker,
        source=source,
        speech=tuple(speech_regions(samples, vad)),
    )


def parallel_map(
    function: Any,
    jobs: list,
    num_workers: int,
    progress: bool,
    desc: str,
    unit: str = "file",
    chunksize: int | None = None,
) -> list:
    """``[function(job) for job in jobs]`` in order, over ``num_workers`` processes (0: here).

    ``function`` must be a module-level function (it is pickled to the workers).
    """
    from tqdm import tqdm

    bar = dict(total=len(jobs), desc=desc, unit=unit, disable=not progress)
    if num_workers <= 0 or len(jobs) < 2:
        return [function(job) for job in tqdm(jobs, **bar)]
    import multiprocessing

    if chunksize is None:
        chunksize = max(1, min(64, len(jobs) // (4 * num_workers)))
    with multiprocessing.get_context(_start_method()).Pool(num_workers) as pool:
        return list(tqdm(pool.imap(function, jobs, chunksize=chunksize), **bar))


def _start_method() -> str:
    # fork is cheapest where it is safe (Linux); elsewhere (macOS, Windows) use spawn
    return "fork" if os.name == "posix" and os.uname().sysname == "Linux" else "spawn"
