"""Expand ``diarize infer INPUT...`` into the recordings to diarize.

An input is an audio file, a folder (searched recursively, through symlinked folders, for audio
extensions in any letter case) or a NeMo manifest (``.json`` / ``.jsonl``). Each recording is a
:class:`~diarize.data.manifest.ManifestEntry` whose ``uri`` (``uniq_id``) is the manifest's
``uniq_id`` or the file stem, with whitespace replaced by ``_`` because RTTM fields are
whitespace-separated. Two recordings with the same uri would overwrite each other's outputs,
so that is an error naming both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from diarize.audio.io import is_recording_path
from diarize.data.manifest import ManifestEntry
from diarize.errors import DiarizeError
from diarize.io_utils import walk_files

MANIFEST_EXTENSIONS = (".json", ".jsonl")


def safe_uri(name: str) -> str:
    """A uri usable in RTTM and as a file name: whitespace and path separators become ``_``."""
    uri = re.sub(r"[\s/\\]+", "_", name.strip())
    return uri or "_"


def is_manifest_path(path: str | Path) -> bool:
    """True for ``.json`` / ``.jsonl`` files (case-insensitive)."""
    return Path(path).suffix.lower() in MANIFEST_EXTENSIONS


def expand_inputs(inputs: Iterable[str | Path | ManifestEntry]) -> list[ManifestEntry]:
    """Recordings named by files, folders and manifests, in the order given.

    Folders are searched recursively and their files sorted by path; hidden files (``.name``,
    e.g. partial writes) are skipped, and so are files that are not recordings (an m4a or
    mp4 is kept: it fails with how to convert it, rather than go unnoticed). A file named explicitly is taken whatever its extension;
    a :class:`ManifestEntry` is taken as it is (its uri made safe).

    Raises:
        DiarizeError: an input does not exist, a folder holds no audio, a manifest line is
            invalid, or two recordings share a uri.
    """
    items: list[ManifestEntry] = []
    for raw in inputs:
        if isinstance(raw, ManifestEntry):
            items.append(replace(raw, uniq_id=safe_uri(raw.uniq_id)))
            continue
        path = Path(raw)
        if path.is_dir():
            found = walk_files(path, is_recording_path)
            if not found:
                raise DiarizeError(f"{path}: folder has no audio files")
            items.extend(ManifestEntry(p, uniq_id=safe_uri(p.stem)) for p in found)
        elif path.is_file() and is_manifest_path(path):
            items.extend(_manifest_items(path))
        elif path.is_file():
            items.append(ManifestEntry(path, uniq_id=safe_uri(path.stem)))
        else:
            raise DiarizeError(f"{path}: no such file or folder")
    if not items:
        raise DiarizeError("no input recordings")
    _check_unique(items)
    return items


def _manifest_items(path: Path) -> list[ManifestEntry]:
    from diarize.data.manifest import read_manifest

    # durations of broken files are discovered per file later, so one bad recording
    # does not stop the whole manifest
    entries = read_manifest(path, fill_duration=False)
    if not entries:
        raise DiarizeError(f"{path}: manifest has no entries")
    return [replace(entry, uniq_id=safe_uri(entry.uniq_id)) for entry in entries]


def _check_unique(items: list[ManifestEntry]) -> None:
    seen: dict[str, ManifestEntry] = {}
    for item in items:
        other = seen.get(item.uri)
        if other is not None:
            if other.audio_filepath == item.audio_filepath and other.offset == item.offset:
                raise DiarizeError(f"{item.audio_filepath}: given twice")
            raise DiarizeError(
                f"{item.audio_filepath}: uri {item.uri!r} is also the uri of "
                f"{other.audio_filepath}; "
                "rename one of them (outputs are named DIR/<uri>.rttm)"
            )
        seen[item.uri] = item


def reference_turns(item: ManifestEntry) -> list | None:
    """Reference turns of a manifest recording (None without an RTTM), under its uri.

    The RTTM's turns for the uri are used; an RTTM holding a single other uri is taken as
    this recording's (as NeMo does: it reads every line of the given file).
    """
    from dataclasses import replace

    from diarize.data.rttm import group_by_uri, read_rttm

    if item.rttm_filepath is None:
        return None
    grouped = group_by_uri(read_rttm(item.rttm_filepath))
    if item.uri in grouped:
        turns = grouped[item.uri]
    elif len(grouped) == 1:
        turns = next(iter(grouped.values()))
    else:
        turns = []
    return [replace(turn, uri=item.uri) for turn in turns]


def scoring_uem(item: ManifestEntry) -> list[tuple[float, float]]:
    """The scored region: the manifest's UEM file when given, else the diarized window."""
    from diarize.audio.io import audio_duration
    from diarize.data.uem import read_uem

    if item.uem_filepath is not None:
        regions = read_uem(item.uem_filepath)
        if item.uri in regions:
            return regions[item.uri]
        if len(regions) == 1:
            return next(iter(regions.values()))
    if item.duration is not None:
        return [(item.offset, item.offset + item.duration)]
    return [(item.offset, audio_duration(item.audio_filepath))]
