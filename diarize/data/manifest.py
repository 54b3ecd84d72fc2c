"""NeMo-style JSON-lines manifests: the one place the format is read and written.

One JSON object per line with ``audio_filepath`` (relative paths resolve against the manifest's
folder), ``offset`` (default 0), ``duration`` (filled from the audio when absent),
``rttm_filepath``, ``uem_filepath``, ``num_speakers`` and ``uniq_id`` (default: the audio file's
stem). Unknown keys are kept in ``extra`` and written back.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diarize.audio.io import audio_duration
from diarize.errors import DiarizeError, located
from diarize.io_utils import atomic_write_text, read_text, walk_files

KNOWN_KEYS = (
    "audio_filepath",
    "offset",
    "duration",
    "rttm_filepath",
    "uem_filepath",
    "num_speakers",
    "uniq_id",
)
_PATH_KEYS = ("audio_filepath", "rttm_filepath", "uem_filepath")


@dataclass(frozen=True)
class ManifestEntry:
    """One recording (or a part of one, from ``offset`` for ``duration`` seconds)."""

    audio_filepath: Path
    offset: float = 0.0
    duration: float | None = None
    rttm_filepath: Path | None = None
    uem_filepath: Path | None = None
    num_speakers: int | None = None
    uniq_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # frozen: normalise through object.__setattr__ so that str paths are accepted
        object.__setattr__(self, "audio_filepath", Path(self.audio_filepath))
        for key in ("rttm_filepath", "uem_filepath"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, Path(value))
        if not self.uniq_id:
            object.__setattr__(self, "uniq_id", self.audio_filepath.stem)

    @property
    def uri(self) -> str:
        """The recording's name in RTTM and output files (``uniq_id``)."""
        return self.uniq_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the known keys first (paths as strings), then the extra keys."""
        return {
            "audio_filepath": str(self.audio_filepath),
            "offset": self.offset,
            "duration": self.duration,
            "rttm_filepath": _str_or_none(self.rttm_filepath),
            "uem_filepath": _str_or_none(self.uem_filepath),
            "num_speakers": self.num_speakers,
            "uniq_id": self.uniq_id,
            **self.extra,
        }


def read_manifest(path: str | Path, fill_duration: bool = True) -> list[ManifestEntry]:
    """Entries of a JSON-lines manifest, in file order (blank lines are skipped).

    Args:
        path: the manifest.
        fill_duration: read a missing ``duration`` from the audio file (minus ``offset``).

    Raises:
        DiarizeError: ``manifest:line: reason`` for invalid JSON, a missing or mistyped key, or
            (when filling durations) an unreadable audio file.
    """
    path = Path(path)
    # JSON lines end at "\n" only: str.splitlines() would also cut at U+0085 or U+2028,
    # which json.dumps(ensure_ascii=False) leaves inside strings
    lines = read_text(path, "manifest file").split("\n")
    folder = path.parent.absolute()
    entries = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise located(
                path, number, f"invalid JSON ({error.msg} at column {error.colno})"
            ) from None
        if not isinstance(record, dict):
            raise located(path, number, "expected a JSON object")
        entry = _entry_from_record(record, folder, path, number)
        if fill_duration and entry.duration is None:
            entry = _with_duration(entry, path, number)
        entries.append(entry)
    return entries


def write_manifest(path: str | Path, entries: Iterable[ManifestEntry]) -> None:
    """Write entries atomically as JSON lines, in the given order.

    Paths inside the manifest's folder are written relative to it, others absolute, so that the
    manifest and its data can be moved together.
    """
    path = Path(path)
    folder = path.parent.absolute()
    lines = []
    for entry in entries:
        record = entry.to_dict()
        for key in _PATH_KEYS:
            if record[key] is not None:
                record[key] = relative_to_folder(Path(record[key]), folder)
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    atomic_write_text(path, "".join(lines))


def relative_to_folder(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when it lies inside it, else absolute (as a string)."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path(os.path.abspath(folder))).as_posix()
    except ValueError:
        return str(absolute)


@dataclass(frozen=True)
class MatchedFiles:
    """What :func:`match_by_stem` found: manifest entries and the files left unmatched."""

    entries: list[ManifestEntry]
    audio_without_rttm: list[Path]
    rttm_without_audio: list[Path]
    uem_without_audio: list[Path]
    warnings: list[str]


def match_by_stem(
    audio_dir: str | Path,
    rttm_dir: str | Path | None = None,
    uem_dir: str | Path | None = None,
    progress: bool = False,
) -> MatchedFiles:
    """Entries for every audio file under ``audio_dir``, matched to ``<stem>.rttm``/``.uem``.

    Folders are searched recursively (through symlinked folders). Durations are read from the
    audio headers and ``num_speakers`` is the number of distinct speakers of the matching RTTM.
    Unreadable or empty (0 s) audio files are left out with a warning.

    Raises:
        DiarizeError: a missing folder, no audio file, or two files with the same stem.
    """
    from tqdm import tqdm

    from diarize.audio.io import is_audio_path
    from diarize.data.rttm import read_rttm

    audio = _by_stem(audio_dir, is_audio_path, "audio")
    rttms = _by_stem(rttm_dir, lambda p: p.suffix.lower() == ".rttm", "RTTM") if rttm_dir else {}
    uems = _by_stem(uem_dir, lambda p: p.suffix.lower() == ".uem", "UEM") if uem_dir else {}
    if not audio:
        raise DiarizeError(f"{audio_dir}: no audio file found")
    entries, warnings = [], []
    for stem in tqdm(
        sorted(audio), desc="reading audio headers", unit="file", disable=not progress
    ):
        rttm = rttms.get(stem)
        num_speakers = None
        if rttm is not None:
            turns = read_rttm(rttm)
            own = [turn for turn in turns if turn.uri == stem]
            if turns and not own:
                uris = sorted({turn.uri for turn in turns})
                warnings.append(
                    f"{rttm}: no turn has uri {stem!r} (found {', '.join(uris)}); "
                    "counting all its speakers"
                )
                own = turns
            num_speakers = len({turn.speaker for turn in own if turn.end > turn.start}) or None
        try:
            duration = audio_duration(audio[stem])
        except DiarizeError as error:
            warnings.append(f"{error}; left out")
            continue
        if duration <= 0:
            # a header-only file: a line with duration 0 would make the manifest invalid
            warnings.append(f"{audio[stem]}: holds no audio samples (0 s); left out")
            continue
        entries.append(
            ManifestEntry(
                audio_filepath=audio[stem],
                duration=duration,
                rttm_filepath=rttm,
                uem_filepath=uems.get(stem),
                num_speakers=num_speakers,
                uniq_id=stem,
            )
        )
    if not entries:
        raise DiarizeError(f"{audio_dir}: no readable audio file ({warnings[0]})")
    return MatchedFiles(
        entries=entries,
        audio_without_rttm=[audio[s] for s in sorted(audio) if rttm_dir and s not in rttms],
        rttm_without_audio=[rttms[s] for s in sorted(rttms) if s not in audio],
        uem_without_audio=[uems[s] for s in sorted(uems) if s not in audio],
        warnings=warnings,
    )


def _by_stem(folder: str | Path, wanted: Any, kind: str) -> dict[str, Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DiarizeError(f"{folder}: no such folder")
    found: dict[str, Path] = {}
    for path in walk_files(folder, wanted):
        if path.stem in found:
            raise DiarizeError(
                f"{path}: {kind} file stem {path.stem!r} also used by {found[path.stem]}"
            )
        found[path.stem] = Path(os.path.abspath(path))
    return found


def _entry_from_record(
    record: dict[str, Any], folder: Path, path: Path, line: int
) -> ManifestEntry:
    audio = record.get("audio_filepath")
    if not isinstance(audio, str) or not audio:
        raise located(path, line, "'audio_filepath' is missing or not a string")
    offset = _number(record.get("offset"), "offset", path, line, default=0.0)
    if offset < 0:
        raise located(path, line, f"'offset' must be >= 0, got {offset}")
    duration = _number(record.get("duration"), "duration", path, line, default=None)
    if duration is not None and duration <= 0:
        raise located(path, line, f"'duration' must be > 0, got {duration}")
    num_speakers = record.get("num_speakers")
    if num_speakers is not None and (
        isinstance(num_speakers, bool) or not isinstance(num_speakers, int) or num_speakers < 1
    ):
        raise located(path, line, f"'num_speakers' must be an integer >= 1, got {num_speakers!r}")
    uniq_id = record.get("uniq_id")
    if uniq_id is not None and (not isinstance(uniq_id, str) or not uniq_id):
        raise located(path, line, f"'uniq_id' must be a non-empty string, got {uniq_id!r}")
    return ManifestEntry(
        audio_filepath=_resolve(audio, folder),
        offset=offset,
        duration=duration,
        rttm_filepath=_optional_path(
            record.get("rttm_filepath"), "rttm_filepath", folder, path, line
        ),
        uem_filepath=_optional_path(record.get("uem_filepath"), "uem_filepath", folder, path, line),
        num_speakers=num_speakers,
        uniq_id=uniq_id or "",
        extra={key: value for key, value in record.items() if key not in KNOWN_KEYS},
    )


def _with_duration(entry: ManifestEntry, path: Path, line: int) -> ManifestEntry:
    try:
        total = audio_duration(entry.audio_filepath)
    except DiarizeError as error:
        raise located(path, line, str(error)) from None
    duration = total - entry.offset
    if duration <= 0:
        raise located(
            path, line, f"'offset' {entry.offset} is past the end of the audio ({total:.3f} s)"
        )
    return ManifestEntry(**{**entry.__dict__, "duration": duration})


def _number(value: Any, key: str, path: Path, line: int, default: float | None) -> float | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise located(path, line, f"'{key}' must be a number, got {value!r}")
    return float(value)


def _optional_path(value: Any, key: str, folder: Path, path: Path, line: int) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise located(path, line, f"'{key}' must be a string path, got {value!r}")
    return _resolve(value, folder)


def _resolve(value: str, folder: Path) -> Path:
    # abspath normalises '..' without resolving symlinks (users' data trees often use them)
    return Path(os.path.abspath(folder / Path(value).expanduser()))


def _str_or_none(value: Path | None) -> str | None:
    return None if value is None else str(value)
